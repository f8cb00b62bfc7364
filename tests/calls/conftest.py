from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.core import links
from bot.delivery.flusher import FlushStats
from bot.frontsim import SimState
from storage.engine import session_scope
from tests.conftest import make_settings
from tests.front.simulator import APP_SECRET, APP_UID, simulator
from tests.helpers.app import RunningApp, running_app
from tests.helpers.delivery import deliver as deliver_outbox
from tests.helpers.fake_slack import FakeSlack


@dataclass
class Sim:
    url: str
    state: SimState


@pytest.fixture
def sim() -> Iterator[Sim]:
    with simulator() as (url, state):  # strict call lifecycle, as Front
        yield Sim(url, state)


@pytest.fixture
def app(database_url: str, fake_slack: FakeSlack, sim: Sim) -> Iterator[RunningApp]:
    settings = make_settings(
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        default_phone_region="FR",
        front_app_uid=APP_UID,
        front_app_secret=APP_SECRET,
        front_api_url=sim.url,
    )
    with running_app(settings) as running:
        yield running


def deliver(app: RunningApp) -> FlushStats:
    """Send what the outbox holds to the simulator, as `serve` does, with its hooks."""
    return deliver_outbox(app.runtime)


def wait_responses(fake: FakeSlack, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Bodies posted to response_url so far, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with fake.lock:
            got = [body for _path, body in fake.responses]
        if len(got) >= count:
            return got
        time.sleep(0.01)
    raise AssertionError(f"{len(fake.responses)} response_url posts, wanted {count}")


@pytest.fixture
def fake(fake_slack: FakeSlack) -> Iterator[FakeSlack]:
    yield fake_slack


@pytest.fixture
def linked(app: RunningApp, fake_slack: FakeSlack) -> RunningApp:
    fake_slack.add_user("U1", name="Ada Lovelace", email="ada@example.com")
    fake_slack.add_user("U2", name="Grace Hopper", email="grace@example.com")
    with session_scope(app.runtime.engine) as s:
        links.connect(
            s, team_id="T1", slack_channel_id="C1", front_channel_id="cha_calls", user_id="U9"
        )
    return app
