"""Auto-capture end to end: `/switchboard capture` and Slack's signed events to the running
app, the capture posts (fake Slack), the outbox, and the Front simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from bot.features.messages.capture import CAPTURE
from storage.engine import session_scope
from storage.models import (
    Call,
    CaptureThread,
    ChannelLink,
    LoggedMessage,
    SlackPost,
    ThreadLink,
)
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle_all as settle
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import event_body
from tests.messages.conftest import Sim, deliver
from tests.messages.payloads import (
    CHANNEL,
    TEAM,
    customer_event,
    next_event_id,
    teammate_event,
)
from tests.messages.spec import assert_valid

ROOT = "1800000000.000100"
CONVERSATION = f"slack-thread:{TEAM}:{CHANNEL}:{ROOT}"


def send_event(app: RunningApp, event: dict[str, Any], event_id: str | None = None) -> None:
    body = event_body(event, team_id=TEAM, event_id=event_id or next_event_id())
    resp = app.post(body, content_type="application/json")
    assert resp.status_code == 200, resp.text


def switchboard(app: RunningApp, text: str, user: str = "UADMIN") -> str:
    resp = app.command("/switchboard", text, user_id=user)
    assert resp.status_code == 200
    return str(resp.json()["text"])


def logged(app: RunningApp) -> list[LoggedMessage]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(LoggedMessage).order_by(col(LoggedMessage.id))))


def capture_posts(app: RunningApp) -> list[SlackPost]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(SlackPost).where(SlackPost.kind == CAPTURE)))


@pytest.fixture
def capturing(linked: RunningApp, fake_slack: FakeSlack) -> RunningApp:
    fake_slack.add_user("UADMIN", name="Ann Admin", email="ann@acme.example", is_admin=True)
    fake_slack.respond(
        "conversations.info",
        lambda args: {"ok": True, "channel": {"id": args["channel"], "is_ext_shared": True}},
    )
    answer = switchboard(linked, "capture on")
    assert "Auto-capture is *on*" in answer and "not shared" not in answer
    return linked


def test_capture_is_for_admins_and_says_what_it_does(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("UADMIN", name="Ann Admin", is_admin=True)
    assert "Only workspace admins" in switchboard(linked, "capture on", user="U1")
    # Not a Slack Connect channel: on, with a warning that nothing will be captured yet.
    assert "not shared with another organisation" in switchboard(linked, "capture on")
    assert "reacting to a message with :ticket:" in switchboard(linked, "capture emoji")
    assert ":eyes:" in switchboard(linked, "capture emoji :eyes:")
    assert "is not an emoji name" in switchboard(linked, "capture emoji <!here>")
    assert "Auto-capture is *off*" in switchboard(linked, "capture off")
    assert "Use `/switchboard capture on`" in switchboard(linked, "capture sometimes")
    with session_scope(linked.runtime.engine, readonly=True) as s:
        link = s.exec(select(ChannelLink)).one()
    assert (link.capture, link.capture_emoji, link.capture_since) == ("off", None, None)


def test_a_customers_thread_is_captured_and_a_teammates_reply_goes_out(
    capturing: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = capturing
    send_event(app, customer_event(ROOT, "Hi, my order <#C9|orders> is *late*"))
    send_event(app, teammate_event("1800000000.000200", "On it, checking", thread_ts=ROOT))
    send_event(app, customer_event("1800000000.000300", "Thanks!", thread_ts=ROOT))
    # Stored before the ack: one capture post each, in the thread's lane.
    posts = capture_posts(app)
    assert len(posts) == 3 and len({p.lane for p in posts}) == 1
    settle(app.runtime)

    root, reply, thanks = logged(app)
    assert (root.direction, root.source, root.handle) == (
        "inbound",
        "capture",
        "ada@customer.example",
    )
    assert (reply.direction, reply.external_conversation_id) == ("outbound", CONVERSATION)
    assert thanks.referenced_external_id == reply.external_id
    assert fake_slack.called("chat.postMessage") == []  # nothing the customer would see
    assert fake_slack.called("chat.postEphemeral") == []
    with session_scope(app.runtime.engine, readonly=True) as s:
        assert s.get(CaptureThread, (TEAM, CHANNEL, ROOT)).captured is True  # type: ignore[union-attr]
        (link,) = s.exec(select(ThreadLink)).all()
    assert (link.kind, link.external_id) == ("conversation", CONVERSATION)

    assert deliver(app).delivered == 3
    got = sim.state.requests()
    assert [r["operation"] for r in got] == [
        "sync_inbound_message",
        "sync_outbound_message",
        "sync_inbound_message",
    ]
    for r in got:
        assert_valid(r["operation"], r["body"])
    assert got[0]["body"]["sender"] == {
        "handle": "ada@customer.example",
        "name": "Ada Customer",
        "email": "ada@customer.example",
    }
    assert "<b>late</b>" in got[0]["body"]["body"]
    outbound = got[1]["body"]
    assert outbound["to"] == [got[0]["body"]["sender"]]
    assert outbound["author_id"] == "alt:email:cleo@acme.example"
    assert outbound["sender_name"] == "Cleo Agent"
    assert outbound["metadata"]["referenced_message_external_id"] == root.external_id
    # Captured quietly: no :inbox_tray: on a customer's every message.
    assert fake_slack.called("reactions.add") == []


def test_what_is_never_captured(capturing: RunningApp, fake_slack: FakeSlack) -> None:
    app = capturing
    internal = "1800000001.000100"
    send_event(app, teammate_event(internal, "Team lunch?"))  # our own people: not a customer
    send_event(app, customer_event("1800000001.000200", "me too", thread_ts=internal))
    send_event(app, customer_event("1800000001.000300", "", subtype="channel_join"))
    send_event(app, customer_event("1800000001.000400", "topic", subtype="channel_topic"))
    send_event(app, customer_event("1800000001.000500", "beep", bot_id="B9", subtype="bot_message"))
    send_event(app, customer_event("1800000001.000600", "from us", user="UBOT"))
    # A thread older than capture (its root was never seen) is left alone.
    send_event(app, customer_event("1700000000.000700", "old", thread_ts="1700000000.000100"))
    # A call's thread (tied to its call) is the calls feature's.
    with session_scope(app.runtime.engine) as s:
        s.add(
            ThreadLink(
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                thread_ts="1800000001.000800",
                kind="call",
                external_id="call-1",
                front_channel_id="cha_123",
            )
        )
    send_event(app, customer_event("1800000001.000900", "hi", thread_ts="1800000001.000800"))
    settle(app.runtime)
    assert capture_posts(app) == []
    assert logged(app) == []


def test_a_retried_event_is_captured_once_and_a_late_root_is_read_from_slack(
    capturing: RunningApp, fake_slack: FakeSlack
) -> None:
    app = capturing
    send_event(app, customer_event(ROOT, "first"), event_id="EvSame")
    send_event(app, customer_event(ROOT, "first"), event_id="EvSame")  # Slack's retry
    assert len(capture_posts(app)) == 1
    # A reply whose root's event never came: the root is read from Slack and logged first.
    late_root = "1800000002.000100"
    fake_slack.add_message(CHANNEL, customer_event(late_root, "the lost root"))
    send_event(app, customer_event("1800000002.000200", "and a reply", thread_ts=late_root))
    settle(app.runtime)
    texts = [m.body_text for m in logged(app)]
    assert texts == ["first", "the lost root", "and a reply"]


def test_the_first_edit_of_a_logged_message_gets_a_note_once(
    capturing: RunningApp, fake_slack: FakeSlack
) -> None:
    app = capturing
    send_event(app, customer_event(ROOT, "Hi"))
    settle(app.runtime)

    def edit(text: str, before: str) -> dict[str, Any]:
        return {
            "type": "message",
            "subtype": "message_changed",
            "channel": CHANNEL,
            "hidden": True,
            "ts": "1800000009.000001",
            "message": {**customer_event(ROOT, text), "edited": {"user": "UEXT", "ts": "1"}},
            "previous_message": customer_event(ROOT, before),
        }

    send_event(app, edit("Hi there", "Hi"))
    send_event(app, edit("Hi there!", "Hi there"))
    unfurled = edit("Hi there!", "Hi there!")  # a link unfurled: not an edit
    send_event(app, unfurled)
    settle(app.runtime)
    (note,) = fake_slack.called("chat.postMessage")
    assert note["thread_ts"] == ROOT and "edited in Slack after it went to Front" in note["text"]
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": CHANNEL,
        "hidden": True,
        "deleted_ts": ROOT,
        "ts": "1800000009.000002",
    }
    send_event(app, deleted)  # not synced, nothing said
    settle(app.runtime)
    assert len(fake_slack.called("chat.postMessage")) == 1


def test_the_capture_emoji_logs_the_message_as_the_shortcut_would(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = linked
    fake_slack.add_user("UADMIN", name="Ann Admin", is_admin=True)
    switchboard(app, "capture emoji")
    message = fake_slack.add_message(CHANNEL, customer_event(ROOT, "Please call me back"))
    send_event(app, customer_event(ROOT, "Please call me back"))  # not captured in emoji mode

    def reaction(name: str, user: str = "U1") -> dict[str, Any]:
        return {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": CHANNEL, "ts": message["ts"]},
            "item_user": "UEXT",
            "event_ts": "1800000003.000001",
        }

    send_event(app, reaction("eyes"))  # another emoji: nothing
    send_event(app, reaction("ticket"))
    send_event(app, reaction("ticket", user="U2"))  # again: it is logged already
    settle(app.runtime)
    (message_row,) = logged(app)
    assert (message_row.direction, message_row.logged_by) == ("inbound", "U1")
    told = fake_slack.called("chat.postEphemeral")
    assert len(told) == 2, told
    first, second = told
    assert first["user"] == "U1" and "Logged to Front" in json.dumps(first["blocks"])
    assert second["user"] == "U2" and "already in Front" in second["text"]

    assert deliver(app).delivered == 1
    (got,) = sim.state.requests("sync_inbound_message")
    assert got["body"]["sender"]["handle"] == "ada@customer.example"
    assert fake_slack.called("reactions.add") == [
        {"channel": CHANNEL, "timestamp": ROOT, "name": "inbox_tray"}
    ]


def test_files_a_customer_shares_are_captured_and_a_calls_audio_is_still_offered(
    capturing: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = capturing
    photo = fake_slack.add_file("FPHOTO", "broken.png", b"\x89PNG not much", "image/png")
    send_event(
        app, customer_event(ROOT, "It arrived like this", subtype="file_share", files=[photo])
    )
    # A call's thread: its audio file goes on to the calls feature's file_share listener.
    card = "1800000005.000100"
    with session_scope(app.runtime.engine) as s:
        s.add(
            ThreadLink(
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                thread_ts=card,
                kind="call",
                external_id="call-ext-9",
                front_channel_id="cha_123",
            )
        )
        s.add(
            Call(
                external_call_id="call-ext-9",
                parent_external_call_id="call-ext-9",
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                front_channel_id="cha_123",
                card_ts=card,
                thread_ts=card,
                direction="inbound",
                party_handle="+33612345678",
                status="connected",
                started_at=datetime.now(UTC),
                created_by="U1",
            )
        )
    audio = fake_slack.add_file("FWAV", "voicemail.wav", b"RIFF....WAVE", "audio/wav")
    send_event(
        app,
        customer_event(
            "1800000005.000200", "", thread_ts=card, subtype="file_share", files=[audio]
        ),
    )
    (offer,) = fake_slack.wait_for("chat.postEphemeral")
    assert (offer["user"], offer["thread_ts"]) == ("UEXT", card)
    assert "voicemail.wav" in offer["text"]

    settle(app.runtime)
    (root,) = logged(app)
    assert (root.body_text, root.file_count) == ("It arrived like this", 1)
    assert deliver(app).delivered == 1
    (got,) = sim.state.requests("sync_inbound_message")
    assert [f["filename"] for f in got["files"]] == ["broken.png"]
