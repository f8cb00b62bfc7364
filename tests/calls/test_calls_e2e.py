"""Calls end to end: signed Slack requests to the running app, the fake Slack Web API, and
the outbox rows that go to Front, each checked against the vendored spec."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from sqlmodel import select

from bot.features.calls import followups as calls_followups
from bot.features.calls import legs
from bot.features.calls import service as calls_service
from bot.features.calls.ids import CallIds
from storage.engine import session_scope
from storage.models import Call, OutboxFile, ThreadLink
from tests.calls.conftest import Sim, deliver, wait_responses
from tests.calls.flows import (
    STARTED,
    all_calls,
    latest_card,
    log_call,
    open_logcall,
    outbox,
    status_buttons,
    wait_until,
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
from tests.helpers.slack_signing import event_body

# /logcall ------------------------------------------------------------------------------


def test_logcall_prefills_the_modal_and_logs_the_call(
    linked: RunningApp, fake: FakeSlack, sim: Sim
) -> None:
    view = open_logcall(linked, fake, "+33 6 12 34 56 78 Bob Martin out")
    assert fake.called("views.open")[0]["trigger_id"].startswith("trig-")
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks[CallIds.party_block]["element"]["initial_value"] == "+33 6 12 34 56 78"
    assert blocks[CallIds.name_block]["element"]["initial_value"] == "Bob Martin"
    direction = blocks[CallIds.direction_block]["element"]["initial_option"]["value"]
    assert direction == "outbound"
    assert blocks[CallIds.agent_block]["element"]["initial_user"] == "U1"
    assert json.loads(view["private_metadata"]) == {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
    }

    values = call_values(
        direction="outbound",
        party="+33 6 12 34 56 78",
        name="Bob Martin",
        started=STARTED,
        agent="U2",
    )
    resp = linked.interact(view_submission(view, values))
    assert resp.status_code == 200 and resp.text == ""  # the modal closes
    (stored,) = all_calls(linked)  # in the database before Slack had the ack
    assert stored.card_ts is None

    settle(linked.runtime)  # the card's post goes out from the database
    (call,) = all_calls(linked)
    posted = fake.wait_for("chat.postMessage")[0]
    assert posted["channel"] == "C1" and "thread_ts" not in posted
    assert call.card_ts and call.thread_ts == call.card_ts
    assert call.parent_external_call_id == call.external_call_id
    assert len(call.external_call_id) <= 200
    assert (call.party_handle, call.agent_email) == ("+33612345678", "grace@example.com")

    (row,) = outbox(linked)
    assert row.operation == "create_call" and row.front_channel_id == "cha_calls"
    assert row.payload == {
        "external_call_id": call.external_call_id,
        "initial_status": "ringing",
        "direction": "outbound",
        "to": {"handle": "+33612345678", "name": "Bob Martin"},
        "parent_external_call_id": call.external_call_id,
        "started_at": STARTED * 1000,
        "agent_email_address": "grace@example.com",
    }
    assert_valid_for_spec("create_call", row.payload)
    assert row.lane == f"call:{call.external_call_id}"
    assert (row.slack_channel_id, row.slack_thread_ts) == ("C1", call.card_ts)

    with session_scope(linked.runtime.engine, readonly=True) as s:
        (link,) = s.exec(select(ThreadLink))
    assert (link.kind, link.external_id, link.thread_ts) == (
        "call",
        call.external_call_id,
        call.card_ts,
    )

    card = {"ts": call.card_ts, "blocks": posted["blocks"], "text": posted["text"]}
    shown = json.dumps(card["blocks"])
    for expected in (
        "+33 6 12 34 56 78",
        "Bob Martin",
        "placed to",
        "Ringing",
        "<@U2>",
        "Queued for Front",
    ):
        assert expected in shown
    assert status_buttons(card) == ["connected", "queued", "missed", "abandoned", "transferred"]

    # The flusher sends it to Front (the simulator checks it against the spec) and the
    # delivery hook turns the card's "queued" into "in Front".
    assert deliver(linked).delivered == 1
    (sent,) = sim.state.requests("create_call")
    assert (sent["body"], sent["status"], sent["channel_id"]) == (row.payload, 202, "cha_calls")
    front_call = sim.state.call("cha_calls", call.external_call_id)
    assert front_call is not None and front_call.direction == "outbound"
    shown = json.dumps(latest_card(fake, call.card_ts)["blocks"])
    assert "In Front" in shown and "Queued for Front" not in shown


def test_an_inbound_call_sends_from(linked: RunningApp, fake: FakeSlack) -> None:
    call, _card = log_call(
        linked, fake, direction="inbound", party="06 12 34 56 78", status="queued"
    )
    (row,) = outbox(linked)
    assert row.payload["from"] == {"handle": "+33612345678"}  # region FR in these tests
    assert "to" not in row.payload and row.payload["initial_status"] == "queued"
    assert row.payload["agent_email_address"] == "ada@example.com"  # the person logging it
    assert_valid_for_spec("create_call", row.payload)


def test_an_agent_slack_will_not_describe_still_logs_the_call(
    linked: RunningApp, fake: FakeSlack
) -> None:
    # users.info answers user_not_found (a deactivated or external teammate): the email is
    # optional, so the call is logged without it rather than lost after the modal closed.
    call, _card = log_call(linked, fake, agent="UGONE")
    assert call.agent_user_id == "UGONE" and call.agent_email is None
    (row,) = outbox(linked)
    assert "agent_email_address" not in row.payload
    assert_valid_for_spec("create_call", row.payload)


def test_an_invalid_number_is_answered_next_to_the_field(
    linked: RunningApp, fake: FakeSlack
) -> None:
    view = open_logcall(linked, fake)
    resp = linked.interact(view_submission(view, call_values(party="12 34")))
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [CallIds.party_block]
    assert "12 34" in answer["errors"][CallIds.party_block]
    assert "country code" in answer["errors"][CallIds.party_block]
    assert all_calls(linked) == [] and outbox(linked) == []
    assert fake.called("chat.postMessage") == []


def test_a_start_in_the_future_is_answered_next_to_the_field(
    linked: RunningApp, fake: FakeSlack
) -> None:
    view = open_logcall(linked, fake)
    values = call_values(started=int(time.time()) + 3600)
    answer = linked.interact(view_submission(view, values)).json()
    assert list(answer["errors"]) == [CallIds.started_block]


def test_logcall_in_an_unlinked_channel_says_how_to_link(
    linked: RunningApp, fake: FakeSlack
) -> None:
    resp = linked.command(
        "/logcall", "", channel_id="C2", response_url=f"{fake.base_url}/respond/x"
    )
    assert resp.status_code == 200
    assert fake.wait_for("views.open")  # opened at once, before the link was looked up
    (update,) = fake.wait_for("views.update")
    assert "/switchboard connect" in json.dumps(update["view"])
    (answer,) = wait_responses(fake)
    assert answer["response_type"] == "ephemeral"
    assert "not connected to Front" in answer["text"] and "/switchboard connect" in answer["text"]


def test_logcall_after_a_disconnect_says_how_to_link(linked: RunningApp, fake: FakeSlack) -> None:
    open_logcall(linked, fake)  # linked: no notice (and remembered for a while)
    fake.add_user("U1", name="Ada Lovelace", email="ada@example.com", is_admin=True)
    answer = linked.command("/switchboard", "disconnect").json()
    assert "Disconnected" in answer["text"]
    open_logcall(linked, fake)
    (update,) = fake.wait_for("views.update")
    assert "/switchboard connect" in json.dumps(update["view"])


# The card's buttons ----------------------------------------------------------------------


def test_buttons_queue_updates_in_order(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake)
    resp = linked.interact(
        click(card, "call_status:connected", user_id="U2", action_ts="1764000100.250000")
    )
    assert resp.status_code == 200
    card = wait_until(lambda: fake.called("chat.update") and latest_card(fake, card["ts"]))
    assert "Connected" in json.dumps(card["blocks"]) and "<@U2>" in json.dumps(card["blocks"])
    assert status_buttons(card) == ["hold", "transferred", "hangup"]

    linked.interact(click(card, "call_status:hold", action_ts="1764000200.000000"))
    wait_until(lambda: len(fake.called("chat.update")) >= 2)
    card = latest_card(fake, card["ts"])
    assert status_buttons(card) == ["connected", "transferred", "hangup"]
    linked.interact(click(card, "call_status:hangup", action_ts="1764000300.000000"))
    wait_until(lambda: len(fake.called("chat.update")) >= 3)
    card = latest_card(fake, card["ts"])
    assert status_buttons(card) == [] and "This call has ended" in json.dumps(card["blocks"])

    rows = outbox(linked)
    assert [r.operation for r in rows] == ["create_call"] + ["update_call"] * 3
    assert len({r.lane for r in rows}) == 1  # one lane: delivered in this order
    updates = [r.payload for r in rows[1:]]
    assert updates == [
        {
            "call_status": "connected",
            "occurred_at": 1764000100250,
            "agent_email_address": "grace@example.com",
        },
        {
            "call_status": "hold",
            "occurred_at": 1764000200000,
            "agent_email_address": "ada@example.com",
        },
        {
            "call_status": "hangup",
            "occurred_at": 1764000300000,
            "agent_email_address": "ada@example.com",
        },
    ]
    for row in rows[1:]:
        assert row.path == {"external_call_id": call.external_call_id}
        assert_valid_for_spec("update_call", row.payload)
    assert all_calls(linked)[0].version == 3

    assert deliver(linked).delivered == 4
    front_call = sim.state.call("cha_calls", call.external_call_id)
    assert front_call is not None
    assert front_call.history == ["ringing", "connected", "hold", "hangup"]
    assert "In Front" in json.dumps(latest_card(fake, card["ts"])["blocks"])


def test_two_clicks_at_once_cannot_both_apply(linked: RunningApp, fake: FakeSlack) -> None:
    """Two people press different buttons on the same card at the same moment."""
    call, card = log_call(linked, fake)
    start = threading.Barrier(2)
    codes: list[int] = []

    def press(action_id: str, user: str) -> None:
        payload = click(card, action_id, user_id=user)
        start.wait()
        codes.append(linked.interact(payload).status_code)

    threads = [
        threading.Thread(target=press, args=("call_status:connected", "U1")),
        threading.Thread(target=press, args=("call_status:missed", "U2")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200]

    (told,) = fake.wait_for("chat.postEphemeral")
    assert "just before you" in told["text"]
    loser = told["user"]
    (update,) = outbox(linked, "update_call")
    winner_status = {"U1": "missed", "U2": "connected"}[loser]  # the other person's click
    assert update.payload["call_status"] == winner_status
    (stored,) = all_calls(linked)
    assert (stored.status, stored.version) == (winner_status, 1)
    # Both refreshes ran after the winner's commit: every card drawn shows its state. (The
    # loser's refresh is one with the winner's when that post had not gone yet: one update.)
    settle(linked.runtime)
    drawn = wait_until(lambda: fake.called("chat.update"))
    label = {"connected": "Connected", "missed": "Missed"}[winner_status]
    assert all(f"*{label}*" in json.dumps(u["blocks"]) for u in drawn)


def test_a_stale_card_cannot_skip_the_lifecycle(linked: RunningApp, fake: FakeSlack) -> None:
    """A click on an old copy of the card (version 0) after the call moved on is refused."""
    call, card = log_call(linked, fake)
    linked.interact(click(card, "call_status:connected"))
    wait_until(lambda: outbox(linked, "update_call"))
    linked.interact(click(card, "call_status:missed", user_id="U2"))  # the old card
    (told,) = fake.wait_for("chat.postEphemeral")
    assert told["user"] == "U2" and "Connected" in told["text"]
    assert [r.payload["call_status"] for r in outbox(linked, "update_call")] == ["connected"]


def test_an_error_the_channel_will_not_take_comes_as_a_dm(
    linked: RunningApp, fake: FakeSlack
) -> None:
    """The error handler's note falls back to a DM, like every other note (one `tell`)."""
    call, card = log_call(linked, fake)
    linked.interact(click(card, "call_status:connected"))
    wait_until(lambda: outbox(linked, "update_call"))
    fake.respond("chat.postEphemeral", lambda args: {"ok": False, "error": "channel_not_found"})
    before = len(fake.called("chat.postMessage"))
    linked.interact(click(card, "call_status:missed", user_id="U2"))  # refused: a stale card
    dm = fake.wait_for("chat.postMessage", before + 1)[-1]
    assert dm["channel"] == "U2" and "Connected" in dm["text"]


