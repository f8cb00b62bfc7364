"""Corrections end to end: Edit reopens the log form with what was entered and replaces
the call's pending requests under the same external call id, while Front has not got the
call; afterwards the card says what can still be added. A request being sent is never
edited underneath the flusher."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.core import links
from bot.features.calls import edits
from bot.features.calls import service as calls
from bot.features.calls.ids import CallIds
from bot.features.calls.lifecycle import Status
from bot.features.calls.timeline import Outcome
from storage.engine import session_scope
from storage.models import Call, Direction, OutboxRow
from tests.calls.conftest import Sim, deliver
from tests.calls.flows import STARTED, all_calls, latest_card, log_call, outbox, wait_until
from tests.calls.payloads import buttons, call_values, click, view_submission
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import FakeSlack


def _edit_form(app: RunningApp, fake: FakeSlack, card: dict[str, Any]) -> dict[str, Any]:
    """Press Edit: a modal opens at once, then shows the form (or why not)."""
    opened = len(fake.called("views.open"))
    updated = len(fake.called("views.update"))
    app.interact(click(card, CallIds.edit))
    assert "Loading" in json.dumps(fake.wait_for("views.open", opened + 1)[-1]["view"])
    view: dict[str, Any] = fake.wait_for("views.update", updated + 1)[-1]["view"]
    return view


def _initial(view: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        for key in ("initial_value", "initial_option", "initial_date_time", "initial_user"):
            if key in element:
                value = element[key]
                found[block["block_id"]] = value["value"] if key == "initial_option" else value
    return found


def test_edit_replaces_what_the_form_queued_until_front_has_it(
    linked: RunningApp, fake: FakeSlack, sim: Sim
) -> None:
    call, card = log_call(
        linked,
        fake,
        party="+33 6 12 34 56 79",  # a typo
        name="Bob Martn",
        outcome="answered",
        duration="25:00",
        summary="Printer on fire.",
    )
    create_id = outbox(linked, "create_call")[0].id
    view = _edit_form(linked, fake, card)
    assert (view["title"]["text"], view["submit"]["text"]) == ("Edit call", "Save")
    assert _initial(view) == {
        CallIds.direction_block: "inbound",
        CallIds.party_block: "+33612345679",
        CallIds.name_block: "Bob Martn",
        CallIds.status_block: "ringing",
        CallIds.started_block: STARTED,
        CallIds.outcome_block: "answered",
        CallIds.duration_block: "25:00",
        CallIds.agent_block: "U1",
        CallIds.log_summary_block: "Printer on fire.",
    }
    meta = json.loads(view["private_metadata"])
    assert (meta["edit"], meta["version"]) == (call.external_call_id, 2)

    # It was missed, in fact, and the number was wrong: the pending requests are replaced.
    values = call_values(
        party="+33 6 12 34 56 78", name="Bob Martin", started=STARTED, outcome="missed"
    )
    assert linked.interact(view_submission(view, values)).text == ""
    rows = outbox(linked)
    assert [(r.operation, r.status) for r in rows] == [
        ("create_call", "pending"),
        ("update_call", "pending"),
    ]
    assert rows[0].id == create_id  # the same request, rewritten in its place in the lane
    assert rows[0].payload == {
        "external_call_id": call.external_call_id,
        "initial_status": "ringing",
        "direction": "inbound",
        "from": {"handle": "+33612345678", "name": "Bob Martin"},
        "parent_external_call_id": call.external_call_id,
        "started_at": STARTED * 1000,
        "agent_email_address": "ada@example.com",
    }
    assert rows[1].payload["call_status"] == "missed"
    assert rows[1].payload["occurred_at"] == STARTED * 1000
    (stored,) = all_calls(linked)
    assert (stored.external_call_id, stored.party_handle, stored.status) == (
        call.external_call_id,
        "+33612345678",
        "missed",
    )
    settle(linked.runtime)
    shown = json.dumps(latest_card(fake, str(call.card_ts))["blocks"])
    assert "Bob Martin" in shown and "*Missed*" in shown and "*Duration*" not in shown

    # Front gets the corrected call, once.
    assert deliver(linked).delivered == 2
    (created,) = sim.state.requests("create_call")
    assert created["body"] == rows[0].payload
    front = sim.state.call("cha_calls", call.external_call_id)
    assert front is not None and front.history == ["ringing", "missed"]
    card = latest_card(fake, str(call.card_ts))
    shown = json.dumps(card["blocks"])
    assert CallIds.edit not in buttons(card["blocks"])
    assert "Front has this call" in shown and "creates a call once" in shown

    # Edit on an older copy of the card: the form says why not, nothing changes.
    old = {"ts": call.card_ts, "blocks": fake.called("chat.postMessage")[0]["blocks"]}
    view = _edit_form(linked, fake, old)
    assert "Front has this call now" in json.dumps(view)
    assert outbox(linked, "create_call")[0].payload == rows[0].payload


def test_an_edit_keeps_the_statuses_set_from_the_card(linked: RunningApp, fake: FakeSlack) -> None:
    call, card = log_call(linked, fake, name="Bob Martn")
    linked.interact(click(card, "call_status:connected", action_ts=f"{STARTED + 100}.000000"))
    (connected,) = wait_until(lambda: outbox(linked, "update_call"))
    settle(linked.runtime)
    card = latest_card(fake, str(call.card_ts))
    view = _edit_form(linked, fake, card)
    assert _initial(view)[CallIds.outcome_block] == "in_progress"

    # A start after it was connected is refused next to the field.
    late = call_values(name="Bob Martin", started=STARTED + 200)
    answer = linked.interact(view_submission(view, late)).json()
    assert (
        "It became connected at 2025-11-24 16:01:40 UTC" in answer["errors"][CallIds.started_block]
    )
    assert (
        linked.interact(view_submission(view, call_values(name="Bob Martin", started=STARTED))).text
        == ""
    )
    create, kept = outbox(linked)
    assert create.payload["from"] == {"handle": "+33612345678", "name": "Bob Martin"}
    assert (kept.id, kept.payload) == (connected.id, connected.payload)  # untouched
    assert all_calls(linked)[0].status == "connected"


def test_a_request_being_sent_is_not_edited(linked: RunningApp, fake: FakeSlack) -> None:
    call, card = log_call(linked, fake, name="Bob Martn")
    view = _edit_form(linked, fake, card)
    with session_scope(linked.runtime.engine) as s:  # the flusher claimed it meanwhile
        row = s.exec(select(OutboxRow)).one()
        row.status = "sending"
        s.add(row)
    before = outbox(linked, "create_call")[0].payload
    answer = linked.interact(view_submission(view, call_values(name="Bob Martin", started=STARTED)))
    assert "being sent to Front right now" in answer.json()["errors"][CallIds.party_block]
    assert outbox(linked, "create_call")[0].payload == before
    assert all_calls(linked)[0].party_name == "Bob Martn"


def test_an_edit_waits_for_a_claim_in_progress_then_refuses(engine: Engine) -> None:
    """The flusher's claim holds the row while it marks it sending: the edit's lock waits
    for it, then sees `sending`, and leaves the row alone (both databases)."""
    with session_scope(engine) as s:
        links.connect(
            s, team_id="T1", slack_channel_id="C1", front_channel_id="cha_1", user_id="U9"
        )
    started = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    draft = calls.CallDraft(
        direction=Direction.inbound,
        party_handle="+33612345678",
        initial_status=Status.ringing,
        started_at=started,
        agent_user_id="U1",
    )
    with session_scope(engine) as s:
        calls.log_call(
            s, team_id="T1", slack_channel_id="C1", user_id="U1", external_call_id="c1", draft=draft
        )
    claimed = threading.Event()
    outcome: list[BaseException | None] = []

    def claim() -> None:
        with session_scope(engine) as s:
            row = s.exec(
                select(OutboxRow).where(col(OutboxRow.operation) == "create_call").with_for_update()
            ).one()
            row.status = "sending"
            s.add(row)
            s.flush()
            claimed.set()
            time.sleep(0.4)

    def edit() -> None:
        claimed.wait()
        try:
            with session_scope(engine) as s:
                edits.edit_call(
                    s,
                    team_id="T1",
                    external_call_id="c1",
                    expected_version=0,
                    draft=calls.CallDraft(
                        direction=Direction.outbound,
                        party_handle="+33612345679",
                        initial_status=Status.ringing,
                        started_at=started,
                        outcome=Outcome.missed,
                    ),
                    user_id="U1",
                )
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    threads = [threading.Thread(target=claim), threading.Thread(target=edit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (error,) = outcome
    assert isinstance(error, edits.NotEditable)
    with session_scope(engine, readonly=True) as s:
        (row,) = s.exec(select(OutboxRow)).all()
        stored = s.exec(select(Call)).one()
    assert (row.status, row.payload["direction"]) == ("sending", "inbound")
    assert (stored.direction, stored.status) == ("inbound", "ringing")


@pytest.mark.parametrize("first", ["answered", "in_progress"])
def test_a_leg_with_a_logged_transfer_keeps_its_story(
    linked: RunningApp, fake: FakeSlack, first: str
) -> None:
    values: dict[str, Any] = {"outcome": "transferred", "duration": "1:00"}
    if first == "in_progress":
        values = {}
    parent, card = log_call(linked, fake, **values)
    if first == "in_progress":
        linked.interact(click(card, "call_status:transferred"))
        wait_until(lambda: outbox(linked, "update_call"))
        settle(linked.runtime)
        card = latest_card(fake, str(parent.card_ts))
    linked.interact(click(card, "call_transfer"))
    leg_view = fake.wait_for("views.open", 2)[-1]["view"]
    linked.interact(view_submission(leg_view, call_values(started=STARTED + 60)))
    settle(linked.runtime)
    card = latest_card(fake, str(parent.card_ts))
    view = _edit_form(linked, fake, card)
    answer = linked.interact(
        view_submission(view, call_values(started=STARTED, outcome="missed"))
    ).json()
    assert "Its next leg is logged" in answer["errors"][CallIds.outcome_block]
