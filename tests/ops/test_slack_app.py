"""How the app meets Slack: its clients, its scopes and its manifests."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from bot.runtime import Runtime
from bot.slack.app import build_bolt_app
from bot.slack.oauth import BOT_SCOPES
from storage.engine import make_engine
from tests.conftest import make_settings
from tests.helpers.fake_slack import BOT_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def _scopes(manifest: str) -> list[str]:
    lines = (ROOT / manifest).read_text().splitlines()
    start = lines.index("    bot:") + 1
    scopes = []
    for line in lines[start:]:
        if not line.startswith("      - "):
            break
        scopes.append(line.removeprefix("      - ").strip())
    return scopes


def test_no_token_warning_and_every_client_retries_rate_limits(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The token is in the environment, as on most deployments.
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    settings = make_settings(slack_api_url="http://127.0.0.1:9/api/")
    runtime = Runtime(settings=settings, engine=make_engine("sqlite:///:memory:"))
    with caplog.at_level(logging.DEBUG):
        bolt = build_bolt_app(runtime)
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]
    assert bolt.client.token == BOT_TOKEN
    assert bolt.client.base_url == "http://127.0.0.1:9/api/"
    assert any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in bolt.client.retry_handlers)

    import anyio

    client = anyio.run(runtime.slack_client, "T1")
    handlers = [h for h in client.retry_handlers if isinstance(h, AsyncRateLimitErrorRetryHandler)]
    assert len(handlers) == 1
    runtime.engine.dispose()


def test_scopes_join_channels_and_no_longer_read_the_team() -> None:
    assert "channels:join" in BOT_SCOPES
    assert "team:read" not in BOT_SCOPES


def test_socket_mode_manifest_is_the_http_one_without_urls() -> None:
    http = (ROOT / "manifest.yml").read_text()
    socket = (ROOT / "manifest.socket-mode.yml").read_text()
    assert sorted(_scopes("manifest.socket-mode.yml")) == sorted(BOT_SCOPES)
    assert "socket_mode_enabled: true" in socket and "socket_mode_enabled: false" in http
    assert "https://" not in socket.split("display_information:")[1]
    for command in ("/logcall", "/logmsg", "/switchboard", "log_to_front"):
        assert command in socket
    for event in ("app_home_opened", "app_uninstalled", "tokens_revoked"):
        assert f"- {event}" in socket and f"- {event}" in http
