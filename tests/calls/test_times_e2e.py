"""Real times on live calls, end to end: "Status at a time…" (checked next to its field
against the call's start, its last status and now), the buttons' "now" guarded the same
way, and the reminder a call still open after four hours gets in its thread."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.features.calls.ids import CallIds
from storage.engine import session_scope
from storage.models import SlackPost, utcnow
from tests.calls.conftest import Sim, deliver
from tests.calls.flows import STARTED, all_calls, latest_card, log_call, outbox, wait_until
from tests.calls.payloads import click, time_values, view_submission
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import FakeSlack


def _open_time(app: RunningApp, fake: FakeSlack, card: dict[str, Any]) -> dict[str, Any]:
    before = len(fake.called("views.open"))
    app.interact(click(card, CallIds.set_time, user_id="U2"))
    view: dict[str, Any] = fake.wait_for("views.open", before + 1)[-1]["view"]
    return view


def _submit(app: RunningApp, view: dict[str, Any], status: str | None, at: int | None) -> Any:
    resp = app.interact(view_submission(view, time_values(status, at), user_id="U2"))
    assert resp.status_code == 200
    return resp.json() if resp.text else None


def test_statuses_at_the_times_they_happened(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake)  # ringing since STARTED
    view = _open_time(linked, fake, card)
    assert view["callback_id"] == CallIds.time_view
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    options = [o["value"] for o in blocks[CallIds.time_status_block]["element"]["options"]]
    assert options == ["connected", "queued", "missed", "abandoned", "transferred"]
    prefilled = blocks[CallIds.time_block]["element"]["initial_date_time"]
    assert abs(prefilled - time.time()) < 60  # now, unless the person says otherwise
    assert f"<!date^{STARTED}^" in json.dumps(view["blocks"])

    # Refused next to the field: before the start, in the future, or nothing chosen.
    answer = _submit(linked, view, "connected", STARTED - 60)
    assert list(answer["errors"]) == [CallIds.time_block]
    assert (
        "before the call started (2025-11-24 16:00:00 UTC)" in answer["errors"][CallIds.time_block]
    )
    answer = _submit(linked, view, "connected", int(time.time()) + 3600)
    assert "in the future" in answer["errors"][CallIds.time_block]
    answer = _submit(linked, view, None, STARTED + 300)
    assert answer["errors"] == {CallIds.time_status_block: "Choose what happened."}
    assert outbox(linked, "update_call") == []

    assert _submit(linked, view, "connected", STARTED + 300) is None  # the modal closes
    (row,) = outbox(linked, "update_call")
    assert row.payload == {
        "call_status": "connected",
        "occurred_at": (STARTED + 300) * 1000,
        "agent_email_address": "grace@example.com",  # who said so
    }
    settle(linked.runtime)
    card = latest_card(fake, str(call.card_ts))
    shown = json.dumps(card["blocks"])
    assert "*Connected* (by <@U2>)" in shown and f"since <!date^{STARTED + 300}^" in shown

    # The next one cannot come before the one it follows.
    view = _open_time(linked, fake, card)
    options = [
        o["value"]
        for b in view["blocks"]
        if b.get("block_id") == CallIds.time_status_block
        for o in b["element"]["options"]
    ]
    assert options == ["hold", "transferred", "hangup"]
    answer = _submit(linked, view, "hangup", STARTED + 200)
    assert (
        "before it became connected (2025-11-24 16:05:00 UTC)"
        in answer["errors"][CallIds.time_block]
    )
    assert _submit(linked, view, "hangup", STARTED + 1800) is None
    # The first form, still open somewhere, was for a call that has moved on since.
    first = fake.called("views.open")[-2]["view"]
    answer = _submit(linked, first, "missed", STARTED + 1900)
    assert "since this form opened" in answer["errors"][CallIds.time_status_block]

    assert deliver(linked).delivered == 3
    front = sim.state.call("cha_calls", call.external_call_id)
    assert front is not None and front.history == ["ringing", "connected", "hangup"]
    bodies = [r["body"] for r in sim.state.requests("update_call")]
    assert [b["occurred_at"] for b in bodies] == [(STARTED + 300) * 1000, (STARTED + 1800) * 1000]
    shown = json.dumps(latest_card(fake, str(call.card_ts))["blocks"])
    assert "*Answered*" in shown and "*Duration*\\n25:00" in shown
    assert f"*Ended*\\n<!date^{STARTED + 1800}^" in shown


def test_a_buttons_now_before_the_start_is_refused_not_moved(
    linked: RunningApp, fake: FakeSlack
) -> None:
    """A start picked a few seconds ahead: "now" would come before it, so nothing is sent
    (Front would refuse it) and the person is told how to say when."""
    ahead = int(time.time()) + 45
    call, card = log_call(linked, fake, started=ahead)
    linked.interact(click(card, "call_status:connected", action_ts=f"{ahead - 30}.000000"))
    (told,) = fake.wait_for("chat.postEphemeral")
    assert "before the call started" in told["text"] and "Status at a time…" in told["text"]
    assert outbox(linked, "update_call") == []
    assert all_calls(linked)[0].status == "ringing"


def _due_now(app: RunningApp, external_call_id: str) -> None:
    """Four hours pass for the call's reminder."""
    with session_scope(app.runtime.engine) as s:
        s.execute(
            update(SlackPost)
            .where(col(SlackPost.lane) == f"call-reminder:{external_call_id}")
            .values(next_attempt_at=utcnow())
        )


def test_a_call_still_open_after_four_hours_is_asked_about_once(
    linked: RunningApp, fake: FakeSlack
) -> None:
    started = int(time.time()) - 60
    open_call, _ = log_call(linked, fake, started=started, name="Bob Martin")
    ended_call, ended_card = log_call(linked, fake, started=started)
    linked.interact(click(ended_card, "call_status:missed"))
    wait_until(lambda: outbox(linked, "update_call"))
    with session_scope(linked.runtime.engine, readonly=True) as s:
        reminders = s.exec(select(SlackPost).where(SlackPost.kind == "call.reminder")).all()
    assert len(reminders) == 2
    due = {r.lane: r.next_attempt_at for r in reminders}[
        f"call-reminder:{open_call.external_call_id}"
    ]
    assert abs((due - utcnow()).total_seconds() - 4 * 3600) < 120  # four hours from its start

    settle(linked.runtime)
    posted = len(fake.called("chat.postMessage"))
    _due_now(linked, open_call.external_call_id)
    _due_now(linked, ended_call.external_call_id)
    settle(linked.runtime)
    (reminder,) = fake.called("chat.postMessage")[posted:]  # the ended call: nothing
    assert reminder["thread_ts"] == open_call.card_ts and reminder["channel"] == "C1"
    assert reminder["text"].startswith("<@U1> this call with Bob Martin (+33 6 12 34 56 78)")
    assert "still *ringing*" in reminder["text"] and "Status at a time…" in reminder["text"]
    settle(linked.runtime)
    assert len(fake.called("chat.postMessage")) == posted + 1  # once
