"""The calls service on both databases: lifecycle, compare-and-set, legs and lanes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.core import links
from bot.core.errors import InvalidFields, NotLinked, UserError
from bot.delivery.outbox import FileToSend
from bot.features.calls import legs, lifecycle, posts, state
from bot.features.calls import service as calls
from bot.features.calls.legs import CallChanged
from bot.features.calls.lifecycle import LIFECYCLE, Status
from bot.features.calls.service import CallDraft
from storage.engine import session_scope
from storage.models import Call, Direction, OutboxRow, SlackPost, ThreadLink

# Front's voice channel lifecycle, as front-notes.md writes it.
FRONT_LIFECYCLE = {
    None: {"ringing", "queued"},
    "queued": {"connected", "hangup", "missed", "abandoned"},
    "ringing": {"queued", "connected", "missed", "abandoned", "transferred"},
    "connected": {"hold", "transferred", "hangup"},
    "hold": {"connected", "transferred", "hangup"},
    "hangup": set(),
    "missed": set(),
    "abandoned": set(),
    "transferred": set(),  # a transfer ends the leg; the next leg is a new call
}

STARTED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_lifecycle_is_fronts() -> None:
    assert {k: set(v) for k, v in LIFECYCLE.items()} == FRONT_LIFECYCLE
    assert set(LIFECYCLE) - {None} == set(Status)
    for status, nexts in LIFECYCLE.items():
        assert len(set(nexts)) == len(nexts), f"duplicate button for {status}"
    assert [s for s in Status if lifecycle.is_final(s)] == [
        Status.hangup,
        Status.missed,
        Status.abandoned,
        Status.transferred,
    ]
    assert (
        lifecycle.next_statuses(None)
        == lifecycle.INITIAL_STATUSES
        == (Status.ringing, Status.queued)
    )


@pytest.mark.parametrize(
    ("text", "party", "name", "direction"),
    [
        ("", "", "", None),
        ("+33 6 12 34 56 78 out", "+33 6 12 34 56 78", "", Direction.outbound),
        ("in (415) 555-2671 Bob O'Neil", "(415) 555-2671", "Bob O'Neil", Direction.inbound),
        (
            "ada@example.com Ada Lovelace placed",
            "ada@example.com",
            "Ada Lovelace",
            Direction.outbound,
        ),
    ],
)
def test_parse_logcall_text(text: str, party: str, name: str, direction: Direction | None) -> None:
    assert lifecycle.parse_logcall_text(text) == lifecycle.Prefill(party, name, direction)


def _link(engine: Engine) -> None:
    with session_scope(engine) as s:
        links.connect(
            s, team_id="T1", slack_channel_id="C1", front_channel_id="cha_1", user_id="U9"
        )


def _draft(**kw: object) -> CallDraft:
    values: dict[str, object] = {
        "direction": Direction.inbound,
        "party_handle": "+33612345678",
        "initial_status": Status.ringing,
        "started_at": STARTED,
        "agent_user_id": "U1",
        "agent_email": "ada@example.com",
    }
    values.update(kw)
    return CallDraft(**values)  # type: ignore[arg-type]


def _create(engine: Engine, call_id: str, *, card_ts: str, parent: str | None = None) -> Call:
    """Log a call, then (as its `call.card` post does once Slack has it) record its card."""
    with session_scope(engine) as s:
        calls.log_call(
            s,
            team_id="T1",
            slack_channel_id="C1",
            user_id="U1",
            external_call_id=call_id,
            draft=_draft(),
            parent_external_call_id=parent,
        )
    with session_scope(engine) as s:
        posts.card_posted(s, external_call_id=call_id, ts=card_ts)
        return s.exec(select(Call).where(Call.external_call_id == call_id)).one()


def _set(engine: Engine, call_id: str, status: str, version: int, user: str = "U1") -> Call:
    with session_scope(engine) as s:
        return calls.set_status(
            s,
            team_id="T1",
            external_call_id=call_id,
            status=status,
            expected_version=version,
            occurred_at=STARTED,
            user_id=user,
            email=None,
        )


def test_logging_needs_a_linked_channel(engine: Engine) -> None:
    with pytest.raises(NotLinked):
        _create(engine, "sb-call-1", card_ts="1.1")


def test_a_transition_outside_the_lifecycle_is_refused(engine: Engine) -> None:
    _link(engine)
    _create(engine, "sb-call-1", card_ts="1.1")
    with pytest.raises(UserError, match="ringing can't become on hold"):
        _set(engine, "sb-call-1", "hold", 0)
    _set(engine, "sb-call-1", "missed", 0)
    with pytest.raises(UserError, match="missed can't become connected"):
        _set(engine, "sb-call-1", "connected", 1)
    with session_scope(engine, readonly=True) as s:
        ops = [r.operation for r in s.exec(select(OutboxRow).order_by(col(OutboxRow.id)))]
    assert ops == ["create_call", "update_call"]


def test_concurrent_clicks_apply_exactly_once(engine: Engine) -> None:
    """Eight people click at once on the same card (version 0): one wins, seven are told."""
    _link(engine)
    _create(engine, "sb-call-1", card_ts="1.1")
    choices = ["connected", "queued", "missed", "abandoned", "transferred"] * 2
    start = threading.Barrier(8)
    won: list[str] = []
    lost: list[CallChanged] = []

    def click(status: str, n: int) -> None:
        start.wait()
        try:
            _set(engine, "sb-call-1", status, 0, user=f"U{n}")
            won.append(status)
        except CallChanged as exc:
            lost.append(exc)

    threads = [threading.Thread(target=click, args=(choices[n], n)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 7
    with session_scope(engine, readonly=True) as s:
        (call,) = s.exec(select(Call))
        updates = list(s.exec(select(OutboxRow).where(OutboxRow.operation == "update_call")))
    assert (call.status, call.version) == (won[0], 1)
    assert [u.payload["call_status"] for u in updates] == won
    assert all(won[0] in str(exc).lower() for exc in lost)


def test_legs_share_the_first_legs_lane_and_thread(engine: Engine) -> None:
    _link(engine)
    _create(engine, "leg-1", card_ts="1.1")
    with pytest.raises(UserError, match="Only a transferred call"):
        _create(engine, "leg-2", card_ts="1.2", parent="leg-1")
    _set(engine, "leg-1", "transferred", 0)
    second = _create(engine, "leg-2", card_ts="1.2", parent="leg-1")
    assert (second.parent_external_call_id, second.thread_ts) == ("leg-1", "1.1")
    _set(engine, "leg-2", "connected", 0)
    _set(engine, "leg-2", "transferred", 1)
    third = _create(engine, "leg-3", card_ts="1.3", parent="leg-2")
    assert third.thread_ts == "1.1"
    with pytest.raises(UserError, match="already logged"):
        _create(engine, "leg-3b", card_ts="1.4", parent="leg-2")
    with session_scope(engine) as s:
        lanes = {r.lane for r in s.exec(select(OutboxRow))}
        legs = state.calls_in_thread(s, team_id="T1", slack_channel_id="C1", thread_ts="1.1")
        card = state.call_card(s, external_call_id="leg-3")
        first = state.call_card(s, external_call_id="leg-1")
    assert lanes == {"call:leg-1"}
    assert [c.external_call_id for c in legs] == ["leg-1", "leg-2", "leg-3"]
    assert (card.leg, card.has_next_leg, first.has_next_leg) == (3, False, True)


def test_the_card_follows_its_deliveries(engine: Engine) -> None:
    _link(engine)
    _create(engine, "sb-call-1", card_ts="1.1")
    _set(engine, "sb-call-1", "connected", 0, user="U2")

    def card() -> state.CallCard:
        with session_scope(engine) as s:
            return state.call_card(s, external_call_id="sb-call-1")

    def mark(status: str, error: str | None = None) -> None:
        with session_scope(engine) as s:
            for row in s.exec(select(OutboxRow)):
                row.status, row.last_error = status, error
                s.add(row)

    assert (card().delivery, card().last_changed_by) == ("queued", "U2")
    mark("delivered")
    assert card().delivery == "delivered"
    mark("failed", "400 Bad Request: unknown channel")
    failed = card()
    assert failed.delivery == "failed" and failed.failure == "400 Bad Request: unknown channel"
    mark("discarded")
    assert card().delivery == "discarded"


def test_reading_the_card_writes_nothing_the_sync_stores_its_state(engine: Engine) -> None:
    _link(engine)
    _create(engine, "sb-call-1", card_ts="1.1")

    def stored() -> str:
        with session_scope(engine, readonly=True) as s:
            return s.exec(select(Call)).one().delivery_state

    with session_scope(engine) as s:
        for row in s.exec(select(OutboxRow)):
            row.status = "failed"
            s.add(row)
    with session_scope(engine) as s:  # a write session: still, reading the card writes nothing
        assert state.call_card(s, external_call_id="sb-call-1").delivery == "failed"
    assert stored() == "queued"
    with session_scope(engine) as s:
        assert state.sync_delivery_state(session=s, external_call_id="sb-call-1") == "failed"
    assert stored() == "failed"


def test_a_call_is_stored_with_its_request_and_its_card_post_then_threads_its_rows(
    engine: Engine,
) -> None:
    """Logging stores the call, its create-call and its card's post in one transaction;
    once the card is in Slack its ts becomes the call's thread, for the rows too."""
    _link(engine)
    with session_scope(engine) as s:
        calls.log_call(
            s,
            team_id="T1",
            slack_channel_id="C1",
            user_id="U1",
            external_call_id="c1",
            draft=_draft(),
        )
    with session_scope(engine, readonly=True) as s:
        post, reminder = s.exec(select(SlackPost).order_by(col(SlackPost.id))).all()
        (row,) = s.exec(select(OutboxRow)).all()
        assert s.exec(select(ThreadLink)).all() == []
    assert (post.kind, post.lane, post.args) == ("call.card", "call:c1", {"external_call_id": "c1"})
    # A call still going is asked about in four hours, in a lane of its own.
    assert (reminder.kind, reminder.lane) == ("call.reminder", "call-reminder:c1")
    assert reminder.next_attempt_at - reminder.created_at > timedelta(hours=3, minutes=59)
    assert (row.operation, row.slack_thread_ts) == ("create_call", None)
    with session_scope(engine) as s:
        posts.card_posted(s, external_call_id="c1", ts="9.9")
    with session_scope(engine, readonly=True) as s:
        call = s.exec(select(Call)).one()
        link = s.exec(select(ThreadLink)).one()
        row = s.exec(select(OutboxRow)).one()
    assert (call.card_ts, call.thread_ts, link.thread_ts, link.external_id) == (
        "9.9",
        "9.9",
        "9.9",
        "c1",
    )
    assert row.slack_thread_ts == "9.9"


