"""Fixtures for delivery tests: a Front simulator on loopback, a runtime, rows to send."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import Settings
from bot.delivery.outbox import FileToSend, SlackContext, call_lane, conversation_lane, enqueue
from bot.delivery.policy import DeliveryPolicy
from bot.frontsim import SimConfig, SimState, running_simulator
from bot.runtime import Runtime
from storage.engine import make_engine, session_scope
from tests.conftest import make_settings
from tests.helpers.fake_slack import FakeSlack

APP_UID = "app_switchboard_tests"
APP_SECRET = "delivery-tests-app-secret-0123456789abcdef"
CHANNEL = "cha_delivery"
# Quick retries so tests wait milliseconds, not minutes.
FAST = DeliveryPolicy(backoff_base=0.02, backoff_cap=0.1, jitter=0.2, probe_first_seconds=0.05)


@dataclass
class Sim:
    url: str
    state: SimState


@pytest.fixture
def sim() -> Iterator[Sim]:
    with running_simulator(SimConfig(app_uid=APP_UID, app_secret=APP_SECRET)) as (url, state):
        yield Sim(url, state)


def delivery_settings(database_url: str, front_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "front_app_uid": APP_UID,
        "front_app_secret": APP_SECRET,
        "front_api_url": front_url,
        "flush_interval_seconds": 0.2,
        "flush_concurrency": 8,
    }
    values.update(overrides)
    return make_settings(**values)


@pytest.fixture
def runtime(database_url: str, sim: Sim, fake_slack: FakeSlack) -> Iterator[Runtime]:
    settings = delivery_settings(database_url, sim.url, slack_api_url=fake_slack.api_url)
    rt = Runtime(settings=settings, engine=make_engine(database_url))
    yield rt
    rt.engine.dispose()


def ctx(
    team_id: str = "T1", channel: str = "C1", thread: str | None = "111.000", user: str = "U1"
) -> SlackContext:
    return SlackContext(team_id=team_id, channel_id=channel, thread_ts=thread, user_id=user)


def create_call_payload(call_id: str) -> dict[str, Any]:
    return {
        "external_call_id": call_id,
        "initial_status": "ringing",
        "direction": "inbound",
        "from": {"handle": "+14155550100", "name": "Ada"},
        "parent_external_call_id": call_id,
    }


def add_call(
    rt: Runtime,
    call_id: str,
    statuses: tuple[str, ...] = ("connected", "hangup"),
    *,
    team_id: str = "T1",
    channel: str = CHANNEL,
    thread: str | None = "111.000",
    start_ms: int = 1_700_000_000_000,
) -> list[int]:
    """Enqueue a call's creation and its status updates (one lane); return the row ids."""
    with session_scope(rt.engine) as session:
        c = ctx(team_id, thread=thread)
        ids = [
            enqueue(
                session,
                operation="create_call",
                front_channel_id=channel,
                lane=call_lane(call_id),
                payload=create_call_payload(call_id),
                context=c,
            ).id
        ]
        for i, status in enumerate(statuses):
            ids.append(
                enqueue(
                    session,
                    operation="update_call",
                    front_channel_id=channel,
                    lane=call_lane(call_id),
                    payload={"call_status": status, "occurred_at": start_ms + i},
                    path={"external_call_id": call_id},
                    context=c,
                ).id
            )
    return [i for i in ids if i is not None]


def add_messages(
    rt: Runtime,
    conversation: str,
    count: int,
    *,
    team_id: str = "T1",
    channel: str = CHANNEL,
    files: tuple[FileToSend, ...] = (),
    prefix: str = "",
) -> list[int]:
    """Enqueue `count` inbound messages in one conversation (one lane)."""
    ids: list[int] = []
    with session_scope(rt.engine) as session:
        for i in range(count):
            row = enqueue(
                session,
                operation="sync_inbound_message",
                front_channel_id=channel,
                lane=conversation_lane(channel, conversation),
                payload={
                    "sender": {"handle": "+14155550100"},
                    "body": f"message {i}",
                    "metadata": {
                        "external_id": f"{prefix}{conversation}-m{i}",
                        "external_conversation_id": conversation,
                    },
                },
                context=ctx(team_id),
                files=files,
            )
            assert row.id is not None
            ids.append(row.id)
    return ids