# Transfers ---------------------------------------------------------------------------------


def test_log_transfer_opens_the_next_leg_threaded_under_the_card(
    linked: RunningApp, fake: FakeSlack, sim: Sim
) -> None:
    first, card = log_call(linked, fake, name="Bob Martin")
    assert "call_transfer" not in buttons(card["blocks"])
    linked.interact(click(card, "call_status:transferred"))
    card = wait_until(lambda: fake.called("chat.update") and latest_card(fake, card["ts"]))
    assert "call_transfer" in buttons(card["blocks"])

    linked.interact(click(card, "call_transfer", user_id="U2"))
    view = fake.wait_for("views.open", 2)[-1]["view"]
    assert view["title"]["text"] == "Log leg 2"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks[CallIds.party_block]["element"]["initial_value"] == "+33612345678"
    assert blocks[CallIds.name_block]["element"]["initial_value"] == "Bob Martin"
    assert blocks[CallIds.agent_block]["element"]["initial_user"] == "U2"

    resp = linked.interact(
        view_submission(
            view, call_values(party="+33612345678", agent="U2", started=STARTED), user_id="U2"
        )
    )
    assert resp.status_code == 200
    second = wait_until(lambda: all_calls(linked)[1:])[0]
    posted = fake.wait_for("chat.postMessage", 2)[1]
    assert posted["thread_ts"] == first.card_ts  # under the first card
    assert second.thread_ts == first.card_ts and second.card_ts != first.card_ts
    assert second.parent_external_call_id == first.external_call_id
    assert "leg 2" in json.dumps(posted["blocks"])

    create = outbox(linked, "create_call")[1]
    assert create.payload["parent_external_call_id"] == first.external_call_id
    assert create.payload["external_call_id"] == second.external_call_id
    assert create.lane == f"call:{first.external_call_id}"  # after the parent, in order
    assert_valid_for_spec("create_call", create.payload)
    assert deliver(linked).delivered == 3
    front_legs = [sim.state.call("cha_calls", c.external_call_id) for c in (first, second)]
    assert [(c.status, c.parent_external_call_id) for c in front_legs if c] == [
        ("transferred", first.external_call_id),
        ("ringing", first.external_call_id),
    ]
    # The first card no longer offers to log the transfer.
    wait_until(lambda: "call_transfer" not in buttons(latest_card(fake, card["ts"])["blocks"]))

    # A second "Log transfer" on an old copy of the card is refused in the modal (the form
    # stays as typed), and nothing is stored or posted.
    linked.interact(click(card, "call_transfer"))
    view = fake.wait_for("views.open", 3)[-1]["view"]
    posts = len(fake.called("chat.postMessage"))
    answer = linked.interact(view_submission(view, call_values(started=STARTED))).json()
    assert answer["response_action"] == "errors"
    assert "already logged" in answer["errors"][CallIds.party_block]
    settle(linked.runtime)
    assert len(all_calls(linked)) == 2 and len(fake.called("chat.postMessage")) == posts


