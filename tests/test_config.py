from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import SettingsError, load_settings

REQUIRED = {"slack_signing_secret": "s3cr3t-value", "slack_bot_token": "xoxb-1"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "DATABASE_URL",
        "PORT",
    ):
        monkeypatch.delenv(var, raising=False)


def test_nothing_set_names_each_missing_variable() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env_file=None)
    assert [p.split()[0] for p in err.value.problems] == [
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
    ]
    assert all("set it to" in p for p in err.value.problems)


def test_missing_and_malformed_are_reported_together() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env_file=None, slack_bot_token="xoxb-1", port="abc")
    assert [p.split()[0] for p in err.value.problems] == ["SLACK_SIGNING_SECRET", "PORT"]
    assert "is invalid" in err.value.problems[1]


def test_placeholder_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET is invalid"):
        load_settings(env_file=None, slack_signing_secret="changeme", slack_bot_token="xoxb-1")


def test_oauth_credentials_replace_the_bot_token() -> None:
    s = load_settings(
        env_file=None,
        slack_signing_secret="abc",
        slack_client_id="1.2",
        slack_client_secret="z",
        token_encryption_key=Fernet.generate_key().decode(),
    )
    assert s.oauth_enabled


def test_oauth_without_an_encryption_key_is_one_clear_line() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(
            env_file=None,
            slack_signing_secret="abc",
            slack_client_id="1.2",
            slack_client_secret="z",
        )
    assert len(err.value.problems) == 1
    line = err.value.problems[0]
    assert line.startswith("TOKEN_ENCRYPTION_KEY is missing: set it to a Fernet key")
    assert "Fernet.generate_key()" in line


def test_a_malformed_encryption_key_is_named() -> None:
    with pytest.raises(SettingsError, match="TOKEN_ENCRYPTION_KEY is invalid"):
        load_settings(
            env_file=None,
            slack_signing_secret="abc",
            slack_bot_token="xoxb-1",
            token_encryption_key="not-a-key",
        )


def test_env_file_is_read_and_secrets_are_hidden(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("SLACK_SIGNING_SECRET=from-dotenv-123\nSLACK_BOT_TOKEN=xoxb-dotenv\nPORT=4100\n")
    s = load_settings(env_file=env)
    assert s.port == 4100
    assert s.signing_secret == "from-dotenv-123"
    assert "from-dotenv-123" not in repr(s) and "xoxb-dotenv" not in repr(s)


def test_defaults() -> None:
    s = load_settings(env_file=None, **REQUIRED)
    assert s.database_url.startswith("sqlite:///")
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.front_api_url == "https://api2.frontapp.com"
    assert s.port == 3000
    assert not s.front_configured


def test_blank_values_in_env_file_mean_not_set(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "SLACK_SIGNING_SECRET=\nSLACK_BOT_TOKEN=xoxb-1\nFRONT_APP_UID=\nFRONT_APP_SECRET=\n"
    )
    with pytest.raises(SettingsError) as err:
        load_settings(env_file=env)
    assert err.value.problems == [
        "SLACK_SIGNING_SECRET is missing: set it to the Signing Secret from your Slack app's "
        "Basic Information page."
    ]
    env.write_text("SLACK_SIGNING_SECRET=abc-123\nSLACK_BOT_TOKEN=xoxb-1\nFRONT_APP_SECRET=\n")
    assert not load_settings(env_file=env).front_configured


def test_the_simulators_credentials_come_from_dotenv_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import FrontCredentials

    for var in ("FRONT_APP_UID", "FRONT_APP_SECRET", "FRONT_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FRONT_APP_UID=app_local\nFRONT_APP_SECRET=s3cret\n")
    creds = FrontCredentials()
    assert (creds.front_app_uid, creds.front_app_secret, creds.front_api_token) == (
        "app_local",
        "s3cret",
        None,
    )
