"""Claiming: lane heads only, failed rows block, leases expire, pacing per workspace."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update
from sqlmodel import col

from bot.delivery import pacing
from bot.delivery.claim import ClaimResult, claim
from bot.delivery.outbox import FileToSend, SlackContext, call_lane, discard_row, enqueue
from storage.engine import session_scope
from storage.models import OutboxPace, OutboxRow, Workspace, utcnow


def add(engine: Engine, lane: str, n: int = 1, team: str = "T1") -> list[int]:
    ids = []
    with session_scope(engine) as s:
        for i in range(n):
            row = enqueue(
                s,
                operation="update_call",
                front_channel_id="cha_1",
                lane=call_lane(lane),
                payload={"call_status": "connected", "occurred_at": i},
                path={"external_call_id": lane},
                context=SlackContext(team_id=team),
            )
            assert row.id is not None
            ids.append(row.id)
    return ids


def take(
    engine: Engine, limit: int = 10, owner: str = "me", lease: float = 60, **kw: object
) -> ClaimResult:
    with session_scope(engine) as s:
        return claim(s, owner=owner, limit=limit, lease_seconds=lease, **kw)  # type: ignore[arg-type]


def set_status(engine: Engine, row_id: int, status: str) -> None:
    with session_scope(engine) as s:
        s.execute(update(OutboxRow).where(col(OutboxRow.id) == row_id).values(status=status))


def test_only_lane_heads_are_claimed(engine: Engine) -> None:
    a = add(engine, "a", 3)
    b = add(engine, "b", 2)
    got = take(engine)
    assert sorted(r.id for r in got.rows) == [a[0], b[0]]
    assert all(r.attempts == 1 and r.lease_owner == "me" for r in got.rows)
    # In flight: nothing more of these lanes.
    assert take(engine).rows == []
    set_status(engine, a[0], "delivered")
    assert [r.id for r in take(engine).rows] == [a[1]]


def test_a_failed_row_blocks_its_lane_until_discarded(engine: Engine) -> None:
    a = add(engine, "a", 2)
    take(engine)
    set_status(engine, a[0], "failed")
    assert take(engine).rows == []
    with session_scope(engine) as s:
        discard_row(s, row_id=a[0], by="U1")
    assert [r.id for r in take(engine).rows] == [a[1]]


def test_an_expired_lease_is_claimed_again_by_another_owner(engine: Engine) -> None:
    (a,) = add(engine, "a")
    first = take(engine, owner="dead", lease=5)
    assert [r.id for r in first.rows] == [a]
    assert take(engine, owner="other").rows == []
    later = utcnow() + timedelta(seconds=6)
    again = take(engine, owner="other", now=later)
    assert [(r.id, r.attempts, r.lease_owner) for r in again.rows] == [(a, 2, "other")]


def test_a_paused_workspace_waits_and_others_go(engine: Engine) -> None:
    add(engine, "a", team="T1")
    (b,) = add(engine, "b", team="T2")
    with session_scope(engine) as s:
        s.add(Workspace(team_id="T1", paused_at=utcnow()))
    assert [r.id for r in take(engine).rows] == [b]


def test_pacing_is_per_workspace(engine: Engine) -> None:
    t1 = [add(engine, f"t1-{i}")[0] for i in range(10)]
    t2 = [add(engine, f"t2-{i}", team="T2")[0] for i in range(3)]
    now = utcnow()
    got = take(engine, limit=20, now=now)
    # A new workspace starts with a few tokens (until Front's headers tell the limit);
    # T1's backlog does not use T2's.
    claimed = {r.id for r in got.rows}
    assert len(claimed & set(t1)) == pacing.START_TOKENS
    assert claimed >= set(t2)
    assert got.next_due_at is not None and got.next_due_at > now
    with session_scope(engine, readonly=True) as s:
        pace = s.get(OutboxPace, "T1")
        assert pace is not None and pace.ready_at > now and pace.seq == pacing.START_TOKENS


def test_workspaces_take_turns_within_their_tokens(engine: Engine) -> None:
    t1 = [add(engine, f"t1-{i}")[0] for i in range(30)]
    t2 = add(engine, "t2", 3, team="T2")  # one lane: one row at a time
    t3 = [add(engine, f"t3-{i}", team="T3")[0] for i in range(5)]
    now = utcnow()
    with session_scope(engine) as s:
        for team in ("T1", "T3"):
            pace = pacing.new_pace(team, now)
            pace.tokens = pace.capacity = pace.per_second = 1000.0
            s.add(pace)
    got = take(engine, limit=8, now=now)
    # T1's older backlog does not take the later workspaces' slots: one row each in turn
    # (the oldest waiting first), then what is left to those with more.
    assert [r.team_id for r in got.rows] == ["T1", "T2", "T3", "T1", "T3", "T1", "T3", "T1"]
    assert {r.id for r in got.rows} == {*t1[:4], t2[0], *t3[:3]}


def test_a_claim_marks_and_reads_back_its_rows_in_one_go_files_only_where_stored(
    engine: Engine,
) -> None:
    """The claim's UPDATE … RETURNING: what it hands back is what it stored, and files
    (in their order) come with the rows that have some, none with the others."""
    with session_scope(engine) as s:
        with_files = enqueue(
            s,
            operation="sync_inbound_message",
            front_channel_id="cha_1",
            lane="conversation:cha_1:c1",
            payload={"body": "two files"},
            context=SlackContext(team_id="T1", channel_id="C1", thread_ts="1.0", user_id="U1"),
            files=[
                FileToSend("b.txt", "text/plain", b"second"),
                FileToSend("a.txt", "text/plain", b"first"),
            ],
        ).id
    plain = add(engine, "plain")[0]
    now = utcnow()
    got = {r.id: r for r in take(engine, owner="me#1", lease=30, now=now).rows}
    assert set(got) == {with_files, plain}
    assert [(f.filename, f.data) for f in got[with_files].files] == [
        ("b.txt", b"second"),
        ("a.txt", b"first"),
    ]
    assert got[plain].files == ()
    assert got[with_files].payload == {"body": "two files"}
    assert got[with_files].slack_thread_ts == "1.0"
    assert got[plain].path == {"external_call_id": "plain"}
    with session_scope(engine) as s:
        for row_id, claimed in got.items():
            row = s.get(OutboxRow, row_id)
            assert row is not None
            assert (row.status, row.lease_owner, row.attempts) == ("sending", "me#1", 1)
            assert claimed.attempts == 1 and claimed.lease_owner == "me#1"
            assert row.lease_expires_at == row.next_attempt_at == claimed.lease_expires_at
            assert claimed.lease_expires_at == now + timedelta(seconds=30)