# Summary, transcript, recording ------------------------------------------------------------


def _open_form(linked: RunningApp, fake: FakeSlack, card: dict[str, Any], action: str) -> Any:
    before = len(fake.called("views.open"))
    linked.interact(click(card, action, thread_ts=None))
    view = fake.wait_for("views.open", before + 1)[-1]["view"]
    return view


def test_summary(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake)
    view = _open_form(linked, fake, card, "call_summary")
    assert view["callback_id"] == CallIds.summary_view
    assert view["blocks"][1]["element"]["multiline"] is True
    values = {CallIds.summary_block: {CallIds.summary_input: {"value": "  "}}}
    answer = linked.interact(view_submission(view, values)).json()
    assert answer["errors"] == {CallIds.summary_block: "Write a summary."}

    text = "Printer on fire.\nAdvised to unplug it."
    values = {CallIds.summary_block: {CallIds.summary_input: {"value": text}}}
    assert linked.interact(view_submission(view, values)).text == ""
    (row,) = wait_until(lambda: outbox(linked, "add_call_summary"))
    assert row.payload == {"content": text}
    assert row.path == {"external_call_id": call.external_call_id}
    assert_valid_for_spec("add_call_summary", row.payload)
    (told,) = fake.wait_for("chat.postEphemeral")
    assert told["thread_ts"] == call.card_ts and "Summary queued" in told["text"]
    deliver(linked)
    front_call = sim.state.call("cha_calls", call.external_call_id)
    assert front_call is not None and front_call.summaries == [text]


