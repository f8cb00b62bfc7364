"""Which outbox rows a claim takes: in turns between workspaces, each within its pacing.

Rows are not taken in id order across the table: a workspace with thousands of rows due,
or retrying, would fill every claim and the others' rows would wait behind its backlog.
A claim finds the workspaces with a row to send now (ready: a pacing token due, not
paused), the longest waiting first (the oldest such row), and gives them one row each
in turn, each no more than its tokens allow, until the claim is full. One workspace's
backlog or failures then delay another's rows by nothing beyond that one's own pacing.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.delivery import pacing
from storage.models import OUTBOX_OPEN_SQL, OUTBOX_TODO_SQL, OutboxPace

# The statuses below are written as literals (not bound parameters): SQLite uses a
# partial index only when the query repeats its predicate, constants included. One
# workspace's rows are read through ix_outbox_todo_team, (team_id, id): with the team
# fixed, in id order. It is the only index of unfinished rows (migration 0012 dropped the
# one by id alone, through which PostgreSQL walked every workspace's rows to find one's).

# Up to `limit` claimable rows of one workspace.
_CANDIDATES = f"""
SELECT o.id FROM outbox AS o {{index_hint}}
WHERE o.{OUTBOX_TODO_SQL}
  AND o.team_id = :team_id
  AND o.next_attempt_at <= :now
  AND NOT EXISTS (
    SELECT 1 FROM outbox AS p
    WHERE p.lane = o.lane AND p.id < o.id AND p.{OUTBOX_OPEN_SQL}
  )
ORDER BY o.id
LIMIT :limit
{{lock}}
"""

# Heads found without a lock, locked (PostgreSQL): one claimed meanwhile no longer matches.
_LOCK_HEADS = f"""
SELECT o.id FROM outbox AS o
WHERE o.id IN :ids AND o.{OUTBOX_TODO_SQL} AND o.next_attempt_at <= :now
FOR UPDATE OF o SKIP LOCKED
"""

# Workspaces with unfinished rows, found by hopping through the index from one team_id to
# the next (a loose index scan: as many steps as workspaces, not as rows), the ready ones
# (a pacing token due, not paused) with their oldest claimable row, oldest first.
_TEAMS = f"""
WITH RECURSIVE teams(team_id) AS (
  SELECT MIN(o.team_id) FROM outbox AS o {{index_hint}} WHERE o.{OUTBOX_TODO_SQL}
  UNION ALL
  SELECT (
    SELECT MIN(o.team_id) FROM outbox AS o {{index_hint}}
    WHERE o.{OUTBOX_TODO_SQL} AND o.team_id > teams.team_id
  ) FROM teams WHERE teams.team_id IS NOT NULL
),
-- Materialised: the head of each workspace is looked for once, not once per mention.
heads AS MATERIALIZED (
  SELECT r.team_id, (
    SELECT o.id FROM outbox AS o {{index_hint}}
    WHERE o.{OUTBOX_TODO_SQL}
      AND o.team_id = r.team_id
      AND o.next_attempt_at <= :now
      AND NOT EXISTS (
        SELECT 1 FROM outbox AS p
        WHERE p.lane = o.lane AND p.id < o.id AND p.{OUTBOX_OPEN_SQL}
      )
    ORDER BY o.id
    LIMIT 1
  ) AS head
  FROM teams AS r
  WHERE r.team_id IS NOT NULL
    AND NOT EXISTS (
      SELECT 1 FROM outbox_pace AS t WHERE t.team_id = r.team_id AND t.ready_at > :now
    )
    AND NOT EXISTS (
      SELECT 1 FROM workspace AS w WHERE w.team_id = r.team_id AND w.paused_at IS NOT NULL
    )
)
SELECT team_id, head FROM heads
WHERE head IS NOT NULL
ORDER BY head
LIMIT :limit
"""
# Times are bound through the columns' type: SQLite compares them as UTC text.
TIME = UTCDateTime()


# Walk a workspace's unfinished rows in id order and stop at `limit` lane heads, rather
# than sorting every due row (which SQLite's planner may prefer on a fresh table).
_TEAM_INDEX = "INDEXED BY ix_outbox_todo_team"


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def candidates(session: Session, *, now: datetime, limit: int, team_id: str) -> list[int]:
    """Up to `limit` claimable rows of one workspace, oldest first (locked on PostgreSQL)."""
    pg = is_pg(session)
    sql = _CANDIDATES.format(
        lock="FOR UPDATE OF o SKIP LOCKED" if pg else "",
        index_hint="" if pg else _TEAM_INDEX,
    )
    stmt = text(sql).bindparams(bindparam("now", type_=TIME))
    params = {"now": now, "limit": limit, "team_id": team_id}
    return [int(r[0]) for r in session.execute(stmt, params)]


def ready_teams(session: Session, *, now: datetime, limit: int) -> dict[str, int]:
    """Up to `limit` workspaces with a row to send now, the longest waiting first, each
    with that row."""
    sql = _TEAMS.format(index_hint="" if is_pg(session) else _TEAM_INDEX)
    stmt = text(sql).bindparams(bindparam("now", type_=TIME))
    return {str(r[0]): int(r[1]) for r in session.execute(stmt, {"now": now, "limit": limit})}


def _lock_heads(session: Session, heads: list[int], now: datetime) -> set[int]:
    if not heads or not is_pg(session):
        return set(heads)  # SQLite: this transaction holds the database
    stmt = text(_LOCK_HEADS).bindparams(
        bindparam("ids", expanding=True), bindparam("now", type_=TIME)
    )
    return {int(r[0]) for r in session.execute(stmt, {"ids": heads, "now": now})}


def take_in_turns(
    session: Session,
    paces: dict[str, OutboxPace],
    teams: dict[str, int],
    *,
    now: datetime,
    limit: int,
) -> list[tuple[int, str, int]]:
    """Up to `limit` rows, one per workspace per turn (in the order of `teams`), each
    workspace within its pacing tokens: (id, team, pacing sequence number)."""
    # Each other workspace takes at least one row: no more could be given this one.
    caps = {t: min(pacing.available(paces[t], now), limit - (len(teams) - 1)) for t in teams}
    # A workspace given one row is given its head, already found: no query of its own.
    heads = _lock_heads(session, [h for t, h in teams.items() if caps[t] == 1], now)
    queues: dict[str, deque[int]] = {}
    for team, head in teams.items():
        if caps[team] == 1:
            queues[team] = deque([head] if head in heads else [])
        elif caps[team] > 1:
            queues[team] = deque(candidates(session, now=now, limit=caps[team], team_id=team))
    picked: list[tuple[int, str, int]] = []
    while queues and len(picked) < limit:
        for team, queue in list(queues.items()):
            if len(picked) >= limit:
                break
            seq = pacing.take(paces[team], now) if queue else None
            if seq is None:
                del queues[team]
                continue
            picked.append((queue.popleft(), team, seq))
    return picked
