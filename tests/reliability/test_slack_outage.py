"""Finding 4: Slack answering 500 or 429 lost the work done after the ack: the call card
never appeared, a /logmsg message was dropped with what was typed, a failure alert was
never posted. Every post is a stored row: retried with backoff on a 5xx, after Retry-After
on a 429 (not counted as an attempt), and posted once Slack answers again.

Retry timing is read from the stored post (`next_attempt_at`, `attempts`), and the clock is
moved on by making waiting posts due (`poke`): no test waits out a backoff."""

from __future__ import annotations

import json
from datetime import timedelta

from storage.models import SlackPost, utcnow
from tests.calls.payloads import click
from tests.helpers.app import RunningApp
from tests.helpers.delivery import deliver, settle
from tests.helpers.fake_slack import FakeSlack, Fault
from tests.reliability.conftest import Sim
from tests.reliability.flows import (
    calls,
    card_calls,
    message_payload,
    messages,
    open_logmsg,
    outbox,
    poke,
    posts,
    submit_call,
    wait_until,
)

CARD = "call.card"


def failed_once_more(app: RunningApp, kind: str, attempts: int, error: str) -> SlackPost:
    """Wait until the `kind` post has been tried and put back with `error`."""

    def tried() -> SlackPost | None:
        for post in posts(app, kind):
            if post.status == "pending" and post.last_error and error in post.last_error:
                if post.attempts >= attempts:
                    return post
        return None

    found: SlackPost = wait_until(tried, what=f"{kind} retried after {error!r}")
    return found


def test_a_call_logged_while_slack_fails_goes_to_front_at_once_and_its_card_later(
    live: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    fake_slack.fail_always("chat.postMessage", Fault(500))
    resp = live.interact(submit_call(name="Ada"))
    assert resp.status_code == 200 and resp.text == ""
    (call,) = calls(live)  # stored in the ack
    # Front hears of it now: nothing waits on the card.
    deliver(live.runtime)
    assert [r["body"]["external_call_id"] for r in sim.state.requests("create_call")] == [
        call.external_call_id
    ]

    # A 5xx: retried with backoff, counted as an attempt.
    post = failed_once_more(live, CARD, 1, "internal_error")
    assert post.next_attempt_at > utcnow()
    counted = post.attempts

    # A 429: Slack's client retries it twice itself; the third goes back to the queue for
    # Slack's Retry-After, not counted as an attempt.
    fake_slack.recover()
    fake_slack.fail(
        "chat.postMessage", Fault(429, retry_after=0), Fault(429, retry_after=0), Fault(429, 30)
    )
    poke(live)
    post = failed_once_more(live, CARD, counted, "rate limited")
    assert post.attempts == counted
    assert post.next_attempt_at >= utcnow() + timedelta(seconds=25)
    assert card_calls(fake_slack) == []

    # Slack answers again: the card, once, showing the call already in Front.
    poke(live)
    (card,) = wait_until(lambda: card_calls(fake_slack), what="the card")
    settle(live.runtime)
    assert len(card_calls(fake_slack)) == 1
    assert "In Front" in json.dumps(card["blocks"])
    (call,) = calls(live)
    assert call.card_ts is not None


def test_a_card_leaves_queued_when_delivered_though_its_update_first_failed(
    live: RunningApp, fake_slack: FakeSlack
) -> None:
    live.interact(submit_call())
    settle(live.runtime)
    (card,) = card_calls(fake_slack)
    assert "Queued for Front" in json.dumps(card["blocks"])
    fake_slack.fail_always("chat.update", Fault(503))
    deliver(live.runtime)  # the delivery hook queues the card's update; Slack refuses it
    failed_once_more(live, CARD, 1, "internal_error")
    fake_slack.recover()
    poke(live)
    (update,) = wait_until(lambda: card_calls(fake_slack, "chat.update"), what="the update")
    assert "In Front" in json.dumps(update["blocks"])
    assert "Queued for Front" not in json.dumps(update["blocks"])


def test_logmsg_keeps_what_was_typed_through_an_outage(
    live: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    form = open_logmsg(live, fake_slack)
    typed = "Bonjour, *urgent*: call me back\nabout invoice 4471"
    fake_slack.set_error_rate(1.0)  # every Web API call answers 500
    resp = live.interact(message_payload(form, name="Ada", body=typed))
    assert resp.status_code == 200 and resp.text == ""
    # Stored before the ack, with the text as typed.
    (log_post,) = posts(live, "message.log")
    assert log_post.args["form"]["body"] == typed
    wait_until(lambda: posts(live, "message.card"), what="the message stored")
    (message,) = messages(live)
    assert message.body_text == typed
    failed_once_more(live, "message.card", 1, "internal_error")

    fake_slack.set_error_rate(0.0)
    poke(live)
    (card,) = wait_until(lambda: fake_slack.succeeded("chat.postMessage"), what="the card")
    section = card["blocks"][0]["text"]["text"]
    assert "> Bonjour, *urgent*: call me back\n> about invoice 4471" in section
    deliver(live.runtime)
    (sent,) = sim.state.requests("sync_inbound_message")
    assert "invoice 4471" in sent["body"]["body"]


def test_a_failure_alert_whose_post_failed_is_posted_once_slack_answers(
    live: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    live.interact(submit_call())
    deliver(live.runtime)
    (call,) = calls(live)
    (card,) = card_calls(fake_slack)
    sim.state.reset()  # Front forgets the call: its next update is refused for good
    message = {"ts": call.card_ts, "blocks": card["blocks"], "text": card["text"]}
    live.interact(click(message, "call_status:connected"))
    wait_until(lambda: outbox(live, "update_call"), what="the update stored")
    fake_slack.fail_always("chat.postMessage", Fault(500))
    deliver(live.runtime)
    (row,) = outbox(live, "update_call")
    assert row.status == "failed" and row.alert_id is not None
    failed_once_more(live, "alert.refresh", 1, "internal_error")

    fake_slack.recover()
    poke(live)

    def alert_posted() -> list[dict[str, object]]:
        return [
            a
            for a in fake_slack.succeeded("chat.postMessage")
            if "delivered to Front" in str(a.get("text"))
        ]

    (alert,) = wait_until(alert_posted, what="the alert")
    assert alert["thread_ts"] == call.card_ts
    settle(live.runtime)
    assert len(alert_posted()) == 1
