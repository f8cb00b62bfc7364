from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.services import links
from storage.engine import session_scope
from tests.conftest import make_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack
from tests.messages.payloads import CHANNEL, TEAM


@pytest.fixture
def app(database_url: str, fake_slack: FakeSlack) -> Iterator[RunningApp]:
    settings = make_settings(
        database_url=database_url, slack_api_url=fake_slack.api_url, default_phone_region="FR"
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
