"""Claiming outbox rows: which rows may go now, safely with several processes.

A row is claimable when it is `pending` (or `sending` with an expired lease) and due, and
every earlier row of its lane (lower id) is `delivered` or `discarded`: a row that failed
blocks its lane until someone retries or discards it. Its workspace must not be paused
and must have a pacing token (see `pacing`).

Claiming happens in one short write transaction that marks the rows `sending` with a
lease (owner, expiry) before any HTTP call:
- PostgreSQL: `SELECT … FOR UPDATE OF o SKIP LOCKED`, so concurrent claimers pass over
  each other's rows instead of waiting; a row committed as `sending` by another claimer
  no longer matches when re-checked.
- SQLite: the engine opens every write transaction with `BEGIN IMMEDIATE`, so claims
  are serialised by the database lock (FOR UPDATE does not exist there).

`next_attempt_at` of a `sending` row is its lease expiry: one condition ("due") covers
both pending rows and rows of a process that died.

Claims are fair between workspaces: they take rows in turns between the workspaces with
a row to send, each within its pacing tokens (see `turns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, literal_column, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.delivery import pacing
from bot.delivery.turns import TIME, candidates, is_pg, ready_teams, take_in_turns
from storage.models import (
    OutboxFile,
    OutboxPace,
    OutboxRow,
    OutboxStatus,
    utcnow,
)


@dataclass(frozen=True)
class ClaimedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ClaimedRow:
    """A row this process now holds a lease on: everything needed to send it."""

    id: int
    operation: str
    front_channel_id: str
    path: dict[str, str]
    payload: dict[str, Any]
    lane: str
    team_id: str
    attempts: int  # including this one
    created_at: datetime
    retried_at: datetime | None
    lease_owner: str
    lease_expires_at: datetime
    pace_seq: int
    slack_channel_id: str | None = None
    slack_thread_ts: str | None = None
    slack_user_id: str | None = None
    probe: bool = False
    files: tuple[ClaimedFile, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ClaimResult:
    rows: list[ClaimedRow]
    # When something not due yet will be (a backoff, a pacing token, a probe), if known.
    next_due_at: datetime | None = None


def insert_ignore(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on the primary key, on SQLite and PostgreSQL."""
    if not rows:
        return
    table = model.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(table).values(list(rows)).on_conflict_do_nothing())


def lock_paces(
    session: Session,
    team_ids: Sequence[str],
    now: datetime,
    known: dict[str, OutboxPace] | None = None,
) -> dict[str, OutboxPace]:
    """The pacing rows of these workspaces, locked, created if new. Rows in `known` (locked
    earlier in this transaction) are reused, and `known` gains the others."""
    known = {} if known is None else known
    teams = sorted(set(team_ids) - set(known))
    if not teams:
        return known

    def locked(names: list[str]) -> dict[str, OutboxPace]:
        stmt = (
            select(OutboxPace)
            .where(col(OutboxPace.team_id).in_(names))
            .order_by(col(OutboxPace.team_id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {p.team_id: p for p in session.exec(stmt)}

    paces = locked(teams)
    missing = [t for t in teams if t not in paces]
    if missing:
        insert_ignore(session, OutboxPace, [pacing.new_pace(t, now).model_dump() for t in missing])
        paces.update(locked(missing))
    known.update(paces)
    return known


def _probe_teams(session: Session, now: datetime) -> list[str]:
    """Paused workspaces whose next probe is due (PostgreSQL: not being probed elsewhere)."""
    pg = is_pg(session)
    sql = (
        "SELECT t.team_id FROM outbox_pace AS t JOIN workspace AS w ON w.team_id = t.team_id "
        "WHERE w.paused_at IS NOT NULL AND t.probe_at IS NOT NULL AND t.probe_at <= :now "
        "ORDER BY t.team_id" + (" FOR UPDATE OF t SKIP LOCKED" if pg else "")
    )
    stmt = text(sql).bindparams(bindparam("now", type_=TIME))
    return [str(r[0]) for r in session.execute(stmt, {"now": now})]


def next_due(session: Session, now: datetime) -> datetime | None:
    """The earliest future moment a row, a workspace's token or a probe becomes due."""
    times: list[datetime] = []
    for status in (OutboxStatus.pending, OutboxStatus.sending):
        t = session.exec(
            select(OutboxRow.next_attempt_at)
            .where(OutboxRow.status == status, OutboxRow.next_attempt_at > now)
            .order_by(col(OutboxRow.next_attempt_at))
            .limit(1)
        ).first()
        if t is not None:
            times.append(t)
    ready = session.exec(
        select(OutboxPace.ready_at)
        .where(OutboxPace.ready_at > now)
        .order_by(col(OutboxPace.ready_at))
        .limit(1)
    ).first()
    if ready is not None:
        times.append(ready)
    probe = session.exec(
        select(OutboxPace.probe_at)
        .where(col(OutboxPace.probe_at).is_not(None), col(OutboxPace.probe_at) > now)
        .order_by(col(OutboxPace.probe_at))
        .limit(1)
    ).first()
    if probe is not None:
        times.append(probe)
    return min(times) if times else None


_OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]

# Marks the claimed rows `sending` and reads back what sending them needs: one
# statement instead of an UPDATE then a SELECT (SQLite has RETURNING since 3.35).
_MARK_SENDING = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=OutboxStatus.sending,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("expires"),
        next_attempt_at=bindparam("expires"),
        attempts=_OUTBOX.c.attempts + 1,
        updated_at=bindparam("now"),
    )
    .returning(
        _OUTBOX.c.id,
        _OUTBOX.c.operation,
        _OUTBOX.c.front_channel_id,
        _OUTBOX.c.path,
        _OUTBOX.c.payload,
        _OUTBOX.c.lane,
        _OUTBOX.c.attempts,
        _OUTBOX.c.created_at,
        _OUTBOX.c.retried_at,
        _OUTBOX.c.slack_channel_id,
        _OUTBOX.c.slack_thread_ts,
        _OUTBOX.c.slack_user_id,
        # Most rows have no file: their files are not looked for. Written out, since
        # RETURNING names columns unqualified, and `id` would be the file's in here.
        literal_column(
            "EXISTS (SELECT 1 FROM outbox_file AS f WHERE f.outbox_id = outbox.id)"
        ).label("has_files"),
    )
)

