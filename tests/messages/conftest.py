from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
from tests.messages.payloads import CHANNEL, TEAM


@dataclass
class Sim:
    url: str
    state: SimState


@pytest.fixture
def sim() -> Iterator[Sim]:
    with simulator() as (url, state):
        yield Sim(url, state)


def deliver(app: RunningApp) -> FlushStats:
    """Send what the outbox holds to the simulator, as `serve` does, with its hooks."""
    return deliver_outbox(app.runtime)


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
    fake_slack.add_user("U1", name="Bob Agent", email="bob@acme.example", team_id=TEAM)
    fake_slack.add_user("U2", name="Cleo Agent", email="cleo@acme.example", team_id=TEAM)
    fake_slack.add_user("UEXT", name="Ada Customer", email="ada@customer.example", team_id="T9")
    with running_app(settings) as running:
        yield running


@pytest.fixture
def linked(app: RunningApp) -> RunningApp:
    with session_scope(app.runtime.engine) as session:
        links.connect(
            session,
            team_id=TEAM,
            slack_channel_id=CHANNEL,
            front_channel_id="cha_123",
            user_id="U0",
        )
    return app
