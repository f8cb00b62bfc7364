from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack


@pytest.fixture
def app(database_url: str, fake_slack: FakeSlack) -> Iterator[RunningApp]:
    settings = make_settings(
        database_url=database_url, slack_api_url=fake_slack.api_url, default_phone_region="FR"
    )
    with running_app(settings) as running:
        yield running


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