def _transcript_values(text: str | None = None, files: list[dict[str, Any]] | None = None) -> Any:
    return {
        CallIds.transcript_text_block: {CallIds.transcript_text_input: {"value": text}},
        CallIds.transcript_file_block: {
            CallIds.transcript_file_input: {"type": "file_input", "files": files or []}
        },
    }


def test_transcript_from_pasted_text(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake)  # Ada Lovelace (U1) is on the call
    view = _open_form(linked, fake, card, "call_transcript")
    text = (
        "[00:00] Ada: Switchboard support, hello.\n[00:04] Bob: My printer is on fire.\n"
        "00:01:10 Ada: Unplug it, please."
    )
    assert linked.interact(view_submission(view, _transcript_values(text))).text == ""
    (row,) = wait_until(lambda: outbox(linked, "add_call_transcript"))
    assert row.payload == {
        "lines": [
            {
                "speaker_name": "Ada",
                "content": "Switchboard support, hello.",
                "start_time_seconds": 0,
                "speaker_type": "internal",
            },
            {
                "speaker_name": "Bob",
                "content": "My printer is on fire.",
                "start_time_seconds": 4,
                "speaker_type": "external",
            },
            {
                "speaker_name": "Ada",
                "content": "Unplug it, please.",
                "start_time_seconds": 70,
                "speaker_type": "internal",
            },
        ]
    }
    assert_valid_for_spec("add_call_transcript", row.payload)
    assert "3 lines" in fake.wait_for("chat.postEphemeral")[0]["text"]
    deliver(linked)
    front_call = sim.state.call("cha_calls", call.external_call_id)
    assert front_call is not None and front_call.transcripts == [row.payload["lines"]]


