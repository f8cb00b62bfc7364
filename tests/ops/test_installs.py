"""OAuth installs: tokens encrypted at rest, key rotation, uninstall and revocation pause
deliveries (kept), a reinstall resumes them, rotating tokens are refreshed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Bot
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.runtime import Runtime, token_cipher
from storage.engine import make_engine, session_scope
from storage.models import OutboxPace, OutboxRow, Workspace
from storage.slack_oauth import TokenCipher, bots, installation_store, installations
from tests.conftest import TEST_KEY
from tests.delivery.conftest import Sim, add_messages, delivery_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.delivery import deliver
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import event_body

CLIENT_ID = "111.222"


def oauth_settings(database_url: str, sim_url: str, fake_slack: FakeSlack, **kw: Any) -> Any:
    return delivery_settings(
        database_url,
        sim_url,
        slack_api_url=fake_slack.api_url,
        slack_bot_token=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret="client-secret-1",
        token_encryption_key=kw.pop("token_encryption_key", TEST_KEY),
        public_url="https://sb.example.com",
        **kw,
    )


def install(app: RunningApp, code: str) -> None:
    """The browser's trip: /slack/install, Slack, then /slack/oauth_redirect."""
    with httpx.Client(base_url=app.base_url) as http:
        page = http.get("/slack/install")
        state = re.search(r"state=([^&\"]+)", page.text)
        assert state is not None
        cookie = page.headers["set-cookie"].split(";")[0]
        done = http.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": state.group(1)},
            headers={"Cookie": cookie},
        )
        assert done.status_code == 200, done.text


def stored_tokens(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(select(bots.c.bot_token))]
        found += [r[0] for r in conn.execute(select(installations.c.bot_token))]
    engine.dispose()
    return found


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Events are handled after their ack: wait for the effect."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def paused_for(database_url: str, team_id: str) -> str | None:
    ws = workspace(database_url, team_id)
    return ws.paused_reason if ws is not None and ws.paused_at is not None else None


def workspace(database_url: str, team_id: str) -> Workspace | None:
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        ws = session.get(Workspace, team_id)
    engine.dispose()
    return ws


def test_tokens_are_encrypted_at_rest(database_url: str, sim: Sim, fake_slack: FakeSlack) -> None:
    settings = oauth_settings(database_url, sim.url, fake_slack)
    with running_app(settings) as app:
        install(app, "9")
        client = anyio.run(app.runtime.slack_client, "T9")
    assert client.token == "xoxb-installed-T9"
    tokens = stored_tokens(database_url)
    assert len(tokens) == 2
    for token in tokens:
        assert token.startswith("gAAAAA") and "xoxb" not in token
        assert Fernet(TEST_KEY.encode()).decrypt(token.encode()) == b"xoxb-installed-T9"


def test_uninstall_pauses_deliveries_and_a_reinstall_resumes_them(
    database_url: str, sim: Sim, fake_slack: FakeSlack
) -> None:
    settings = oauth_settings(database_url, sim.url, fake_slack)
    with running_app(settings) as app:
        install(app, "9")
        rt = app.runtime
        add_messages(rt, "conv-u", 2, team_id="T9")

        body = event_body({"type": "app_uninstalled"}, team_id="T9", event_id="EvU1")
        assert app.post(body, content_type="application/json").status_code == 200
        eventually(lambda: paused_for(database_url, "T9") == "uninstalled")
        assert stored_tokens(database_url) == []  # Bolt's listener deleted them
        with pytest.raises(LookupError):
            anyio.run(rt.slack_client, "T9")

        # Kept, not lost: nothing is sent, nothing fails, no probe is scheduled.
        assert deliver(rt).claimed == 0
        with session_scope(rt.engine) as session:
            statuses = [r.status for r in session.exec(select(OutboxRow)).scalars()]
            pace = session.get(OutboxPace, "T9")
        assert statuses == ["pending", "pending"]
        assert pace is None or pace.probe_at is None

        install(app, "9")  # the same workspace comes back
        ws = workspace(database_url, "T9")
        assert ws is not None and ws.paused_at is None and ws.paused_reason is None
        assert deliver(rt).delivered == 2


