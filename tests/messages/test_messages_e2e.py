"""Logging messages end to end: signed Slack requests in, fake Slack and the outbox out."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from bot.delivery.hooks import OutboxRowSnapshot
from bot.features.messages.cards import on_delivery_ended
from bot.features.messages.ids import MessageIds
from storage.engine import session_scope
from storage.models import LoggedMessage, OutboxFile, OutboxRow, SlackPost, ThreadLink
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import FakeSlack
from tests.messages.conftest import Sim, deliver
from tests.messages.payloads import (
    CHANNEL,
    block_actions,
    find_button,
    form_values,
    initial_values,
    message_action,
    view_submission,
)
from tests.messages.spec import assert_valid

ROOT = "1700000000.000100"
REPLY = "1700000100.000200"
ids = MessageIds


def rows(app: RunningApp) -> list[OutboxRow]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def wait_rows(app: RunningApp, count: int, timeout: float = 5.0) -> list[OutboxRow]:
    """Rows are written after the ack: wait for them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = rows(app)
        if len(got) >= count:
            return got
        time.sleep(0.01)
    raise AssertionError(f"{len(rows(app))} outbox rows, wanted {count}")


def shortcut_form(app: RunningApp, fake: FakeSlack, message: dict[str, Any]) -> dict[str, Any]:
    """Run the shortcut on `message` and return the form it ends up showing."""
    before = len(fake.called("views.update"))
    opens = len(fake.called("views.open"))
    payload = message_action(message)
    assert app.interact(payload).status_code == 200
    opened = fake.wait_for("views.open", opens + 1)[-1]
    assert opened["trigger_id"] == payload["trigger_id"]
    update = fake.wait_for("views.update", before + 1)[-1]
    return dict(update["view"])


def customer_message(ts: str = ROOT, **extra: Any) -> dict[str, Any]:
    return {
        "user": "UEXT",
        "user_team": "T9",
        "source_team": "T9",
        "team": "T9",
        "ts": ts,
        "text": "Hi *team*, my order &lt;#42&gt; is late: <https://shop.test/o/42|order> cc <@U1>",
        **extra,
    }