def test_a_transcript_that_parses_to_nothing_is_answered_in_the_modal(
    linked: RunningApp, fake: FakeSlack
) -> None:
    _call, card = log_call(linked, fake)
    view = _open_form(linked, fake, card, "call_transcript")
    answer = linked.interact(view_submission(view, _transcript_values("just some notes"))).json()
    assert list(answer["errors"]) == [CallIds.transcript_text_block]
    assert "Speaker: text" in answer["errors"][CallIds.transcript_text_block]
    answer = linked.interact(view_submission(view, _transcript_values())).json()
    assert answer["errors"] == {
        CallIds.transcript_text_block: "Paste a transcript or upload a file."
    }
    assert outbox(linked, "add_call_transcript") == []


VTT = b"""WEBVTT

00:00:01.000 --> 00:00:03.500
<v Ada Lovelace>Switchboard support, hello.

00:00:04.000 --> 00:00:06.000
<v Bob Martin>My printer is on fire.
"""


def test_transcript_from_a_webvtt_file(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake)
    view = _open_form(linked, fake, card, "call_transcript")
    file = fake.add_file("F1VTT", "call.vtt", VTT, "text/vtt")
    assert linked.interact(view_submission(view, _transcript_values(files=[file]))).text == ""
    (row,) = wait_until(lambda: outbox(linked, "add_call_transcript"))
    assert row.payload["lines"] == [
        {
            "speaker_name": "Ada Lovelace",
            "content": "Switchboard support, hello.",
            "start_time_seconds": 1,
            "speaker_type": "internal",
        },
        {
            "speaker_name": "Bob Martin",
            "content": "My printer is on fire.",
            "start_time_seconds": 4,
            "speaker_type": "external",
        },
    ]
    assert_valid_for_spec("add_call_transcript", row.payload)
    deliver(linked)
    front_call = sim.state.call("cha_calls", call.external_call_id)
    assert front_call is not None and front_call.transcripts == [row.payload["lines"]]


