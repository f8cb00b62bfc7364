"""Every test in this folder is a reliability test (`-m reliability` runs just them): one
per finding of the reliability review, each failing on the code before its fix, plus
checks that fail if a fixed bug comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.frontsim import SimConfig, running_simulator
from bot.runtime import Runtime
from storage.engine import make_engine
from tests.delivery.conftest import APP_SECRET, APP_UID, Sim, delivery_settings
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
