"""OAuth installs for many workspaces: install page, redirect, then the stored bot token."""

from __future__ import annotations

import re

import anyio
import httpx

from tests.conftest import TEST_KEY, make_settings
from tests.helpers.app import running_app
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import command_body


def test_install_redirect_and_use_the_installed_token(
    database_url: str, fake_slack: FakeSlack
) -> None:
    settings = make_settings(
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret-1",
        token_encryption_key=TEST_KEY,
        public_url="https://sb.example.com",
    )
    with running_app(settings) as app, httpx.Client(base_url=app.base_url) as http:
        page = http.get("/slack/install")
        assert page.status_code == 200
        link = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page.text)
        assert link is not None
        url = link.group(1).replace("&amp;", "&")
        assert "client_id=111.222" in url and "users:read.email" in url
        assert "redirect_uri=https://sb.example.com/slack/oauth_redirect" in url
        state = re.search(r"state=([^&]+)", url)
        assert state is not None

        # Slack sends the browser back with a code. The state cookie came with the page; it
        # is marked Secure, so over plain http the test carries it by hand.
        cookie = page.headers["set-cookie"].split(";")[0]
        done = http.get(
            "/slack/oauth_redirect",
            params={"code": "9", "state": state.group(1)},
            headers={"Cookie": cookie},
        )
        assert done.status_code == 200, done.text
        assert fake_slack.called("oauth.v2.access")

        # A forged state is refused.
        bad = http.get(
            "/slack/oauth_redirect",
            params={"code": "8", "state": "forged"},
            headers={"Cookie": cookie.split("=")[0] + "=forged"},
        )
        assert bad.status_code in (400, 401) and "Something Went Wrong" in bad.text

        client = anyio.run(app.runtime.slack_client, "T9")
        assert client.token == "xoxb-installed-T9"

        # Requests from the new workspace are authorised with its own token.
        body = command_body(
            "/switchboard", "help", team_id="T9", response_url=f"{fake_slack.base_url}/respond/1"
        )
        answer = app.post(body)
        assert answer.status_code == 200
        assert "/logcall" in answer.json()["blocks"][0]["text"]["text"], "the command was answered"
        assert any(
            c.method == "auth.test" and c.token == "xoxb-installed-T9" for c in fake_slack.calls
        )


def test_oauth_asks_for_the_scopes_of_the_manifest() -> None:
    from pathlib import Path

    from bot.slack.oauth import BOT_SCOPES

    lines = (Path(__file__).resolve().parents[2] / "manifest.yml").read_text().splitlines()
    start = lines.index("    bot:") + 1
    manifest_scopes = []
    for line in lines[start:]:
        if not line.startswith("      - "):
            break
        manifest_scopes.append(line.removeprefix("      - ").strip())
    assert sorted(BOT_SCOPES) == sorted(manifest_scopes)