def test_an_empty_transcript_file_is_answered_in_the_modal(
    linked: RunningApp, fake: FakeSlack
) -> None:
    _call, card = log_call(linked, fake)
    view = _open_form(linked, fake, card, "call_transcript")
    fake.add_file("F2TXT", "notes.txt", b"nothing to see here\n", "text/plain")
    # Only the id, as some payloads carry: the app asks files.info for the rest.
    fake.respond(
        "files.info",
        lambda args: {
            "ok": True,
            "file": {
                "id": "F2TXT",
                "name": "notes.txt",
                "mimetype": "text/plain",
                "size": 20,
                "url_private_download": f"{fake.base_url}/files/F2TXT",
            },
        },
    )
    answer = linked.interact(view_submission(view, _transcript_values(files=[{"id": "F2TXT"}])))
    assert answer.json()["errors"] == {
        CallIds.transcript_file_block: (
            "I found no transcript lines in this. Write one line per utterance as `Speaker: text`, "
            "optionally led by a time: `[01:23] Ada: Hello`, or upload a WebVTT, SRT or text file."
        )
    }
    assert fake.called("files.info")[0]["file"] == "F2TXT"


AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00fake-mp3-frames" * 10


def test_recording_upload(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake)
    view = _open_form(linked, fake, card, "call_recording")
    file = fake.add_file("F3MP3", "call.mp3", AUDIO, "audio/mpeg")
    values = {
        CallIds.recording_file_block: {CallIds.recording_file_input: {"files": [file]}},
        CallIds.recording_type_block: {
            CallIds.recording_type_input: {"selected_option": {"value": "voicemail"}}
        },
    }
    assert linked.interact(view_submission(view, values)).text == ""
    (row,) = wait_until(lambda: outbox(linked, "add_call_recording"))
    assert row.payload == {"recording_type": "voicemail"}
    assert row.path == {"external_call_id": call.external_call_id}
    with session_scope(linked.runtime.engine, readonly=True) as s:
        (stored,) = s.exec(select(OutboxFile).where(OutboxFile.outbox_id == row.id))
    assert (stored.filename, stored.content_type, stored.data) == ("call.mp3", "audio/mpeg", AUDIO)
    assert "Voicemail call.mp3 queued" in fake.wait_for("chat.postEphemeral")[0]["text"]
    deliver(linked)
    front_call = sim.state.call("cha_calls", call.external_call_id)
    assert front_call is not None
    (recording,) = front_call.recordings
    assert recording["recording_type"] == "voicemail"
    assert recording["content_type"] == "audio/mpeg" and recording["size"] == len(AUDIO)


