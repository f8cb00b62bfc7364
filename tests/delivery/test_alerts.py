"""Failure alerts end to end: the real `serve` app (with its scheduler), signed Slack
requests, the fake Slack Web API and the Front simulator."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.delivery.outbox import SlackContext, conversation_lane, enqueue
from bot.runtime import Runtime
from bot.server import build_server_app
from storage.engine import make_engine, session_scope
from storage.models import DeliveryAlert, DeliveryAlertPost, OutboxRow, Workspace
from tests.delivery.conftest import CHANNEL, Sim, add_call, add_messages, delivery_settings
from tests.helpers.app import RunningApp
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.server import serve_in_thread

ALERTS = "CALERTS"
THREAD = "111.000"


@pytest.fixture
def app(database_url: str, sim: Sim, fake_slack: FakeSlack) -> Iterator[RunningApp]:
    fake_slack.add_user("UADMIN", name="Ada Admin", is_admin=True)
    fake_slack.add_user("U2", name="Bob")
    settings = delivery_settings(
        database_url,
        sim.url,
        slack_api_url=fake_slack.api_url,
        outbox_max_attempts=1,
        flush_interval_seconds=0.1,
    )
    runtime = Runtime(settings=settings, engine=make_engine(database_url))
    with serve_in_thread(build_server_app(settings)) as url:
        yield RunningApp(url, runtime)
    runtime.engine.dispose()


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def alert_posts(rt: Runtime) -> list[DeliveryAlertPost]:
    with session_scope(rt.engine, readonly=True) as s:
        return list(s.exec(select(DeliveryAlertPost).order_by(DeliveryAlertPost.id)))


def shown(fake: FakeSlack, post: DeliveryAlertPost) -> dict[str, Any]:
    """The alert message as Slack shows it now: its last update, else the post itself."""
    updates = [
        a
        for a in fake.called("chat.update")
        if a.get("channel") == post.channel_id and a.get("ts") == post.ts
    ]
    if updates:
        return {**updates[-1], "ts": post.ts}
    sent = [
        a
        for a in fake.called("chat.postMessage")
        if a.get("channel") == post.channel_id
        and (a.get("thread_ts") or "") == post.thread_ts
        and a.get("blocks")
    ]
    return {**sent[-1], "ts": post.ts}


def says(fake: FakeSlack, post: DeliveryAlertPost, text: str) -> bool:
    return text in json.dumps(shown(fake, post)["blocks"])


_CLICKS = itertools.count()


def click(message: dict[str, Any], action_id: str, user_id: str = "U2") -> dict[str, Any]:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                button, block_id = element, block.get("block_id")
                break
        else:
            continue
        break
    else:
        raise AssertionError(f"no {action_id} button in the alert")
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user_id, "team_id": "T1", "name": user_id.lower()},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": f"trig-alert-{uuid.uuid4().hex[:8]}",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel"],
        },
        "channel": {"id": message["channel"], "name": "alerts"},
        "message": {"ts": message["ts"], "blocks": message["blocks"], "type": "message"},
        "response_url": "",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": button["value"],
                # Each click has its own action_ts (the same one again is a replay).
                "action_ts": f"{time.time():.6f}{next(_CLICKS) % 10}",
            }
        ],
    }


def statuses(rt: Runtime) -> dict[int, str]:
    with session_scope(rt.engine, readonly=True) as s:
        return {r.id: r.status for r in s.exec(select(OutboxRow)) if r.id is not None}


def test_alerts_channel_is_set_by_an_admin(app: RunningApp, fake_slack: FakeSlack) -> None:
    # Each answer is the ack's own body (ephemeral to the person), not a post after it.
    refused = app.command("/switchboard", f"alerts <#{ALERTS}|alerts>", user_id="U2")
    assert refused.status_code == 200
    assert "admin" in refused.text
    chosen = app.command("/switchboard", f"alerts <#{ALERTS}|alerts>", user_id="UADMIN")
    assert f"will be reported in <#{ALERTS}>" in chosen.text
    hello = fake_slack.wait_for("chat.postMessage")[-1]
    assert hello["channel"] == ALERTS and "delivery alerts" in hello["text"]
    with session_scope(app.runtime.engine, readonly=True) as s:
        ws = s.get(Workspace, "T1")
        assert ws is not None and ws.alerts_channel_id == ALERTS
    current = app.command("/switchboard", "alerts", user_id="U2")
    assert f"<#{ALERTS}>" in current.text
    assert "not a channel" in app.command("/switchboard", "alerts #nope", user_id="UADMIN").text
    assert fake_slack.called("chat.postEphemeral") == []


def test_a_slack_connect_channel_is_refused_as_alerts_channel(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.respond(
        "conversations.info",
        lambda args: {
            "ok": True,
            "channel": {"id": args.get("channel"), "is_shared": True, "is_ext_shared": True},
        },
    )
    refused = app.command("/switchboard", f"alerts <#{ALERTS}|alerts>", user_id="UADMIN")
    assert "shared with another organisation" in refused.text
    assert not fake_slack.called("chat.postMessage")
    with session_scope(app.runtime.engine, readonly=True) as s:
        ws = s.get(Workspace, "T1")
        assert ws is None or ws.alerts_channel_id is None


def set_alerts_channel(app: RunningApp, fake: FakeSlack) -> None:
    app.command("/switchboard", f"alerts <#{ALERTS}|alerts>", user_id="UADMIN")
    wait_until(lambda: any(a.get("channel") == ALERTS for a in fake.called("chat.postMessage")))


def test_a_failed_delivery_is_alerted_and_retry_delivers_it(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    set_alerts_channel(app, fake_slack)
    sim.state.configure(error_rate=1.0, error_statuses=[503])
    ids = add_call(app.runtime, "c1", ("connected", "hangup"), thread=THREAD)

    # Posted in the alerts channel and in the thread where the call was logged.
    posts = wait_until(
        lambda: (
            len(alert_posts(app.runtime)) == 2
            and all(p.ts for p in alert_posts(app.runtime))
            and alert_posts(app.runtime)
        )
    )
    assert {(p.channel_id, p.thread_ts) for p in posts} == {(ALERTS, ""), ("C1", THREAD)}
    channel_post = next(p for p in posts if p.channel_id == ALERTS)
    message = shown(fake_slack, channel_post)
    text = json.dumps(message["blocks"])
    assert "New call (call c1)" in text and "was not delivered to Front" in text
    assert "503 Service unavailable: injected fault" in text  # Front's words
    assert "1 attempt" in text and "2 later deliveries" in text
    assert "delivery_alert_retry" in text and "delivery_alert_discard" in text
    assert statuses(app.runtime) == {ids[0]: "failed", ids[1]: "pending", ids[2]: "pending"}

    # Front is back; Bob presses Retry in the alerts channel.
    sim.state.configure(error_rate=0.0)
    assert app.interact(click(message, "delivery_alert_retry")).status_code == 200
    wait_until(lambda: set(statuses(app.runtime).values()) == {"delivered"})
    for post in posts:
        wait_until(lambda post=post: says(fake_slack, post, "delivered after retry by <@U2>"))
        assert "delivery_alert_retry" not in json.dumps(shown(fake_slack, post)["blocks"])
    call = sim.state.call(CHANNEL, "c1")
    assert call is not None and call.history == ["ringing", "connected", "hangup"]


def test_discard_drops_the_row_and_lets_its_lane_go_on(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    set_alerts_channel(app, fake_slack)
    sim.state.configure(error_rate=1.0, error_statuses=[502])
    ids = add_messages(app.runtime, "conv-9", 3)
    (post, *_) = wait_until(
        lambda: [p for p in alert_posts(app.runtime) if p.channel_id == ALERTS and p.ts]
    )
    sim.state.configure(error_rate=0.0)
    # U1 logged the messages: they may discard them.
    app.interact(click(shown(fake_slack, post), "delivery_alert_discard", user_id="U1"))
    wait_until(
        lambda: (
            statuses(app.runtime) == {ids[0]: "discarded", ids[1]: "delivered", ids[2]: "delivered"}
        )
    )
    wait_until(lambda: says(fake_slack, post, "discarded by <@U1>"))
    sent = [r["body"]["metadata"]["external_id"] for r in sim.state.requests()]
    assert sent == ["conv-9-m1", "conv-9-m2"]


def test_only_an_admin_or_the_logger_discards(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    set_alerts_channel(app, fake_slack)
    sim.state.configure(error_rate=1.0, error_statuses=[502])
    ids = add_messages(app.runtime, "conv-7", 1)  # logged by U1
    (post, *_) = wait_until(
        lambda: [p for p in alert_posts(app.runtime) if p.channel_id == ALERTS and p.ts]
    )
    told = len(fake_slack.called("chat.postEphemeral"))
    app.interact(click(shown(fake_slack, post), "delivery_alert_discard", user_id="U2"))
    refusal = fake_slack.wait_for("chat.postEphemeral", told + 1)[-1]
    assert refusal["user"] == "U2" and "Only workspace admins" in refusal["text"]
    assert statuses(app.runtime) == {ids[0]: "failed"}
    app.interact(click(shown(fake_slack, post), "delivery_alert_discard", user_id="UADMIN"))
    wait_until(lambda: statuses(app.runtime) == {ids[0]: "discarded"})
    wait_until(lambda: says(fake_slack, post, "discarded by <@UADMIN>"))


def test_discarding_a_failed_call_discards_the_rows_that_need_it(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    set_alerts_channel(app, fake_slack)
    sim.state.configure(error_rate=1.0, error_statuses=[502])
    ids = add_call(app.runtime, "c1", ("connected", "hangup"), thread=THREAD)
    (post, *_) = wait_until(
        lambda: [p for p in alert_posts(app.runtime) if p.channel_id == ALERTS and p.ts]
    )
    message = shown(fake_slack, post)
    # The person is told before confirming.
    assert "2 later deliveries of the same call or conversation that need them" in json.dumps(
        message["blocks"]
    )
    sim.state.configure(error_rate=0.0)

    # A click from a message drawn before a third row joined: refused, nothing discarded.
    stale = click(message, "delivery_alert_discard", user_id="U1")
    stale["actions"][0]["value"] = json.dumps({"alert_id": post.alert_id, "dependents": 1})
    told = len(fake_slack.called("chat.postEphemeral"))
    app.interact(stale)
    refusal = fake_slack.wait_for("chat.postEphemeral", told + 1)[-1]
    assert "Nothing was discarded: 2 deliveries would now be discarded" in refusal["text"]
    assert set(statuses(app.runtime).values()) == {"failed", "pending"}

    app.interact(click(shown(fake_slack, post), "delivery_alert_discard", user_id="U1"))
    wait_until(lambda: statuses(app.runtime) == dict.fromkeys(ids, "discarded"))
    with session_scope(app.runtime.engine, readonly=True) as s:
        assert {r.retried_by for r in s.exec(select(OutboxRow))} == {"U1"}
    wait_until(lambda: says(fake_slack, post, "discarded by <@U1>"))
    # Other lanes go on; nothing of the discarded call reached Front.
    (other,) = add_messages(app.runtime, "conv-after", 1)
    wait_until(lambda: statuses(app.runtime)[other] == "delivered")
    assert [r["operation"] for r in sim.state.requests()] == ["sync_inbound_message"]


def test_discarding_a_failed_message_discards_its_status_update(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    sim.state.configure(error_rate=1.0, error_statuses=[502])
    first, second = add_messages(app.runtime, "conv-5", 2)
    with session_scope(app.runtime.engine) as s:
        status = enqueue(
            s,
            operation="update_external_message_status",
            front_channel_id=CHANNEL,
            lane=conversation_lane(CHANNEL, "conv-5"),
            payload={"status": "failed"},
            path={"conv_ext_id": "conv-5", "message_ext_id": "conv-5-m0"},
            context=SlackContext(team_id="T1", channel_id="C1", thread_ts=THREAD, user_id="U2"),
        ).id
    (post, *_) = wait_until(lambda: [p for p in alert_posts(app.runtime) if p.ts])
    assert says(fake_slack, post, "1 later delivery of the same call or conversation that needs")
    sim.state.configure(error_rate=0.0)
    app.interact(click(shown(fake_slack, post), "delivery_alert_discard", user_id="U1"))
    # The status of the discarded message goes with it; the next message is independent.
    wait_until(
        lambda: (
            statuses(app.runtime) == {first: "discarded", second: "delivered", status: "discarded"}
        )
    )


def test_a_burst_of_failures_with_one_cause_makes_one_alert(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    set_alerts_channel(app, fake_slack)
    # A workspace that has been delivering (its pacing knows Front's limit), then an outage.
    add_messages(app.runtime, "before", 1)
    wait_until(lambda: set(statuses(app.runtime).values()) == {"delivered"})
    sim.state.configure(error_rate=1.0, error_statuses=[503])
    for i in range(8):
        add_messages(app.runtime, f"burst-{i}", 1)
    wait_until(lambda: sorted(statuses(app.runtime).values()) == ["delivered"] + ["failed"] * 8)
    with session_scope(app.runtime.engine, readonly=True) as s:
        (alert,) = s.exec(select(DeliveryAlert)).all()
        assert alert.cause == "retryable:503"
    channel_posts = wait_until(
        lambda: [p for p in alert_posts(app.runtime) if p.channel_id == ALERTS and p.ts]
    )
    assert len(channel_posts) == 1
    wait_until(lambda: says(fake_slack, channel_posts[0], "8 deliveries"))
    # All were logged in one thread: one post there too.
    assert [(p.channel_id, p.thread_ts) for p in alert_posts(app.runtime)] == [
        (ALERTS, ""),
        ("C1", THREAD),
    ]
    assert (
        len(
            [
                a
                for a in fake_slack.called("chat.postMessage")
                if a.get("channel") == ALERTS and a.get("blocks")
            ]
        )
        == 1
    )


def test_no_alert_in_a_thread_the_customer_shares(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    fake_slack.respond(
        "conversations.info",
        lambda args: {
            "ok": True,
            "channel": {"id": args.get("channel"), "is_ext_shared": args.get("channel") == "C1"},
        },
    )
    set_alerts_channel(app, fake_slack)
    sim.state.configure(error_rate=1.0, error_statuses=[503])
    add_call(app.runtime, "c1", ("connected",), thread=THREAD)
    wait_until(lambda: [p for p in alert_posts(app.runtime) if p.channel_id == ALERTS and p.ts])
    wait_until(
        lambda: [a for a in fake_slack.called("conversations.info") if a.get("channel") == "C1"]
    )
    # The claim in the shared thread is dropped once Slack says the channel is shared.
    wait_until(
        lambda: [(p.channel_id, p.thread_ts) for p in alert_posts(app.runtime)] == [(ALERTS, "")]
    )
    assert not [a for a in fake_slack.called("chat.postMessage") if a.get("channel") == "C1"]


def test_with_no_alerts_channel_a_shared_threads_logger_is_told_privately_once(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    fake_slack.respond(
        "conversations.info",
        lambda args: {"ok": True, "channel": {"id": args.get("channel"), "is_ext_shared": True}},
    )
    sim.state.configure(error_rate=1.0, error_statuses=[503])
    add_call(app.runtime, "c1", ("connected",), thread=THREAD)
    (told,) = fake_slack.wait_for("chat.postEphemeral")
    assert (told["channel"], told["user"], told["thread_ts"]) == ("C1", "U1", THREAD)
    assert "delivery_alert_retry" in json.dumps(told["blocks"])
    # A second failure for the same cause changes the alert: no second message anywhere.
    add_call(app.runtime, "c2", (), thread=THREAD)
    wait_until(lambda: list(statuses(app.runtime).values()).count("failed") == 2)
    time.sleep(0.3)
    assert len(fake_slack.called("chat.postEphemeral")) == 1
    assert not [a for a in fake_slack.called("chat.postMessage") if a.get("blocks")]


def test_an_alert_is_posted_once_slack_answers_again(
    app: RunningApp, sim: Sim, fake_slack: FakeSlack
) -> None:
    # Slack is having a bad moment when the alert is first posted: whether the thread is
    # shared cannot be known yet, then Slack's connection drops on the post itself.
    down = {"conversations.info": 1, "chat.postMessage": 1}

    def flaky(method: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def answer(args: dict[str, Any]) -> dict[str, Any]:
            if down[method]:
                down[method] -= 1
                return {"ok": False, "error": "internal_error"}
            del fake_slack.overrides[method]
            return fake_slack.answer(method, args)

        return answer

    for method in down:
        fake_slack.respond(method, flaky(method))
    sim.state.configure(error_rate=1.0, error_statuses=[503])
    add_call(app.runtime, "c1", ("connected",), thread=THREAD)
    # Retried from the queue until Slack takes it (not left claimed and forgotten).
    (post,) = wait_until(lambda: [p for p in alert_posts(app.runtime) if p.ts], timeout=20)
    assert (post.channel_id, post.thread_ts) == ("C1", THREAD)
    assert says(fake_slack, post, "was not delivered to Front")
    assert down == {"conversations.info": 0, "chat.postMessage": 0}  # both were met
    assert len([a for a in fake_slack.called("chat.postMessage") if a.get("blocks")]) == 2
