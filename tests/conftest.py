from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import Settings, load_settings
from storage import migrate
from storage.engine import make_engine
from tests.helpers.databases import (
    PG_SKIP_REASON,
    postgres_admin_url,
    scratch_postgres_database,
    truncate_all,
)
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack, running_fake_slack
from tests.helpers.slack_signing import SIGNING_SECRET


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'switchboard.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if postgres_admin_url() is None:
        pytest.skip(PG_SKIP_REASON)
    with scratch_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def _migrated_engines() -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database, emptied before each test; both backends when PostgreSQL is set."""
    return migrated_database(request, request.param)


def migrated_database(request: pytest.FixtureRequest, name: str) -> str:
    """The `name` ("sqlite" or "postgres") session database, migrated and emptied. A test
    module where the backend makes no difference overrides `database_url` with it."""
    url: str = request.getfixturevalue(f"{name}_url")
    engines: dict[str, Engine] = request.getfixturevalue("_migrated_engines")
    if name not in engines:
        engines[name] = make_engine(url)
        migrate.upgrade(engines[name])
    truncate_all(engines[name])
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with running_fake_slack() as fake:
        yield fake


# A fixed Fernet key for OAuth tests (tokens are encrypted at rest).
TEST_KEY = "x7rBNK4zqzLqMzpU9kYqTQm0mEwpN2hy9gK3b2lD7sA="


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_bot_token": BOT_TOKEN,
        "database_url": "sqlite:///:memory:",
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@pytest.fixture
def tmp_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.db'}"