def test_revoked_bot_tokens_pause_but_user_tokens_alone_do_not(
    database_url: str, sim: Sim, fake_slack: FakeSlack
) -> None:
    settings = oauth_settings(database_url, sim.url, fake_slack)
    with running_app(settings) as app:
        install(app, "9")
        users_only = event_body(
            {"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": []}},
            team_id="T9",
            event_id="EvR1",
        )
        assert app.post(users_only, content_type="application/json").status_code == 200
        bot = event_body(
            {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, team_id="T9", event_id="EvR2"
        )
        time.sleep(0.3)
        assert paused_for(database_url, "T9") is None
        assert app.post(bot, content_type="application/json").status_code == 200
        eventually(lambda: paused_for(database_url, "T9") == "tokens revoked")
        eventually(lambda: stored_tokens(database_url) == [])


def test_a_pause_for_front_credentials_is_not_lifted_by_a_reinstall(
    database_url: str, sim: Sim, fake_slack: FakeSlack
) -> None:
    from bot.ops.installs import resume_after_install

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        session.add(
            Workspace(team_id="T5", paused_at=datetime.now(UTC), paused_reason="401: refused")
        )
    assert resume_after_install(engine, "T5") is False
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rotate_token_key_moves_every_token_to_the_new_key(
    database_url: str,
    sim: Sim,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_app(oauth_settings(database_url, sim.url, fake_slack)) as app:
        install(app, "9")
    # A token saved in clear before encryption existed.
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(bots.update().where(bots.c.team_id == "T9").values(bot_token="xoxb-clear"))

    new_key = Fernet.generate_key().decode()
    monkeypatch.chdir(tmp_path)
    for var, val in {
        "SLACK_SIGNING_SECRET": "rotate-secret-1",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": "client-secret-1",
        "TOKEN_ENCRYPTION_KEY": new_key,
        "DATABASE_URL": database_url,
    }.items():
        monkeypatch.setenv(var, val)
    wrong = CliRunner().invoke(
        cli, ["rotate-token-key", "--old-key", Fernet.generate_key().decode()]
    )
    assert wrong.exit_code == 1 and "nothing was changed" in wrong.output
    result = CliRunner().invoke(cli, ["rotate-token-key", "--old-key", TEST_KEY])
    assert result.exit_code == 0, result.output
    assert "2 token(s) now encrypted" in result.output

    only_new = TokenCipher([new_key])
    with engine.connect() as conn:
        for token in [r[0] for r in conn.execute(select(bots.c.bot_token))] + [
            r[0] for r in conn.execute(select(installations.c.bot_token))
        ]:
            assert token.startswith("gAAAAA")
            assert only_new.decrypt(token) in ("xoxb-clear", "xoxb-installed-T9")
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_expiring_rotating_token_is_refreshed_for_background_work(
    database_url: str, sim: Sim, fake_slack: FakeSlack
) -> None:
    settings = oauth_settings(database_url, sim.url, fake_slack)
    fake_slack.tokens.add("xoxe.xoxb-new")

    def refresh(args: dict[str, Any]) -> dict[str, Any]:
        assert args.get("grant_type") == "refresh_token"
        assert args.get("refresh_token") == "xoxe-1-refresh-old"
        return {
            "ok": True,
            "access_token": "xoxe.xoxb-new",
            "refresh_token": "xoxe-1-refresh-new",
            "expires_in": 43200,
            "token_type": "bot",
        }

    fake_slack.respond("oauth.v2.access", refresh)
    engine = make_engine(database_url)
    runtime = Runtime(settings=settings, engine=engine)
    store = installation_store(CLIENT_ID, engine, token_cipher(settings))
    soon = datetime.now(UTC) + timedelta(minutes=5)
    bot = Bot(
        app_id="A1",
        enterprise_id=None,
        team_id="T7",
        bot_token="xoxe.xoxb-old",
        bot_refresh_token="xoxe-1-refresh-old",
        bot_token_expires_at=int(soon.timestamp()),
        bot_id="B1",
        bot_user_id="UBOT",
        installed_at=datetime.now(UTC).timestamp(),
    )
    anyio.run(store.async_save_bot, bot)
    client = anyio.run(runtime.slack_client, "T7")
    assert client.token == "xoxe.xoxb-new"
    saved = anyio.run(lambda: store.async_find_bot(enterprise_id=None, team_id="T7"))
    assert saved is not None and saved.bot_refresh_token == "xoxe-1-refresh-new"
    assert "xoxe" not in str(stored_tokens(database_url))  # still encrypted
    engine.dispose()