def test_summary_transcript_and_recording_checks(engine: Engine) -> None:
    _link(engine)
    _create(engine, "sb-call-1", card_ts="1.1")
    with session_scope(engine) as s, pytest.raises(UserError, match="empty"):
        calls.add_summary(s, team_id="T1", external_call_id="sb-call-1", content=" ", user_id="U1")
    with session_scope(engine) as s, pytest.raises(UserError, match="no lines"):
        calls.add_transcript(s, team_id="T1", external_call_id="sb-call-1", lines=[], user_id="U1")
    with session_scope(engine) as s, pytest.raises(UserError, match="not an audio file"):
        calls.add_recording(
            s,
            team_id="T1",
            external_call_id="sb-call-1",
            recording_type="call",
            file=FileToSend("a.txt", "text/plain", b"x"),
            user_id="U1",
        )
    with session_scope(engine) as s, pytest.raises(legs.CallNotFound):
        calls.add_summary(s, team_id="T2", external_call_id="sb-call-1", content="hi", user_id="U1")


def test_the_service_refuses_a_time_that_runs_backwards(engine: Engine) -> None:
    """The server-side guard behind the form's checks: no status before the call's start,
    before the status it follows, or in the future; nothing is stored when refused."""
    _link(engine)
    _create(engine, "sb-call-1", card_ts="1.1")

    def at(moment: datetime, status: str, version: int) -> Call:
        with session_scope(engine) as s:
            return calls.set_status(
                s,
                team_id="T1",
                external_call_id="sb-call-1",
                status=status,
                expected_version=version,
                occurred_at=moment,
                user_id="U1",
                email=None,
            )

    with pytest.raises(InvalidFields, match="before the call started"):
        at(STARTED - timedelta(seconds=1), "connected", 0)
    with pytest.raises(InvalidFields, match="in the future"):
        at(datetime.now(UTC) + timedelta(hours=1), "connected", 0)
    call = at(STARTED + timedelta(minutes=5), "connected", 0)
    assert call.status_at == call.connected_at == STARTED + timedelta(minutes=5)
    with pytest.raises(InvalidFields, match="before it became connected"):
        at(STARTED + timedelta(minutes=4), "hangup", 1)
    call = at(STARTED + timedelta(minutes=30), "hangup", 1)
    assert call.ended_at == STARTED + timedelta(minutes=30)
    with session_scope(engine, readonly=True) as s:
        rows = s.exec(select(OutboxRow).where(OutboxRow.operation == "update_call")).all()
    assert [r.payload["occurred_at"] for r in rows] == [
        lifecycle.epoch_ms(STARTED + timedelta(minutes=m)) for m in (5, 30)
    ]