def test_a_recording_that_is_not_audio_is_answered_in_the_modal(
    linked: RunningApp, fake: FakeSlack
) -> None:
    _call, card = log_call(linked, fake)
    view = _open_form(linked, fake, card, "call_recording")
    file = fake.add_file("F4PDF", "notes.pdf", b"%PDF-1.4", "application/pdf")
    values = {CallIds.recording_file_block: {CallIds.recording_file_input: {"files": [file]}}}
    answer = linked.interact(view_submission(view, values)).json()
    assert "not an audio file" in answer["errors"][CallIds.recording_file_block]
    assert outbox(linked, "add_call_recording") == []


def _forget(app: RunningApp, call: Call) -> None:
    """The call disappears while its form is open."""
    with session_scope(app.runtime.engine) as s:
        stored = s.exec(select(Call).where(Call.id == call.id)).one()
        s.delete(stored)


def test_a_form_for_a_call_that_is_gone_is_answered_in_the_modal(
    linked: RunningApp, fake: FakeSlack
) -> None:
    call, card = log_call(linked, fake)
    summary = _open_form(linked, fake, card, "call_summary")
    transcript = _open_form(linked, fake, card, "call_transcript")
    recording = _open_form(linked, fake, card, "call_recording")
    _forget(linked, call)
    gone = "I can't find this call any more"

    values = {CallIds.summary_block: {CallIds.summary_input: {"value": "Printer on fire."}}}
    answer = linked.interact(view_submission(summary, values)).json()
    assert gone in answer["errors"][CallIds.summary_block]
    answer = linked.interact(view_submission(transcript, _transcript_values("Ada: Hi"))).json()
    assert gone in answer["errors"][CallIds.transcript_text_block]
    file = fake.add_file("F8MP3", "call.mp3", AUDIO, "audio/mpeg")
    values = {CallIds.recording_file_block: {CallIds.recording_file_input: {"files": [file]}}}
    answer = linked.interact(view_submission(recording, values)).json()
    assert gone in answer["errors"][CallIds.recording_file_block]
    assert outbox(linked, "add_call_summary") == outbox(linked, "add_call_transcript") == []


@pytest.mark.parametrize("form", ["summary", "transcript"])
def test_a_store_that_fails_after_the_ack_gives_the_text_back(
    linked: RunningApp, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    call, card = log_call(linked, fake)

    def gone(*_args: Any, **_kwargs: Any) -> None:
        raise legs.CallNotFound()  # e.g. deleted between the check and the store

    if form == "summary":
        view = _open_form(linked, fake, card, "call_summary")
        typed = "Printer on fire.\nAdvised <@U2> to unplug it & wait."
        values: Any = {CallIds.summary_block: {CallIds.summary_input: {"value": typed}}}
        monkeypatch.setattr(calls_service, "add_summary", gone)
    else:
        view = _open_form(linked, fake, card, "call_transcript")
        typed = "Ada: Switchboard support, hello.\nBob: My printer is on fire <@U2> & more."
        values = _transcript_values(typed)
        monkeypatch.setattr(calls_service, "add_transcript", gone)
    answer = linked.interact(view_submission(view, values))
    if form == "summary":
        # Stored inside the ack: the failure is said in the modal, which keeps the text.
        errors = answer.json()["errors"]
        assert "I can't find this call any more" in errors[CallIds.summary_block]
        assert outbox(linked, "add_call_summary") == []
        return
    # A transcript is stored by its Slack post after the ack: the person is told, with
    # what they typed given back.
    assert answer.text == ""
    settle(linked.runtime)
    (told,) = fake.wait_for("chat.postEphemeral")
    assert told["thread_ts"] == call.card_ts
    assert "I can't find this call any more" in told["text"]
    assert f"Your {form}, so that it is not lost" in told["text"]
    for line in typed.splitlines():  # quoted, and escaped: no mention pings anyone
        escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert f"> {escaped}" in told["text"]


def test_audio_shared_in_the_thread_is_offered_as_the_recording(
    linked: RunningApp, fake: FakeSlack
) -> None:
    call, _card = log_call(linked, fake)
    file = fake.add_file("F5WAV", "voicemail.wav", AUDIO, "audio/wav")
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel": "C1",
        "user": "U2",
        "ts": "1764000500.000100",
        "thread_ts": call.card_ts,
        "text": "",
        "files": [file],
    }
    resp = linked.post(event_body(event, event_id="EvShare1"), content_type="application/json")
    assert resp.status_code == 200
    (offer,) = fake.wait_for("chat.postEphemeral")
    assert (offer["user"], offer["thread_ts"]) == ("U2", call.card_ts)
    assert buttons(offer["blocks"]) == ["call_thread_recording:0", "call_thread_recording:1"]

    fake.respond("files.info", lambda args: {"ok": True, "file": file})
    message = {"ts": "1764000500.000200", "blocks": offer["blocks"], "text": offer["text"]}
    payload = click(
        message,
        "call_thread_recording:0",
        user_id="U2",
        thread_ts=call.card_ts,
        response_url=f"{fake.base_url}/respond/offer",
        is_ephemeral=True,
    )
    assert linked.interact(payload).status_code == 200
    (answer,) = wait_responses(fake)  # the offer gives way at once
    assert answer["replace_original"] is True and "Sending it to Front" in answer["text"]
    settle(linked.runtime)  # the file is fetched by the stored post, then queued for Front
    (row,) = outbox(linked, "add_call_recording")
    assert row.payload == {"recording_type": "call"} and row.slack_user_id == "U2"
    told = fake.called("chat.postEphemeral")[-1]
    assert (told["user"], told["thread_ts"]) == ("U2", call.card_ts)
    assert "Recording voicemail.wav queued for Front" in told["text"]