def test_shortcut_on_a_customers_message_logs_it_inbound(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = linked
    form = shortcut_form(app, fake_slack, customer_message())
    assert form["callback_id"] == ids.form_view
    shown = initial_values(form)
    assert shown[ids.direction_block] == "inbound"
    assert shown[ids.handle_block] == "ada@customer.example"
    assert shown[ids.name_block] == "Ada Customer"
    assert shown[ids.email_block] == "ada@customer.example"
    assert shown[ids.body_block] == (
        "Hi *team*, my order <#42> is late: <https://shop.test/o/42|order> cc @Bob Agent"
    )
    assert ids.files_block not in shown

    values = form_values(
        handle=shown[ids.handle_block],
        name=shown[ids.name_block],
        email=shown[ids.email_block],
        body=shown[ids.body_block],
        subject="Late order",
    )
    resp = app.interact(view_submission(form, values))
    assert resp.status_code == 200 and not resp.content  # the modal closes
    (row,) = wait_rows(app, 1)
    assert row.operation == "sync_inbound_message"
    assert_valid(row.operation, row.payload)
    assert row.payload == {
        "sender": {
            "handle": "ada@customer.example",
            "name": "Ada Customer",
            "email": "ada@customer.example",
        },
        "subject": "Late order",
        "body": "<div>Hi <b>team</b>, my order &lt;#42&gt; is late: "
        '<a href="https://shop.test/o/42">order</a> cc @Bob Agent</div>',
        "metadata": {
            "external_id": f"slack:T1:{CHANNEL}:{ROOT}",
            "external_conversation_id": f"slack-thread:T1:{CHANNEL}:{ROOT}",
        },
        "delivered_at": 1700000000,
    }
    assert row.lane == f"conversation:cha_123:slack-thread:T1:{CHANNEL}:{ROOT}"
    (note,) = fake_slack.wait_for("chat.postEphemeral")
    assert note["user"] == "U1" and note["channel"] == CHANNEL
    assert "Logged to Front as received from Ada Customer" in note["blocks"][0]["text"]["text"]
    assert find_button(note["blocks"], ids.mark_failed) is None  # inbound: nothing to fail
    assert fake_slack.called("chat.postMessage") == []  # nothing the customer would see
    with session_scope(app.runtime.engine, readonly=True) as s:
        (link,) = s.exec(select(ThreadLink)).all()
    assert (link.kind, link.thread_ts) == ("conversation", ROOT)

    # Through the outbox to Front (the simulator checks every request against the spec).
    assert deliver(app).delivered == 1
    (received,) = sim.state.requests("sync_inbound_message")
    assert received["body"] == row.payload and received["channel_id"] == "cha_123"
    # Front has it: everyone sees the reaction on the Slack message.
    (reaction,) = fake_slack.called("reactions.add")
    assert reaction == {"channel": CHANNEL, "timestamp": ROOT, "name": "inbox_tray"}
    (message,) = logged(app)
    assert message.delivery_state == "delivered" and message.message_uid


def test_a_reply_in_the_thread_joins_the_conversation(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = linked
    form = shortcut_form(app, fake_slack, customer_message())
    app.interact(view_submission(form, form_values(handle="ada@customer.example", body="first")))
    wait_rows(app, 1)

    # A teammate's answer in the thread: outbound, to the conversation's customer.
    reply = {"user": "U2", "user_team": "T1", "ts": REPLY, "thread_ts": ROOT, "text": "On it"}
    form = shortcut_form(app, fake_slack, reply)
    shown = initial_values(form)
    assert shown[ids.direction_block] == "outbound"
    assert (shown[ids.handle_block], shown[ids.name_block]) == ("ada@customer.example", None)
    values = form_values(direction="outbound", handle="ada@customer.example", body="On it")
    app.interact(view_submission(form, values, user_id="U1"))
    first, second = wait_rows(app, 2)
    assert second.operation == "sync_outbound_message"
    assert_valid(second.operation, second.payload)
    assert second.lane == first.lane
    assert second.payload["metadata"] == {
        "external_id": f"slack:T1:{CHANNEL}:{REPLY}",
        "external_conversation_id": f"slack-thread:T1:{CHANNEL}:{ROOT}",
        "referenced_message_external_id": f"slack:T1:{CHANNEL}:{ROOT}",
    }
    # The Slack author sent it (the person logging it is someone else).
    assert second.payload["author_id"] == "alt:email:cleo@acme.example"
    assert second.payload["sender_name"] == "Cleo Agent"
    assert second.payload["to"] == [{"handle": "ada@customer.example"}]
    assert second.payload["delivered_at"] == 1700000100
    notes = fake_slack.wait_for("chat.postEphemeral", 2)
    assert notes[-1]["thread_ts"] == ROOT
    button = find_button(notes[-1]["blocks"], ids.mark_failed)
    assert button is not None and button["value"] == f"slack:T1:{CHANNEL}:{REPLY}"

    assert deliver(app).delivered == 2
    sent = sim.state.requests()
    assert [r["operation"] for r in sent] == ["sync_inbound_message", "sync_outbound_message"]
    assert sent[1]["body"]["metadata"] == second.payload["metadata"]
    assert [r["timestamp"] for r in fake_slack.called("reactions.add")] == [ROOT, REPLY]


def test_the_same_message_twice_goes_to_front_once(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = linked
    first = shortcut_form(app, fake_slack, customer_message())
    second = shortcut_form(app, fake_slack, customer_message())  # opened before either is sent
    values = form_values(handle="ada@customer.example", body="hello")
    app.interact(view_submission(first, values))
    wait_rows(app, 1)
    app.interact(view_submission(second, values))
    notes = fake_slack.wait_for("chat.postEphemeral", 2)
    assert "already in Front channel `cha_123`" in notes[-1]["text"]
    assert "https://acme.slack.com/archives/C1/p1700000000000100" in notes[-1]["text"]
    # Once logged, the shortcut says where it went instead of offering the form again.
    notice = shortcut_form(app, fake_slack, customer_message())
    assert notice["title"]["text"] == "Already in Front"
    assert "already in Front channel `cha_123`" in notice["blocks"][0]["text"]["text"]
    assert len(rows(app)) == 1
    deliver(app)
    assert sim.state.stats()["accepted"] == {"sync_inbound_message": 1}


def test_a_second_log_of_a_message_whose_files_are_gone_says_where_it_went(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    files = [fake_slack.add_file("F1", "invoice.pdf", b"%PDF-1.4", "application/pdf")]
    message = customer_message(files=files)
    first = shortcut_form(app, fake_slack, message)
    second = shortcut_form(app, fake_slack, message)  # opened before either is sent
    values = form_values(handle="ada@customer.example", body="hello", include_files=True)
    app.interact(view_submission(first, values))
    wait_rows(app, 1)
    fake_slack.files.clear()  # deleted in Slack since
    app.interact(view_submission(second, values))
    notes = fake_slack.wait_for("chat.postEphemeral", 2)
    # It is in Front: the person hears where, not that nothing was logged.
    assert "already in Front channel `cha_123`" in notes[-1]["text"]
    assert "https://acme.slack.com/archives/C1/p1700000000000100" in notes[-1]["text"]
    assert not any("Nothing was logged" in n["text"] for n in notes)
    assert len(rows(app)) == 1


def test_logmsg_normalises_the_phone_number_and_posts_a_card(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    assert app.command("/logmsg", "06 12 34 56 78").status_code == 200
    (opened,) = fake_slack.wait_for("views.open")
    form = opened["view"]
    assert initial_values(form)[ids.handle_block] == "06 12 34 56 78"

    bad = form_values(handle="+33 6 12", body="Bonjour")
    resp = app.interact(view_submission(form, bad))
    assert resp.json()["response_action"] == "errors"
    assert ids.handle_block in resp.json()["errors"]
    bad = form_values(handle="06 12 34 56 78", email="not mail", body="Bonjour")
    assert ids.email_block in app.interact(view_submission(form, bad)).json()["errors"]
    assert rows(app) == []

    good = form_values(handle="06 12 34 56 78", name="Ada", body="Bonjour *Ada*")
    app.interact(view_submission(form, good, user_id="U2"))
    (row,) = wait_rows(app, 1)
    # The message is stored first, then its card is posted (and its ts recorded).
    (card,) = fake_slack.wait_for("chat.postMessage")
    assert card["channel"] == CHANNEL and "thread_ts" not in card
    (message,) = settled(app)
    card_ts = message.card_ts
    assert card_ts is not None and message.thread_ts == card_ts
    assert_valid(row.operation, row.payload)
    assert row.payload["sender"] == {"handle": "+33612345678", "name": "Ada"}
    assert row.payload["body"] == "<div>Bonjour <b>Ada</b></div>"
    # Its ids were made when it was submitted (not from the card, posted afterwards).
    token = message.external_id.removeprefix(f"slack:T1:{CHANNEL}:")
    assert token.startswith("logmsg-")
    assert row.payload["metadata"] == {
        "external_id": f"slack:T1:{CHANNEL}:{token}",
        "external_conversation_id": f"slack-thread:T1:{CHANNEL}:{token}",
    }
    text = card["blocks"][0]["text"]["text"]
    assert "Received from" in text and "Ada" in text and "+33 6 12 34 56 78" in text

    # The card's "Add message" continues the conversation in its thread.
    app.interact(block_actions(ids.add_message, message_ts=card_ts))
    form = fake_slack.wait_for("views.update")[-1]["view"]
    shown = initial_values(form)
    assert (shown[ids.handle_block], shown[ids.name_block]) == ("+33612345678", "Ada")
    values = form_values(direction="outbound", handle="+33612345678", name="Ada", body="Merci")
    app.interact(view_submission(form, values, user_id="U1"))
    first, second = wait_rows(app, 2)
    reply = fake_slack.wait_for("chat.postMessage", 2)[-1]
    assert reply["thread_ts"] == card_ts
    assert second.lane == first.lane
    assert second.payload["to"] == [{"handle": "+33612345678", "name": "Ada"}]
    assert second.payload["author_id"] == "alt:email:bob@acme.example"
    assert second.payload["sender_name"] == "Bob Agent"
    assert (
        second.payload["metadata"]["referenced_message_external_id"]
        == (first.payload["metadata"]["external_id"])
    )
    assert (
        second.payload["metadata"]["external_conversation_id"]
        == (first.payload["metadata"]["external_conversation_id"])
    )
    assert find_button(reply["blocks"], ids.mark_failed) is not None


def logged(app: RunningApp) -> list[LoggedMessage]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(LoggedMessage).order_by(LoggedMessage.id)))  # type: ignore[arg-type]


def settled(app: RunningApp) -> list[LoggedMessage]:
    """The logged messages once the Slack posts queued so far are in Slack (a /logmsg
    card's ts is stored when its post is done)."""
    settle(app.runtime)
    return logged(app)


def outbox_files(app: RunningApp, row: OutboxRow) -> list[tuple[str, str, bytes | None]]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        files = s.exec(
            select(OutboxFile).where(OutboxFile.outbox_id == row.id).order_by(OutboxFile.position)  # type: ignore[arg-type]
        ).all()
    return [(f.filename, f.content_type, f.data) for f in files]


def test_message_files_go_to_front_as_multipart(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = linked
    files = [
        fake_slack.add_file("F1", "invoice.pdf", b"%PDF-1.4 invoice", "application/pdf"),
        fake_slack.add_file("F2", "photo.png", b"\x89PNG photo", "image/png"),
    ]
    form = shortcut_form(app, fake_slack, customer_message(files=files, text=""))
    shown = initial_values(form)
    assert shown[ids.files_block] == ["yes"]  # included unless unticked
    assert "Include the 2 files" in form["blocks"][-1]["element"]["options"][0]["text"]["text"]
    values = form_values(handle="ada@customer.example", include_files=True)
    app.interact(view_submission(form, values))
    (row,) = wait_rows(app, 1)
    assert outbox_files(app, row) == [
        ("invoice.pdf", "application/pdf", b"%PDF-1.4 invoice"),
        ("photo.png", "image/png", b"\x89PNG photo"),
    ]
    # No text: the body names the files rather than being empty.
    assert row.payload["body"] == "<div>invoice.pdf, photo.png</div>"
    assert_valid(row.operation, row.payload)
    note = fake_slack.wait_for("chat.postEphemeral")[-1]
    assert "with 2 files" in note["blocks"][0]["text"]["text"]

    assert deliver(app).delivered == 1
    (received,) = sim.state.requests("sync_inbound_message")
    assert [
        (f["field"], f["filename"], f["content_type"], f["size"]) for f in received["files"]
    ] == [
        ("attachments[0]", "invoice.pdf", "application/pdf", 16),
        ("attachments[1]", "photo.png", "image/png", 10),
    ]
    assert received["body"]["metadata"] == row.payload["metadata"]
    assert received["body"]["sender"] == row.payload["sender"]


def test_logmsg_uploads_are_queued(linked: RunningApp, fake_slack: FakeSlack) -> None:
    app = linked
    app.command("/logmsg")
    form = fake_slack.wait_for("views.open")[-1]["view"]
    upload = fake_slack.add_file("F7", "screenshot.jpg", b"\xff\xd8 jpeg", "image/jpeg")
    values = form_values(handle="+44 20 7946 0958", body="See the picture", uploads=[upload])
    app.interact(view_submission(form, values))
    (row,) = wait_rows(app, 1)
    assert row.payload["sender"] == {"handle": "+442079460958"}
    assert outbox_files(app, row) == [("screenshot.jpg", "image/jpeg", b"\xff\xd8 jpeg")]
    card = fake_slack.wait_for("chat.postMessage")[-1]
    assert ":paperclip: 1 file" in card["blocks"][1]["elements"][0]["text"]


def test_a_message_that_cannot_be_logged_after_the_ack_is_told_with_what_was_typed(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    app.command("/logmsg")
    form = fake_slack.wait_for("views.open")[-1]["view"]
    upload = fake_slack.add_file("F7", "screenshot.jpg", b"\xff\xd8 jpeg", "image/jpeg")
    del fake_slack.files["F7"]  # gone from Slack before the message could be gathered
    values = form_values(handle="+33612345678", body="Line one\nLine *two*", uploads=[upload])
    resp = app.interact(view_submission(form, values, user_id="U2"))
    assert resp.status_code == 200 and not resp.content  # stored, then acked
    (told,) = fake_slack.wait_for("chat.postEphemeral")
    assert told["user"] == "U2" and told["channel"] == CHANNEL
    assert told["text"].startswith("Nothing was logged to Front: ")
    assert "screenshot.jpg" in told["text"]
    assert "> Line one\n> Line *two*" in told["text"]
    settle(app.runtime)
    assert rows(app) == [] and logged(app) == []
    assert fake_slack.called("chat.postMessage") == []  # no card for what is not logged


def test_files_over_25_mb_are_answered_before_anything_is_queued(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    big = [
        {**fake_slack.add_file("F1", "video.mp4", b"0", "video/mp4"), "size": 20 * 2**20},
        {**fake_slack.add_file("F2", "more.mp4", b"1", "video/mp4"), "size": 10 * 2**20},
    ]
    form = shortcut_form(app, fake_slack, customer_message(files=big))
    values = form_values(handle="ada@customer.example", body="two videos", include_files=True)
    resp = app.interact(view_submission(form, values))
    errors = resp.json()["errors"]
    assert list(errors) == [ids.files_block]
    assert "30.0 MB" in errors[ids.files_block] and "Untick" in errors[ids.files_block]
    assert rows(app) == []
    assert not [c for c in fake_slack.calls if c.method.startswith("files")]  # nothing fetched

    # The choice offered: log it without the files.
    values = form_values(handle="ada@customer.example", body="two videos", include_files=False)
    assert not app.interact(view_submission(form, values)).content
    (row,) = wait_rows(app, 1)
    assert outbox_files(app, row) == []

    # /logmsg uploads are checked the same way.
    app.command("/logmsg")
    form = fake_slack.wait_for("views.open", 2)[-1]["view"]
    values = form_values(handle="+33612345678", body="x", uploads=big)
    errors = app.interact(view_submission(form, values)).json()["errors"]
    assert "Remove some" in errors[ids.files_block]


def test_mark_an_outbound_message_as_failed(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = linked
    ours = {"user": "U1", "user_team": "T1", "ts": ROOT, "text": "Your refund is on its way"}
    form = shortcut_form(app, fake_slack, ours)
    values = form_values(direction="outbound", handle="+33612345678", body="Your refund")
    app.interact(view_submission(form, values))
    (sent,) = wait_rows(app, 1)
    note = fake_slack.wait_for("chat.postEphemeral")[-1]
    button = find_button(note["blocks"], ids.mark_failed)
    assert button is not None

    click = block_actions(ids.mark_failed, value=button["value"], message_ts="1.2", ephemeral=True)
    app.interact(click)
    modal = fake_slack.wait_for("views.open", 2)[-1]["view"]
    assert modal["callback_id"] == ids.mark_failed_view
    empty = {ids.reason_block: {ids.reason_input: {"type": "plain_text_input", "value": " "}}}
    assert ids.reason_block in app.interact(view_submission(modal, empty)).json()["errors"]
    reason = {
        ids.reason_block: {ids.reason_input: {"type": "plain_text_input", "value": "Bounced"}}
    }
    app.interact(view_submission(modal, reason, user_id="U2"))
    _, status = wait_rows(app, 2)
    assert status.operation == "update_external_message_status"
    assert status.payload == {"status": "failed", "reason": "Bounced"}
    assert_valid(status.operation, status.payload)
    assert status.path == {
        "conv_ext_id": sent.payload["metadata"]["external_conversation_id"],
        "message_ext_id": sent.payload["metadata"]["external_id"],
    }
    assert status.lane == sent.lane  # after the message itself
    told = fake_slack.wait_for("chat.postEphemeral", 2)[-1]
    assert told["user"] == "U2" and "Marked as failed" in told["text"]

    # A second time (U1, from the confirmation too): told who did it in the modal itself,
    # nothing queued.
    app.interact(
        block_actions(ids.mark_failed, value=button["value"], message_ts="1.2", ephemeral=True)
    )
    again = fake_slack.wait_for("views.open", 3)[-1]["view"]
    resp = app.interact(view_submission(again, reason, user_id="U1"))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {ids.reason_block: "<@U2> already marked this message as failed."},
    }
    assert len(rows(app)) == 2
    settle(app.runtime)
    assert len(fake_slack.called("chat.postEphemeral")) == 2

    assert deliver(app).delivered == 2
    (call,) = sim.state.requests("update_external_message_status")
    assert call["path_params"] == status.path
    assert call["body"] == {"status": "failed", "reason": "Bounced"}


def test_mark_failed_from_a_card_updates_the_card(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    app.command("/logmsg")
    form = fake_slack.wait_for("views.open")[-1]["view"]
    values = form_values(direction="outbound", handle="+33612345678", body="Rendez-vous à 10h")
    app.interact(view_submission(form, values))
    wait_rows(app, 1)
    card = fake_slack.wait_for("chat.postMessage")[-1]
    (message,) = settled(app)
    card_ts = message.card_ts
    button = find_button(card["blocks"], ids.mark_failed)
    # The message's id is made at submission, before its card: the button names it.
    assert button is not None and button["value"] == message.external_id
    app.interact(block_actions(ids.mark_failed, value=button["value"], message_ts=card_ts))
    modal = fake_slack.wait_for("views.open", 2)[-1]["view"]
    reason = {
        ids.reason_block: {ids.reason_input: {"type": "plain_text_input", "value": "No signal"}}
    }
    app.interact(view_submission(modal, reason))
    _, status = wait_rows(app, 2)
    assert status.payload == {"status": "failed", "reason": "No signal"}
    (update,) = fake_slack.wait_for("chat.update")
    assert update["ts"] == card_ts
    context = update["blocks"][1]["elements"][0]["text"]
    assert "Marked as failed by <@U1>: No signal" in context
    assert find_button(update["blocks"], ids.mark_failed) is None


def test_unlinked_channels_are_answered(app: RunningApp, fake_slack: FakeSlack) -> None:
    notice = shortcut_form(app, fake_slack, customer_message())
    assert "not connected to Front" in notice["blocks"][0]["text"]["text"]
    app.command("/logmsg")
    update = fake_slack.wait_for("views.update", 2)[-1]
    assert "not connected to Front" in update["view"]["blocks"][0]["text"]["text"]
    # A form submitted all the same (opened before the channel was unlinked) is answered
    # in the modal, with what was typed still there.
    form = fake_slack.wait_for("views.open", 2)[-1]["view"]
    resp = app.interact(view_submission(form, form_values(handle="+33612345678", body="Hi")))
    errors = resp.json()["errors"]
    assert list(errors) == [ids.body_block] and "not connected to Front" in errors[ids.body_block]
    assert rows(app) == []


def test_hooks_are_idempotent(linked: RunningApp, fake_slack: FakeSlack) -> None:
    app = linked
    form = shortcut_form(app, fake_slack, customer_message())
    app.interact(view_submission(form, form_values(handle="ada@customer.example", body="hi")))
    wait_rows(app, 1)
    deliver(app)
    assert len(fake_slack.called("reactions.add")) == 1
    # At-least-once delivery: a hook may run twice, and its reaction meet already_reacted.
    fake_slack.respond("reactions.add", lambda _args: {"ok": False, "error": "already_reacted"})
    (row,) = rows(app)
    with session_scope(app.runtime.engine) as s:
        on_delivery_ended(s, OutboxRowSnapshot.of(row))
    settle(app.runtime)
    assert len(fake_slack.called("reactions.add")) == 2
    assert fake_slack.called("chat.update") == []  # no card for a Slack message
    with session_scope(app.runtime.engine, readonly=True) as s:
        reactions = [p for p in s.exec(select(SlackPost)) if p.kind == "message.react"]
    assert [p.status for p in reactions] == ["done", "done"]  # already_reacted is no failure


def test_cards_show_the_delivery_state(linked: RunningApp, fake_slack: FakeSlack) -> None:
    app = linked
    for body in ("Allô", "Broken"):
        app.command("/logmsg")
        form = fake_slack.wait_for("views.open", 2 if body == "Broken" else 1)[-1]["view"]
        app.interact(view_submission(form, form_values(handle="+33612345678", body=body)))
    good, bad = wait_rows(app, 2)
    cards = fake_slack.wait_for("chat.postMessage", 2)
    settle(app.runtime)  # the cards' ts are stored
    assert all("Queued for Front" in c["blocks"][1]["elements"][0]["text"] for c in cards)
    with session_scope(app.runtime.engine) as s:
        row = s.get(OutboxRow, bad.id)
        assert row is not None
        row.payload = {**row.payload, "body": 42}  # Front would refuse this for good
    stats = deliver(app)
    assert (stats.delivered, stats.failed) == (1, 1)
    first, second = logged(app)
    updates = {u["ts"]: u for u in fake_slack.called("chat.update")}
    assert "In Front" in updates[first.card_ts]["blocks"][1]["elements"][0]["text"]
    assert "delivery failed" in updates[second.card_ts]["blocks"][1]["elements"][0]["text"]
    assert fake_slack.called("reactions.add") == []  # the card is the record, not a message


def test_already_logged_notice_offers_mark_as_failed(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    ours = {"user": "U1", "user_team": "T1", "ts": ROOT, "text": "Sent you the quote"}
    form = shortcut_form(app, fake_slack, ours)
    values = form_values(direction="outbound", handle="+33612345678", body="The quote")
    app.interact(view_submission(form, values))
    wait_rows(app, 1)
    notice = shortcut_form(app, fake_slack, ours)
    assert notice["title"]["text"] == "Already in Front"
    button = find_button(notice["blocks"], ids.mark_failed)
    assert button is not None
    app.interact(block_actions(ids.mark_failed, value=button["value"], view=notice))
    (pushed,) = fake_slack.wait_for("views.push")
    modal = pushed["view"]
    reason = {ids.reason_block: {ids.reason_input: {"type": "plain_text_input", "value": "Typo"}}}
    resp = app.interact(view_submission(modal, reason, previous_view_id="V0"))
    assert resp.json() == {"response_action": "clear"}
    _, status = wait_rows(app, 2)
    assert status.payload == {"status": "failed", "reason": "Typo"}


def test_many_files_are_looked_up_again_when_the_modal_cannot_carry_them(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    files = {
        f"F{i}": fake_slack.add_file(f"F{i}", f"{'long-name-' * 18}{i}.txt", f"#{i}".encode())
        for i in range(12)
    }
    fake_slack.respond("files.info", lambda args: {"ok": True, "file": files[args["file"]]})
    form = shortcut_form(app, fake_slack, customer_message(files=list(files.values())))
    assert len(form["private_metadata"]) <= 3000
    assert '"file_ids"' in form["private_metadata"]
    values = form_values(handle="ada@customer.example", body="logs", include_files=True)
    app.interact(view_submission(form, values))
    (row,) = wait_rows(app, 1)
    assert [data for _n, _t, data in outbox_files(app, row)] == [
        f"#{i}".encode() for i in range(12)
    ]
    assert len(fake_slack.called("files.info")) == 12


def test_a_message_too_long_to_edit_is_logged_whole(
    linked: RunningApp, fake_slack: FakeSlack
) -> None:
    app = linked
    text = "*Logs*\n" + "line &lt;x&gt;\n" * 400
    long = customer_message(REPLY, thread_ts=ROOT, text=text)
    fake_slack.respond(
        "conversations.replies",
        lambda args: {"ok": True, "messages": [customer_message(ROOT), long]},
    )
    form = shortcut_form(app, fake_slack, long)
    assert ids.body_block not in initial_values(form)  # no input: read-only preview
    assert "too long to edit here" in str(form["blocks"])
    app.interact(view_submission(form, form_values(handle="ada@customer.example")))
    (row,) = wait_rows(app, 1)
    assert row.payload["body"].startswith("<div><b>Logs</b><br>line &lt;x&gt;<br>")
    assert row.payload["body"].count("line &lt;x&gt;") == 400
    (asked,) = fake_slack.called("conversations.replies")
    assert (asked["ts"], asked["oldest"], asked["latest"]) == (ROOT, REPLY, REPLY)


def test_the_shortcut_continues_a_logmsg_conversation(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = linked
    app.command("/logmsg")
    form = fake_slack.wait_for("views.open")[-1]["view"]
    app.interact(view_submission(form, form_values(handle="+33612345678", name="Ada", body="Hi")))
    (first,) = wait_rows(app, 1)
    card_ts = settled(app)[0].card_ts
    assert card_ts is not None
    # A teammate pastes the customer's next SMS in the card's thread and logs it.
    pasted = {
        "user": "U2",
        "user_team": "T1",
        "ts": "1999999999.000001",
        "thread_ts": card_ts,
        "text": "She answered: tomorrow is fine",
    }
    form = shortcut_form(app, fake_slack, pasted)
    shown = initial_values(form)
    assert (shown[ids.handle_block], shown[ids.name_block]) == ("+33612345678", "Ada")
    values = form_values(handle="+33612345678", name="Ada", body=shown[ids.body_block])
    app.interact(view_submission(form, values))
    _, second = wait_rows(app, 2)
    assert second.lane == first.lane
    assert (
        second.payload["metadata"]["referenced_message_external_id"]
        == (first.payload["metadata"]["external_id"])
    )
    assert deliver(app).delivered == 2
    assert sim.state.stats()["accepted"] == {"sync_inbound_message": 2}
