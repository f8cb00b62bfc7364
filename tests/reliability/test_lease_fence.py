"""A worker whose lease expired (it stalled, its row was claimed again by another) must not
record its late answer over the new owner's: every outcome is fenced by the lease owner
(`bot.delivery.outcomes.record_outcomes`). Time is passed in (`now`), never waited for."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import select

from bot.delivery.claim import ClaimedRow, claim
from bot.delivery.outcomes import Outcome, OutcomeKind, record_outcomes
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import OutboxRow, utcnow
from tests.delivery.conftest import FAST, add_messages

LEASE = 30.0


def take(engine: Engine, owner: str, now: object) -> ClaimedRow:
    with session_scope(engine) as s:
        (row,) = claim(s, owner=owner, limit=1, lease_seconds=LEASE, now=now).rows  # type: ignore[arg-type]
    return row


def record(engine: Engine, row: ClaimedRow, outcome: Outcome, now: object) -> str:
    with session_scope(engine) as s:
        (done,) = record_outcomes(s, [(row, outcome)], policy=FAST, now=now)  # type: ignore[arg-type]
    return done.status


def stored(engine: Engine) -> OutboxRow:
    with session_scope(engine, readonly=True) as s:
        return s.exec(select(OutboxRow)).one()


DELIVERED = Outcome(OutcomeKind.delivered, status_code=202, message_uid="msg_new")
REFUSED = Outcome(OutcomeKind.rejected, status_code=400, title="Bad request", message="late")
FIVE_XX = Outcome(OutcomeKind.retryable, status_code=503, title="Unavailable")


def test_a_late_answer_does_not_overwrite_the_new_owners_delivery(runtime: Runtime) -> None:
    engine = runtime.engine
    add_messages(runtime, "conv", 1)
    start = utcnow()
    stalled = take(engine, "stalled", start)
    later = start + timedelta(seconds=LEASE + 1)  # its lease is over: another takes the row
    owner = take(engine, "owner", later)
    assert (owner.id, owner.lease_owner) == (stalled.id, "owner")

    assert record(engine, owner, DELIVERED, later) == "delivered"
    # The stalled worker wakes with Front's refusal of its (earlier) attempt: too late.
    assert record(engine, stalled, REFUSED, later + timedelta(seconds=1)) == "lost"
    row = stored(engine)
    assert row.status == "delivered" and row.alert_id is None
    assert row.result == {"message_uid": "msg_new"}


def test_a_late_answer_leaves_the_row_to_its_new_owner(runtime: Runtime) -> None:
    engine = runtime.engine
    add_messages(runtime, "conv", 1)
    start = utcnow()
    stalled = take(engine, "stalled", start)
    later = start + timedelta(seconds=LEASE + 1)
    owner = take(engine, "owner", later)
    # The stalled one answers first this time: the row stays the new owner's, in flight.
    assert record(engine, stalled, DELIVERED, later) == "lost"
    row = stored(engine)
    assert (row.status, row.lease_owner) == ("sending", "owner")
    assert record(engine, owner, FIVE_XX, later) == "pending"
    assert stored(engine).status == "pending"