def test_files_shared_elsewhere_are_ignored(linked: RunningApp, fake: FakeSlack) -> None:
    call, _card = log_call(linked, fake)
    audio = fake.add_file("F6", "a.mp3", AUDIO, "audio/mpeg")
    text = fake.add_file("F7", "a.txt", b"hi", "text/plain")
    context = {"runtime": linked.runtime, "team_id": "T1"}
    for n, extra in enumerate(
        (
            {"ts": "1.1", "files": [audio]},  # not in a thread
            {"ts": "1.2", "thread_ts": "999.000", "files": [audio]},  # not a call's thread
            {"ts": "1.3", "thread_ts": call.card_ts, "files": [text]},  # not audio
            {"ts": call.card_ts, "thread_ts": call.card_ts, "files": [audio]},  # the card
        )
    ):
        event = {"type": "message", "subtype": "file_share", "channel": "C1", "user": "U2", **extra}
        # Called directly (as Bolt would): when it returns, it has decided.
        body = {"event_id": f"EvElsewhere{n}"}
        asyncio.run(calls_followups.file_shared(body=body, event=event, context=context))
    settle(linked.runtime)
    assert fake.called("chat.postEphemeral") == []


def test_a_failed_delivery_shows_on_the_card(linked: RunningApp, fake: FakeSlack, sim: Sim) -> None:
    call, card = log_call(linked, fake)
    deliver(linked)
    sim.state.reset()  # Front forgets the call: the next update is refused (404)
    linked.interact(click(card, "call_status:connected"))
    wait_until(lambda: outbox(linked, "update_call"))
    deliver(linked)
    (row,) = outbox(linked, "update_call")
    assert row.status == "failed"
    alert = fake.called("chat.postMessage")[-1]
    assert alert["thread_ts"] == call.card_ts and "delivered to Front" in alert["text"]
    # The card says so, with a link to the alert (posted in its thread) and Front's reason.
    shown = json.dumps(latest_card(fake, card["ts"])["blocks"])
    assert "Not in Front: delivery failed (404 Not found" in shown
    assert all_calls(linked)[0].delivery_state == "failed"  # the refresh stored it
    (permalink,) = fake.called("chat.getPermalink")
    assert permalink["channel"] == "C1"
    assert (
        f"https://acme.slack.com/archives/C1/p{permalink['message_ts'].replace('.', '')}" in shown
    )
