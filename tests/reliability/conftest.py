"""Every test in this folder is a reliability test (`-m reliability` runs just them): one
per finding of the reliability review, each failing on the code before its fix, plus
checks that fail if a fixed bug comes back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.core import links
from bot.frontsim import SimConfig, running_simulator
from bot.runtime import Runtime
from storage.engine import make_engine, session_scope
from tests.delivery.conftest import APP_SECRET, APP_UID, CHANNEL, Sim, delivery_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.reliability)


# Delivery fixtures, as in tests/delivery (fixtures do not cross folders).
@pytest.fixture
def sim() -> Iterator[Sim]:
    with running_simulator(SimConfig(app_uid=APP_UID, app_secret=APP_SECRET)) as (url, state):
        yield Sim(url, state)


@pytest.fixture
def runtime(database_url: str, sim: Sim, fake_slack: FakeSlack) -> Iterator[Runtime]:
    settings = delivery_settings(database_url, sim.url, slack_api_url=fake_slack.api_url)
    rt = Runtime(settings=settings, engine=make_engine(database_url))
    yield rt
    rt.engine.dispose()


@contextmanager
def live_app(database_url: str, fake_slack: FakeSlack, front_url: str) -> Iterator[RunningApp]:
    """The whole app on a real server (as `serve --no-scheduler`: it posts to Slack, and
    tests deliver to Front with `tests.helpers.delivery.deliver`), channel C1 of T1 linked
    to a Front channel; U1 an admin, U2 a member; T2 another workspace, V1 its admin."""
    settings = delivery_settings(
        database_url, front_url, slack_api_url=fake_slack.api_url, default_phone_region="FR"
    )
    fake_slack.add_user("U1", name="Ada Admin", email="ada@acme.example", is_admin=True)
    fake_slack.add_user("U2", name="Max Member", email="max@acme.example")
    fake_slack.add_user("V1", name="Eve Other", email="eve@other.example", team_id="T2")
    fake_slack.users["V1"]["is_admin"] = True
    with running_app(settings) as app:
        with session_scope(app.runtime.engine) as s:
            links.connect(
                s, team_id="T1", slack_channel_id="C1", front_channel_id=CHANNEL, user_id="U1"
            )
        yield app


@pytest.fixture
def live(database_url: str, fake_slack: FakeSlack, sim: Sim) -> Iterator[RunningApp]:
    with live_app(database_url, fake_slack, sim.url) as app:
        yield app
