"""`switchboard doctor`: creates nothing, counts pending migrations, names network causes,
compares the bot's scopes with the manifest's, tries Front's credentials harmlessly."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import doctor
from bot.cli import app
from bot.core import links
from bot.slack.oauth import BOT_SCOPES
from storage import migrate
from storage.engine import make_engine, session_scope
from tests.front.simulator import APP_SECRET, APP_UID, simulator
from tests.helpers.databases import PG_SKIP_REASON, postgres_admin_url, scratch_postgres_database
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory and the settings of one workspace against the fake Slack."""
    monkeypatch.chdir(tmp_path)
    for var in ("FRONT_APP_UID", "FRONT_APP_SECRET", "FRONT_API_TOKEN", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "doctor-secret-1")
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("FRONT_API_TOKEN", "front-token-1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'doc.db'}")
    return tmp_path


def checks(*args: str) -> tuple[int, dict[str, dict[str, object]]]:
    result = runner.invoke(app, ["doctor", "--json", *args])
    data = json.loads(result.output)
    assert data["ok"] == (result.exit_code == 0)
    return result.exit_code, {c["name"]: c for c in data["checks"]}


def test_a_fresh_sqlite_database_is_not_a_failure_and_is_not_created(env: Path) -> None:
    code, found = checks()
    assert code == 0, found
    assert found["migrations"] == {
        "name": "migrations",
        "ok": True,
        "detail": "the database will be created and migrated by serve",
    }
    assert list(env.iterdir()) == []  # no switchboard.db, no -wal, nothing
    assert "cannot check yet" in str(found["front sign-in"]["detail"])


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    if postgres_admin_url() is None:
        pytest.skip(PG_SKIP_REASON)
    with scratch_postgres_database() as url:
        yield url


def test_a_postgres_database_behind_counts_its_pending_migrations(
    env: Path, empty_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(empty_postgres)
    migrate.upgrade(engine, "0005")
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", empty_postgres)
    code, found = checks()
    heads = migrate.head_revisions()
    behind = int(heads[0]) - 5
    assert code == 0
    detail = str(found["migrations"]["detail"])
    assert detail.startswith(f"{behind} migrations pending (database at 0005")
    assert "serve applies them" in detail
    assert found["migrations"]["ok"] is True


def test_network_errors_name_their_cause(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{closed.getsockname()[1]}/api/")
        _code, found = checks()
    assert "(connection refused)" in str(found["slack"]["detail"])

    monkeypatch.setenv("SLACK_API_URL", "http://switchboard-doctor-test.invalid/api/")
    _code, found = checks()
    assert "(name not resolved)" in str(found["slack"]["detail"])

    monkeypatch.setattr(doctor, "TIMEOUT_SECONDS", 1.0)
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(4)
        monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{hung.getsockname()[1]}/api/")
        code, found = checks()
    assert code == 1
    assert "(timed out)" in str(found["slack"]["detail"])
    assert "URLError" not in str(found)


def test_scopes_missing_and_extra_are_named(env: Path, fake_slack: FakeSlack) -> None:
    _code, found = checks()
    assert found["slack scopes"]["ok"] is True
    fake_slack.granted_scopes = [s for s in BOT_SCOPES if s != "channels:join"] + ["team:read"]
    code, found = checks()
    assert code == 1
    assert found["slack scopes"] == {
        "name": "slack scopes",
        "ok": False,
        "detail": "missing channels:join (reinstall the app after updating it); "
        "not needed: team:read",
    }


def test_front_credentials_are_tried_on_the_first_linked_channel(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{env / 'doc.db'}"
    engine = make_engine(db)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        links.connect(
            session, team_id="T1", slack_channel_id="C1", front_channel_id="cha_doc", user_id="U1"
        )
    engine.dispose()
    monkeypatch.delenv("FRONT_API_TOKEN")
    monkeypatch.setenv("FRONT_APP_UID", APP_UID)
    with simulator() as (url, sim):
        monkeypatch.setenv("FRONT_API_URL", url)
        monkeypatch.setenv("FRONT_APP_SECRET", APP_SECRET)
        code, found = checks()
        assert code == 0, found
        assert found["front sign-in"]["detail"] == (
            "Front accepts the credentials (tried on channel cha_doc)"
        )
        monkeypatch.setenv("FRONT_APP_SECRET", "a-wrong-secret-0123456789abcdef0123456789")
        code, found = checks()
        assert code == 1
        assert str(found["front sign-in"]["detail"]).startswith(
            "Front refused the credentials (HTTP 401) on channel cha_doc"
        )
        # Nothing reached Front's state: both empty bodies were refused.
        stats = sim.stats()
        assert stats["total_accepted"] == 0
        assert stats["bad_requests"] == 1 and stats["unauthorized"] == 1


def test_oauth_without_a_key_says_how_to_make_one(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret-1")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2  # a missing setting, as in every command
    assert "[FAIL] settings: TOKEN_ENCRYPTION_KEY is missing" in result.output
    assert (
        'python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"' in result.output
    )