_FILES = (
    sa_select(
        col(OutboxFile.outbox_id),
        col(OutboxFile.filename),
        col(OutboxFile.content_type),
        col(OutboxFile.data),
    )
    .where(col(OutboxFile.outbox_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(OutboxFile.outbox_id), col(OutboxFile.position))
)


def claim(
    session: Session,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    probe_first_seconds: float = pacing.PROBE_FIRST_SECONDS,
    with_next_due: bool = True,
    with_probes: bool = True,
    paces: dict[str, OutboxPace] | None = None,
    now: datetime | None = None,
) -> ClaimResult:
    """Claim up to `limit` rows for `owner` in the caller's (write) transaction.

    With `with_next_due`, a claim that finds fewer rows than `limit` also says when
    the next one falls due (a few more queries). `with_probes` looks for paused
    workspaces due for a probe. `paces`: pacing rows already locked in this transaction."""
    now = now or utcnow()
    if limit <= 0:
        return ClaimResult([])
    expires = now + timedelta(seconds=lease_seconds)

    teams = ready_teams(session, now=now, limit=limit)
    probe_teams = _probe_teams(session, now) if with_probes else []
    paces = lock_paces(session, [*teams, *probe_teams], now, paces)
    picked: list[tuple[int, str, bool]] = []  # (id, team, probe)
    seqs: dict[int, int] = {}
    for row_id, team, seq in take_in_turns(session, paces, teams, now=now, limit=limit):
        picked.append((row_id, team, False))
        seqs[row_id] = seq
    # A paused workspace gets one request now and then, to see whether Front takes our
    # credentials again (see `outcomes`).
    for team in probe_teams:
        if len(picked) >= limit:
            break
        found = candidates(session, now=now, limit=1, team_id=team)
        pace = paces[team]
        probe_seq = pacing.take(pace, now) if found else None
        if probe_seq is not None:
            picked.append((found[0], team, True))
            seqs[found[0]] = probe_seq
            pace.probes += 1
            pacing.schedule_probe(pace, now, first=probe_first_seconds)
    for pace in paces.values():
        pacing.settle(pace, now)
        session.add(pace)

    if not picked:
        session.flush()
        return ClaimResult([], next_due(session, now) if with_next_due else None)

    ids = [row_id for row_id, _, _ in picked]
    session.flush()  # the pacing rows
    # On the connection (Core): the rows are not in this session, nothing to synchronise.
    marked = session.connection().execute(
        _MARK_SENDING, {"ids": ids, "owner": owner, "expires": expires, "now": now}
    )
    rows = {r.id: r for r in marked}
    files: dict[int, list[ClaimedFile]] = {}
    with_files = [row_id for row_id, r in rows.items() if r.has_files]
    if with_files:
        for f in session.execute(_FILES, {"ids": with_files}):
            files.setdefault(f.outbox_id, []).append(
                ClaimedFile(f.filename, f.content_type, f.data or b"")
            )
    claimed = []
    for row_id, team, probe in picked:
        r = rows[row_id]
        claimed.append(
            ClaimedRow(
                id=row_id,
                operation=r.operation,
                front_channel_id=r.front_channel_id,
                path={str(k): str(v) for k, v in r.path.items()},
                payload=dict(r.payload),
                lane=r.lane,
                team_id=team,
                attempts=r.attempts,
                created_at=r.created_at,
                retried_at=r.retried_at,
                lease_owner=owner,
                lease_expires_at=expires,
                pace_seq=seqs[row_id],
                slack_channel_id=r.slack_channel_id,
                slack_thread_ts=r.slack_thread_ts,
                slack_user_id=r.slack_user_id,
                probe=probe,
                files=tuple(files.get(row_id, ())),
            )
        )
    due = next_due(session, now) if with_next_due and len(claimed) < limit else None
    return ClaimResult(claimed, due)


def release(session: Session, *, rows: Sequence[ClaimedRow]) -> int:
    """Give back rows claimed but not sent: `pending` again, the attempt not counted."""
    released = 0
    for row in rows:
        released += session.execute(
            update(OutboxRow)
            .where(
                col(OutboxRow.id) == row.id,
                col(OutboxRow.status) == OutboxStatus.sending,
                col(OutboxRow.lease_owner) == row.lease_owner,
            )
            .values(
                status=OutboxStatus.pending,
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=utcnow(),
                attempts=OutboxRow.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    return released
