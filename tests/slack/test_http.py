from __future__ import annotations

import os
import time

import httpx

from tests.conftest import make_settings
from tests.helpers.app import running_app
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import FORM, command_body


def test_healthz_reports_database(database_url: str, fake_slack: FakeSlack) -> None:
    settings = make_settings(database_url=database_url, slack_api_url=fake_slack.api_url)
    with running_app(settings) as app:
        resp = httpx.get(f"{app.base_url}/healthz")
    assert resp.status_code == 200
    assert resp.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "current",
        "pid": os.getpid(),  # the test server runs in this process
    }


def test_healthz_is_503_when_the_database_is_unreachable(fake_slack: FakeSlack) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    settings = make_settings(database_url=url, slack_api_url=fake_slack.api_url)
    with running_app(settings, migrate_db=False) as app:
        resp = httpx.get(f"{app.base_url}/healthz")
    assert resp.status_code == 503
    assert resp.json()["database"] == "unreachable"


def test_bad_signature_is_401(tmp_sqlite_url: str, fake_slack: FakeSlack) -> None:
    settings = make_settings(database_url=tmp_sqlite_url, slack_api_url=fake_slack.api_url)
    with running_app(settings) as app:
        body = command_body("/switchboard", "help")
        headers = {
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
            "Content-Type": FORM,
        }
        resp = httpx.post(f"{app.base_url}/slack/events", content=body, headers=headers)
        assert resp.status_code == 401
        resp = app.post(body, secret="another-secret")  # type: ignore[arg-type]
        assert resp.status_code == 401
    assert fake_slack.called("auth.test") == []


def test_stale_timestamp_is_401(tmp_sqlite_url: str, fake_slack: FakeSlack) -> None:
    settings = make_settings(database_url=tmp_sqlite_url, slack_api_url=fake_slack.api_url)
    with running_app(settings) as app:
        resp = app.post(command_body("/switchboard", "help"), timestamp=int(time.time()) - 301)
    assert resp.status_code == 401


def test_signed_request_reaches_bolt(tmp_sqlite_url: str, fake_slack: FakeSlack) -> None:
    settings = make_settings(database_url=tmp_sqlite_url, slack_api_url=fake_slack.api_url)
    with running_app(settings) as app:
        body = command_body("/switchboard", "help", response_url=f"{fake_slack.base_url}/respond/1")
        resp = app.post(body)
        assert resp.status_code == 200
    assert fake_slack.called("auth.test"), "Bolt authorised the request with the bot token"
    # The answer is the ack's own body: Slack shows it to the person alone (ephemeral).
    answer = resp.json()
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert "/logcall" in answer["blocks"][0]["text"]["text"]
    assert fake_slack.responses == [], "nothing goes through the response_url"
