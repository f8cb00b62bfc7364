"""A teammate's reply from Front reaches the Slack thread its conversation began in, once,
with its files: the simulator's signed `message` callbacks to the running app, the files
downloaded from the simulator with the app's credentials and uploaded to (fake) Slack."""

from __future__ import annotations

import base64
from typing import Any

import anyio
import httpx
import pytest
from sqlmodel import col, select

from bot.features.messages import reply_files
from bot.frontsim._callbacks import post_callback
from storage.engine import session_scope
from storage.models import LoggedMessage, ThreadLink
from tests.front.simulator import APP_SECRET
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle_all
from tests.helpers.fake_slack import FakeSlack
from tests.messages.conftest import Sim, deliver
from tests.messages.payloads import CHANNEL, TEAM, form_values, view_submission
from tests.messages.test_messages_e2e import shortcut_form

CARD = "1800000100.000100"  # a call card: its thread is tied to the call
IN_THREAD = "1800000100.000200"
CONVERSATION = f"slack-thread:{TEAM}:{CHANNEL}:{CARD}"
PDF = b"%PDF-1.4 the signed quote"


@pytest.fixture
def call_thread(linked: RunningApp, sim: Sim) -> RunningApp:
    # The call is set up in the database (as its card would leave it): what matters here is
    # that the thread is tied to a call, so the conversation has no thread tie of its own.
    with session_scope(linked.runtime.engine) as s:
        s.add(
            ThreadLink(
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                thread_ts=CARD,
                kind="call",
                external_id="call-ext-1",
                front_channel_id="cha_123",
            )
        )
    sim.state.configure(webhook_url=f"{linked.base_url}/front/webhook")
    return linked


def log_customer_message_in_the_call_thread(app: RunningApp, fake: FakeSlack) -> None:
    message = {
        "user": "UEXT",
        "user_team": "T9",
        "ts": IN_THREAD,
        "thread_ts": CARD,
        "text": "Can you send the quote?",
    }
    form = shortcut_form(app, fake, message)
    values = form_values(handle="ada@customer.example", body="Can you send the quote?")
    assert app.interact(view_submission(form, values)).status_code == 200
    settle_all(app.runtime)
    assert deliver(app).delivered == 1  # Front has the conversation now


def reply(sim: Sim, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel_id": "cha_123",
        "external_conversation_id": CONVERSATION,
        "body": "<p>Here it is, <b>signed</b>.</p>",
        "author_email": "grace@acme.example",
        "author_first_name": "Grace",
        "attachments": [
            {
                "filename": "quote.pdf",
                "content_type": "application/pdf",
                "content": base64.b64encode(PDF).decode(),
            }
        ],
        **changes,
    }
    answer = httpx.post(f"{sim.url}/_sim/reply", json=body, timeout=15)
    assert answer.status_code == 200, answer.text
    got: dict[str, Any] = answer.json()
    return got


def test_a_reply_with_a_file_reaches_the_calls_thread_once(
    call_thread: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    app = call_thread
    log_customer_message_in_the_call_thread(app, fake_slack)
    replied = reply(sim)
    front_id = replied["callback"]["payload"]["id"]
    assert replied["status"] == 200
    assert replied["body"]["external_id"] == f"front:{front_id}"
    settle_all(app.runtime)

    (upload,) = fake_slack.uploaded()
    assert (upload["channel_id"], upload["thread_ts"]) == (CHANNEL, CARD)
    assert upload["filename"] == "quote.pdf" and upload["data"] == PDF
    assert "*Grace* replied from Front" in upload["initial_comment"]
    assert "Here it is, signed." in upload["initial_comment"]
    # Downloaded with the app's credentials: the simulator serves files to nobody else.
    assert fake_slack.called("chat.postMessage") == []

    # Front sends the very same callback again: answered the same, nothing posted twice.
    (callback,) = [
        c["callback"] for c in sim.state.callbacks() if c["callback"]["type"] == "message"
    ]
    again = anyio.run(post_callback, f"{app.base_url}/front/webhook", APP_SECRET, callback)
    assert again.status == 200 and again.body == replied["body"]
    settle_all(app.runtime)
    assert len(fake_slack.uploaded()) == 1 and fake_slack.called("chat.postMessage") == []

    # The reply is a message of the conversation: the customer's next message references it.
    with session_scope(app.runtime.engine, readonly=True) as s:
        front = s.exec(select(LoggedMessage).where(LoggedMessage.source == "front")).one()
    assert (front.external_id, front.thread_ts, front.direction) == (
        f"front:{front_id}",
        CARD,
        "outbound",
    )
    later = f"{float(front.slack_ts or 0) + 5:.6f}"
    message = {"user": "UEXT", "user_team": "T9", "ts": later, "thread_ts": CARD, "text": "Thx"}
    form = shortcut_form(app, fake_slack, message)
    app.interact(view_submission(form, form_values(handle="ada@customer.example", body="Thx")))
    settle_all(app.runtime)
    deliver(app)
    last = sim.state.requests("sync_inbound_message")[-1]["body"]
    assert last["metadata"]["external_conversation_id"] == CONVERSATION
    assert last["metadata"]["referenced_message_external_id"] == f"front:{front_id}"


def test_a_file_larger_than_slack_takes_is_named(
    call_thread: RunningApp,
    fake_slack: FakeSlack,
    sim: Sim,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reply_files, "SLACK_MAX_FILE_BYTES", 10)  # the app runs in-process
    log_customer_message_in_the_call_thread(call_thread, fake_slack)
    reply(sim)
    settle_all(call_thread.runtime)
    assert fake_slack.uploaded() == []
    (post,) = fake_slack.called("chat.postMessage")
    assert post["thread_ts"] == CARD
    assert "quote.pdf" in post["text"] and "larger than Slack takes" in post["text"]


def test_front_down_for_a_file_retries_the_post(
    call_thread: RunningApp,
    fake_slack: FakeSlack,
    sim: Sim,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_customer_message_in_the_call_thread(call_thread, fake_slack)
    download = reply_files._download
    failures: list[str] = []

    async def down_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append("503")
            raise reply_files.FrontUnavailable("Front answered 503 for quote.pdf")
        return await download(*args, **kwargs)

    monkeypatch.setattr(reply_files, "_download", down_once)  # the app runs in-process
    reply(sim)
    settle_all(call_thread.runtime, timeout=30)  # the post waits, then goes again
    assert failures == ["503"]
    (upload,) = fake_slack.uploaded()
    assert upload["data"] == PDF and upload["thread_ts"] == CARD


def test_a_shortcut_on_the_reply_says_it_came_from_front(
    call_thread: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    log_customer_message_in_the_call_thread(call_thread, fake_slack)
    reply(sim, attachments=[])
    settle_all(call_thread.runtime)
    (post,) = fake_slack.called("chat.postMessage")
    with session_scope(call_thread.runtime.engine, readonly=True) as s:
        front = s.exec(select(LoggedMessage).where(col(LoggedMessage.source) == "front")).one()
    assert front.card_ts == front.slack_ts  # where it is in Slack now
    shown = shortcut_form(
        call_thread,
        fake_slack,
        {"ts": front.card_ts, "thread_ts": CARD, "bot_id": "B1", "text": "x"},
    )
    assert "written in Front" in str(shown)
    assert post["thread_ts"] == CARD
