"""Finding 5: a signed request sent again (a replay, or a client retrying) acted twice: two
calls for one submission, a command run twice, a click told as if someone else had
pressed first. Each request is acted on once, even when the copies arrive together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.calls.payloads import click
from tests.helpers.app import RunningApp
from tests.helpers.delivery import deliver, settle
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import command_body, interactivity_body
from tests.reliability.conftest import Sim
from tests.reliability.flows import (
    calls,
    card_calls,
    message_payload,
    messages,
    open_logmsg,
    outbox,
    submit_call,
    wait_until,
)


def twice_at_once(app: RunningApp, body: str) -> list[httpx.Response]:
    """The same signed body sent twice at the same moment (each with its own signature
    time, as a client that retries sends it)."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: app.post(body), range(2)))


def test_a_view_submission_sent_twice_logs_one_call_one_card_one_create_call(
    live: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    body = interactivity_body(submit_call())
    assert [r.status_code for r in twice_at_once(live, body)] == [200, 200]
    assert live.post(body).status_code == 200  # and once more, later
    assert len(calls(live)) == 1
    deliver(live.runtime)
    assert len(sim.state.requests("create_call")) == 1
    assert len(card_calls(fake_slack)) == 1


def test_a_logmsg_submission_sent_twice_logs_one_message(
    live: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    form = open_logmsg(live, fake_slack)
    body = interactivity_body(message_payload(form, body="Bonjour"))
    assert [r.status_code for r in twice_at_once(live, body)] == [200, 200]
    settle(live.runtime)
    assert len(messages(live)) == 1
    deliver(live.runtime)
    assert len(sim.state.requests("sync_inbound_message")) == 1
    assert len(fake_slack.succeeded("chat.postMessage")) == 1


def test_a_replayed_slash_command_runs_once(live: RunningApp, fake_slack: FakeSlack) -> None:
    # Answered in its ack: the replay's empty answer shows it did not run.
    status = command_body("/switchboard", "status offline", trigger_id="trig-status-1")
    first, again = live.post(status), live.post(status)
    assert "will be set to *offline*" in first.json()["text"]
    assert again.status_code == 200 and again.text == ""
    assert [r.operation for r in outbox(live)] == ["update_channel"]
    # A modal opener: one modal for the command and its replay; a later command (its own
    # trigger) shows that whatever the replay set off would have been done by then.
    logcall = command_body("/logcall", "", trigger_id="trig-logcall-1")
    assert [r.status_code for r in twice_at_once(live, logcall)] == [200, 200]
    assert live.command("/logcall").status_code == 200
    opened = fake_slack.wait_for("views.open", 2)
    settle(live.runtime)
    assert len(opened) == len(fake_slack.called("views.open")) == 2
    assert [o["trigger_id"] for o in opened].count("trig-logcall-1") == 1


def test_the_same_click_twice_is_one_status_update(
    live: RunningApp, fake_slack: FakeSlack, sim: Sim
) -> None:
    live.interact(submit_call())
    settle(live.runtime)
    (card,) = card_calls(fake_slack)
    (call,) = calls(live)
    message: dict[str, Any] = {"ts": call.card_ts, "blocks": card["blocks"], "text": card["text"]}
    pressed = interactivity_body(click(message, "call_status:connected"))
    assert [r.status_code for r in twice_at_once(live, pressed)] == [200, 200]
    assert live.post(pressed).status_code == 200
    wait_until(lambda: outbox(live, "update_call"), what="the status update")
    settle(live.runtime)
    (update,) = outbox(live, "update_call")
    assert update.payload["call_status"] == "connected"
    (call,) = calls(live)
    assert (call.status, call.version) == ("connected", 1)
    # Nobody is told their click lost to another: there was only one.
    told = [p["text"] for p in fake_slack.called("chat.postEphemeral")]
    assert not [t for t in told if "just before you" in t], told
    deliver(live.runtime)
    assert [r["body"]["call_status"] for r in sim.state.requests("update_call")] == ["connected"]
