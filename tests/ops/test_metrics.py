"""GET /metrics: database figures at scrape time, Front requests, Slack acks."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops import metrics
from bot.runtime import Runtime
from tests.conftest import make_settings
from tests.delivery.conftest import add_call, add_messages
from tests.helpers.app import running_app
from tests.helpers.delivery import deliver
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import command_body, interactivity_body


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_database_figures_and_front_requests(runtime: Runtime) -> None:
    before = metrics.render(runtime.engine).decode()
    add_call(runtime, "call-m1", ("connected",))
    add_messages(runtime, "conv-m1", 2)
    pending = metrics.render(runtime.engine).decode()
    assert value(pending, "switchboard_database_up") == 1
    assert value(pending, "switchboard_outbox_rows", status="pending") == 4
    assert value(pending, "switchboard_outbox_oldest_pending_seconds") >= 0
    assert value(pending, "switchboard_paused_workspaces") == 0

    stats = deliver(runtime)
    assert stats.delivered == 4
    after = metrics.render(runtime.engine).decode()
    assert value(after, "switchboard_outbox_rows", status="pending") == 0
    assert value(after, "switchboard_outbox_rows", status="delivered") == 4
    counted = "switchboard_front_requests_total"
    for op, n in (("create_call", 1), ("update_call", 1), ("sync_inbound_message", 2)):
        grew = value(after, counted, operation=op, outcome="delivered") - value(
            before, counted, operation=op, outcome="delivered"
        )
        assert grew == n, op
        timed = value(after, "switchboard_front_request_seconds_count", operation=op) - value(
            before, "switchboard_front_request_seconds_count", operation=op
        )
        assert timed == n


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_front_refusals_are_counted_by_outcome(runtime: Runtime, sim: object) -> None:
    from tests.delivery.conftest import Sim

    assert isinstance(sim, Sim)
    before = metrics.render(runtime.engine).decode()
    sim.state.configure(app_secret="another-secret-0123456789abcdef0123456789")
    add_messages(runtime, "conv-refused", 1)
    deliver(runtime)
    after = metrics.render(runtime.engine).decode()
    name = "switchboard_front_requests_total"
    labels = {"operation": "sync_inbound_message", "outcome": "unauthorized"}
    assert value(after, name, **labels) - value(before, name, **labels) == 1
    assert value(after, "switchboard_paused_workspaces") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_slack_acks_are_timed_by_kind(database_url: str, fake_slack: FakeSlack) -> None:
    settings = make_settings(database_url=database_url, slack_api_url=fake_slack.api_url)
    kind = "switchboard_slack_ack_seconds_count"
    with running_app(settings) as app:
        before = httpx.get(app.base_url + "/metrics").text
        assert app.command("/switchboard", "help").status_code == 200
        action = {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": "U1", "team_id": "T1"},
            "actions": [{"action_id": "nothing_here", "type": "button", "value": "x"}],
            "trigger_id": "t1",
        }
        app.interact(action)
        time.sleep(0.1)
        after = httpx.get(app.base_url + "/metrics").text
    assert value(after, kind, kind="command") - value(before, kind, kind="command") == 1
    assert value(after, kind, kind="action") - value(before, kind, kind="action") == 1


def test_ack_kind_reads_each_kind_of_request() -> None:
    form = "application/x-www-form-urlencoded"
    assert metrics.ack_kind(form, command_body("/logcall").encode()) == "command"
    for payload_type, kind in (
        ("block_actions", "action"),
        ("view_submission", "view_submission"),
        ("shortcut", "shortcut"),
        ("message_action", "shortcut"),
        ("block_suggestion", "options"),
    ):
        body = interactivity_body({"type": payload_type, "view": {"type": "modal"}})
        assert metrics.ack_kind(form, body.encode()) == kind, payload_type
    assert metrics.ack_kind("application/json", b'{"type":"event_callback"}') == "event"


def test_front_outcomes_are_named() -> None:
    from bot.front import FrontRateLimited, FrontRejected, FrontRetryable, FrontUnauthorized

    assert metrics.front_outcome(None) == "delivered"
    assert metrics.front_outcome(FrontRateLimited.__new__(FrontRateLimited)) == "rate_limited"
    assert metrics.front_outcome(FrontUnauthorized.__new__(FrontUnauthorized)) == "unauthorized"
    assert metrics.front_outcome(FrontRetryable.__new__(FrontRetryable)) == "retryable"
    assert metrics.front_outcome(FrontRejected.__new__(FrontRejected)) == "rejected"
    assert metrics.front_outcome(ValueError()) == "error"
