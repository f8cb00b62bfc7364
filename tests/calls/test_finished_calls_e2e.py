"""A finished call logged in one form, end to end: signed Slack requests to the running
app, the requests queued for Front in order on the call's lane, and what the simulator
(strict about the call lifecycle and its times) received, compared to the millisecond."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.features.calls.ids import CallIds
from storage.models import Call
from tests.calls.conftest import Sim, deliver
from tests.calls.flows import (
    STARTED,
    all_calls,
    latest_card,
    log_call,
    open_logcall,
    outbox,
    status_buttons,
)
from tests.calls.payloads import (
    assert_valid_for_spec,
    buttons,
    call_values,
    click,
    view_submission,
)
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import FakeSlack

START_MS = STARTED * 1000
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00voicemail-frames" * 10


def _create(call: Call, initial: str = "ringing") -> dict[str, Any]:
    return {
        "external_call_id": call.external_call_id,
        "initial_status": initial,
        "direction": "inbound",
        "from": {"handle": "+33612345678", "name": "Bob Martin"},
        "parent_external_call_id": call.external_call_id,
        "started_at": START_MS,
        "agent_email_address": "ada@example.com",
    }


def _status(status: str, at_ms: int) -> dict[str, Any]:
    # Said by the teammate on the call (the form's agent), at the time the form gives.
    return {"call_status": status, "occurred_at": at_ms, "agent_email_address": "ada@example.com"}


def _queued(app: RunningApp) -> list[tuple[str, Any]]:
    rows = outbox(app)
    assert len({r.lane for r in rows}) == 1  # one lane: Front gets them in this order
    for row in rows:
        if row.operation in ("create_call", "update_call", "add_call_summary"):
            assert_valid_for_spec(row.operation, row.payload)
    return [(r.operation, r.payload) for r in rows]


def _front_got(sim: Sim) -> list[tuple[str, Any]]:
    sent = sim.state.requests()
    assert all(r["status"] in (202, 204) and not r["duplicate"] for r in sent), sent
    assert sim.state.rejections() == []
    return [(r["operation"], r["body"]) for r in sent]


def _card_text(fake: FakeSlack, call: Call) -> str:
    return json.dumps(latest_card(fake, str(call.card_ts))["blocks"], ensure_ascii=False)


def _date(seconds: int) -> str:
    return f"<!date^{seconds}^"


@pytest.mark.parametrize(("typed", "seconds"), [("25:00", 1500), ("1h2m", 3720)])
def test_an_answered_call_reaches_front_as_it_happened(
    linked: RunningApp, fake: FakeSlack, sim: Sim, typed: str, seconds: int
) -> None:
    call, card = log_call(
        linked,
        fake,
        name="Bob Martin",
        outcome="answered",
        duration=typed,
        summary="Printer on fire.\nAdvised to unplug it.",
    )
    end_ms = START_MS + seconds * 1000
    expected = [
        ("create_call", _create(call)),
        ("update_call", _status("connected", START_MS)),
        ("update_call", _status("hangup", end_ms)),
        ("add_call_summary", {"content": "Printer on fire.\nAdvised to unplug it."}),
    ]
    assert _queued(linked) == expected
    # The card tells the call at once: how it went, when it started and ended, how long.
    shown = json.dumps(card["blocks"], ensure_ascii=False)
    assert "*Outcome*\\n*Answered*" in shown
    assert _date(STARTED) in shown and _date(STARTED + seconds) in shown
    assert f"*Duration*\\n{'25:00' if seconds == 1500 else '1:02:00'}" in shown
    assert status_buttons(card) == [] and "This call has ended." in shown
    assert "call_edit" in buttons(card["blocks"]) and "Not in Front yet" in shown

    assert deliver(linked).delivered == 4
    assert _front_got(sim) == expected
    front = sim.state.call("cha_calls", call.external_call_id)
    assert front is not None and front.history == ["ringing", "connected", "hangup"]
    assert (front.started_at, front.last_occurred_at) == (START_MS, end_ms)
    assert front.summaries == ["Printer on fire.\nAdvised to unplug it."]
    shown = _card_text(fake, call)
    assert "In Front" in shown and "call_edit" not in shown
    assert "Front has this call" in shown and "a summary, a transcript or a recording" in shown
    stored = all_calls(linked)[0]
    assert (stored.status, stored.delivery_state) == ("hangup", "delivered")
    assert int(stored.ended_at.timestamp()) == STARTED + seconds  # type: ignore[union-attr]


def test_a_missed_call(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake, name="Bob Martin", outcome="missed")
    expected = [("create_call", _create(call)), ("update_call", _status("missed", START_MS))]
    assert _queued(linked) == expected
    shown = json.dumps(card["blocks"], ensure_ascii=False)
    assert "*Outcome*\\n*Missed*" in shown and "*Duration*" not in shown
    assert deliver(linked).delivered == 2
    assert _front_got(sim) == expected
    front = sim.state.call("cha_calls", call.external_call_id)
    assert front is not None and front.history == ["ringing", "missed"]


def test_a_voicemail_left_with_its_audio_file(
    linked: RunningApp, fake: FakeSlack, sim: Sim
) -> None:
    file = fake.add_file("F1VM", "voicemail.m4a", AUDIO, "audio/mp4")
    call, card = log_call(linked, fake, name="Bob Martin", outcome="voicemail", voicemail=[file])
    settle(linked.runtime)  # the file is fetched after the ack by its stored post
    expected = [
        ("create_call", _create(call)),
        ("update_call", _status("missed", START_MS)),
        ("add_call_recording", {"recording_type": "voicemail"}),
    ]
    assert _queued(linked) == expected
    told = fake.called("chat.postEphemeral")[-1]
    assert "Voicemail voicemail.m4a queued for Front" in told["text"]
    assert "*Outcome*\\n*Voicemail left*" in json.dumps(card["blocks"], ensure_ascii=False)

    assert deliver(linked).delivered == 3
    assert _front_got(sim) == expected
    front = sim.state.call("cha_calls", call.external_call_id)
    assert front is not None and front.history == ["ringing", "missed"]
    (recording,) = front.recordings
    assert recording["recording_type"] == "voicemail"
    assert (recording["content_type"], recording["size"]) == ("audio/mp4", len(AUDIO))


def test_a_voicemail_left_without_a_file(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake, name="Bob Martin", outcome="voicemail")
    expected = [("create_call", _create(call)), ("update_call", _status("missed", START_MS))]
    assert _queued(linked) == expected
    assert "*Voicemail left*" in json.dumps(card["blocks"], ensure_ascii=False)
    deliver(linked)
    assert _front_got(sim) == expected


def test_an_abandoned_call_was_queued(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    # "Ringing" is the form's default: an abandoned call is one left while queued.
    call, card = log_call(linked, fake, name="Bob Martin", outcome="abandoned", status="ringing")
    expected = [
        ("create_call", _create(call, initial="queued")),
        ("update_call", _status("abandoned", START_MS)),
    ]
    assert _queued(linked) == expected
    assert "*Outcome*\\n*Abandoned*" in json.dumps(card["blocks"], ensure_ascii=False)
    assert deliver(linked).delivered == 2
    assert _front_got(sim) == expected
    front = sim.state.call("cha_calls", call.external_call_id)
    assert front is not None and front.history == ["queued", "abandoned"]


def test_a_transferred_call_then_its_next_leg(
    linked: RunningApp, fake: FakeSlack, sim: Sim
) -> None:
    first, card = log_call(linked, fake, name="Bob Martin", outcome="transferred", duration="2:30")
    expected = [
        ("create_call", _create(first)),
        ("update_call", _status("connected", START_MS)),
        ("update_call", _status("transferred", START_MS + 150_000)),
    ]
    assert _queued(linked) == expected
    assert "call_transfer" in buttons(card["blocks"])  # the card offers Log transfer
    assert "*Outcome*\\n*Transferred*" in json.dumps(card["blocks"], ensure_ascii=False)

    linked.interact(click(card, "call_transfer", user_id="U2"))
    view = fake.wait_for("views.open", 2)[-1]["view"]
    second_start = STARTED + 150
    values = call_values(
        party="+33612345678", agent="U2", started=second_start, outcome="answered", duration="3:00"
    )
    assert linked.interact(view_submission(view, values, user_id="U2")).text == ""
    settle(linked.runtime)
    second = all_calls(linked)[1]
    assert deliver(linked).delivered == 6
    got = _front_got(sim)
    assert got[:3] == expected
    assert [op for op, _ in got[3:]] == ["create_call", "update_call", "update_call"]
    assert got[3][1]["parent_external_call_id"] == first.external_call_id
    assert got[3][1]["started_at"] == second_start * 1000
    assert [b["occurred_at"] for _, b in got[4:]] == [
        second_start * 1000,
        second_start * 1000 + 180_000,
    ]
    front = sim.state.call("cha_calls", second.external_call_id)
    assert front is not None and front.history == ["ringing", "connected", "hangup"]


def test_what_the_form_refuses_is_said_next_to_its_field(
    linked: RunningApp, fake: FakeSlack
) -> None:
    view = open_logcall(linked, fake)
    audio = fake.add_file("F2VM", "vm.mp3", AUDIO, "audio/mpeg")
    pdf = fake.add_file("F3PDF", "notes.pdf", b"%PDF-1.4", "application/pdf")
    now = int(time.time())
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"outcome": "answered"}, CallIds.duration_block, "How long did the call last?"),
        ({"outcome": "answered", "duration": "4 minutes"}, CallIds.duration_block, "4:30"),
        ({"outcome": "answered", "duration": "0"}, CallIds.duration_block, "at least a second"),
        ({"outcome": "answered", "duration": "25h"}, CallIds.duration_block, "longer than a day"),
        ({"outcome": "missed", "duration": "1:00"}, CallIds.duration_block, "never connected"),
        ({"duration": "1:00"}, CallIds.duration_block, "still in progress"),
        (
            {"outcome": "answered", "duration": "2:00", "voicemail": [audio]},
            CallIds.voicemail_block,
            "choose Voicemail left",
        ),
        ({"outcome": "voicemail", "voicemail": [pdf]}, CallIds.voicemail_block, "not an audio"),
        (
            {"outcome": "answered", "duration": "1h", "started": now - 60},
            CallIds.duration_block,
            "end in the future",
        ),
    ]
    for values, block, words in cases:
        values.setdefault("started", STARTED)
        answer = linked.interact(view_submission(view, call_values(**values))).json()
        assert answer["response_action"] == "errors", values
        assert list(answer["errors"]) == [block], (values, answer)
        assert words in answer["errors"][block], (values, answer)
    assert all_calls(linked) == [] and outbox(linked) == []
