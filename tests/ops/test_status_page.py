"""GET / (the status page) and its figures behind STATUS_TOKEN, over a real server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.core import links
from bot.delivery.outbox import SlackContext, conversation_lane, enqueue
from storage.engine import make_engine, session_scope
from storage.models import DeliveryProcess, Workspace, utcnow
from tests.conftest import TEST_KEY, make_settings
from tests.helpers.app import running_app
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack
from tests.helpers.slack_signing import SIGNING_SECRET

STATUS_TOKEN = "status-token-0123456789abcdef"
FRONT_SECRET = "front-app-secret-0123456789abcdef0123456789"
CUSTOMER = "Ada Lovelace-Byron"
MESSAGE = "Please call me back about invoice 4471"
# Cases that do not depend on the database run on SQLite only.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung service)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


def _settings(database_url: str, fake_slack: FakeSlack, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "database_url": database_url,
        "slack_api_url": fake_slack.api_url,
        "front_api_url": fake_slack.base_url,  # anything that answers HTTP
        "front_app_uid": "app_status",
        "front_app_secret": FRONT_SECRET,
    }
    return make_settings(**(values | kw))


def _seed(database_url: str) -> None:
    """A pending delivery carrying a customer's name and message; a paused workspace whose
    reason quotes Front; a delivery process that reported."""
    engine = make_engine(database_url)
    now = utcnow()
    with session_scope(engine) as session:
        links.connect(
            session, team_id="T1", slack_channel_id="C1", front_channel_id="cha_1", user_id="U1"
        )
        row = enqueue(
            session,
            operation="sync_inbound_message",
            front_channel_id="cha_1",
            lane=conversation_lane("cha_1", "conv-1"),
            payload={
                "sender": {"handle": "+14155550100", "name": CUSTOMER},
                "body": MESSAGE,
                "metadata": {"external_id": "m1", "external_conversation_id": "conv-1"},
            },
            context=SlackContext(team_id="T1", channel_id="C1", thread_ts=None, user_id="U1"),
        )
        row.created_at = now - timedelta(minutes=5)
        session.add(row)
        session.add(
            Workspace(
                team_id="T2",
                paused_at=now,
                paused_reason=f"Front refused our credentials: {CUSTOMER} {MESSAGE}",
            )
        )
        session.add(
            DeliveryProcess(
                owner="host-a:4242",
                host="host-a",
                pid=4242,
                started_at=now,
                last_flush_at=now - timedelta(seconds=3),
                delivered=7,
                failed=1,
                updated_at=now,
            )
        )
    engine.dispose()


@sqlite_only
def test_page_without_a_status_token_shows_health_and_urls_but_no_figures(
    database_url: str, fake_slack: FakeSlack
) -> None:
    with running_app(_settings(database_url, fake_slack)) as app:
        page = httpx.get(app.base_url + "/")
        metrics = httpx.get(app.base_url + "/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "<script" not in text.lower()
    assert "version 0.1.0" in text
    assert "<td>HTTP</td>" in text and "one workspace" in text
    assert "/slack/install" not in text  # no Add to Slack with one workspace
    assert "up to date" in text and "answers (auth.test ok)" in text
    assert f"<code>{app.base_url}/slack/events</code>" in text
    assert f"<code>{app.base_url}/front/webhook</code>" in text
    assert "oauth_redirect" not in text
    assert "Set STATUS_TOKEN" in text and "Oldest still to deliver" not in text
    assert metrics.status_code == 200  # open when no STATUS_TOKEN is set


def test_figures_need_the_token_by_header_or_login_cookie(
    database_url: str, fake_slack: FakeSlack
) -> None:
    _seed(database_url)
    settings = _settings(database_url, fake_slack, status_token=STATUS_TOKEN)
    with running_app(settings) as app, httpx.Client(base_url=app.base_url) as http:
        locked = http.get("/")
        assert "name='token'" in locked.text and "Oldest still to deliver" not in locked.text
        wrong = http.get("/", headers={"Authorization": "Bearer nope"})
        assert "Oldest still to deliver" not in wrong.text

        shown = http.get("/", headers={"Authorization": f"Bearer {STATUS_TOKEN}"})
        assert "Oldest still to deliver" in shown.text
        assert "<tr><th>pending</th><td>1</td></tr>" in shown.text
        assert "5 min" in shown.text  # the oldest pending row's age
        assert "<code>T2</code>" in shown.text and "Front refused the credentials" in shown.text
        assert "host-a" in shown.text and "4242" in shown.text and "3 s ago" in shown.text

        bad = http.post("/status/login", data={"token": "guess"})
        assert bad.status_code == 303 and bad.headers["location"] == "/?login=failed"
        assert "set-cookie" not in bad.headers
        assert "not right" in http.get("/?login=failed").text

        good = http.post("/status/login", data={"token": STATUS_TOKEN})
        assert good.status_code == 303
        cookie = good.headers["set-cookie"]
        http.cookies.clear()  # carried by hand below
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert STATUS_TOKEN not in cookie  # an HMAC of it, not the token
        value = cookie.split(";")[0].split("=", 1)[1]
        with_cookie = http.get("/", headers={"Cookie": f"switchboard_status={value}"})
        assert "Oldest still to deliver" in with_cookie.text
        forged = http.get("/", headers={"Cookie": "switchboard_status=" + "0" * 64})
        assert "Oldest still to deliver" not in forged.text

        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = http.get("/metrics", headers={"Authorization": f"Bearer {STATUS_TOKEN}"})
        assert ok.status_code == 200


def test_the_page_never_shows_a_secret_a_customer_or_a_message(
    database_url: str, fake_slack: FakeSlack
) -> None:
    _seed(database_url)
    settings = _settings(
        database_url,
        fake_slack,
        status_token=STATUS_TOKEN,
        front_api_token="front-api-token-0123456789",
        public_url="https://sb.example.com/<b>x</b>",
    )
    with running_app(settings) as app:
        page = httpx.get(app.base_url + "/", headers={"Authorization": f"Bearer {STATUS_TOKEN}"})
    text = page.text
    assert "Oldest still to deliver" in text  # the figures are there...
    for secret in (
        STATUS_TOKEN,
        SIGNING_SECRET,
        BOT_TOKEN,
        FRONT_SECRET,
        "front-api-token-0123456789",
        CUSTOMER,
        "Lovelace",
        MESSAGE,
        "invoice",
        "+14155550100",
    ):
        assert secret not in text, secret
    # ...and what came from settings is escaped.
    assert "<b>x</b>" not in text
    assert "https://sb.example.com/&lt;b&gt;x&lt;/b&gt;/slack/events" in text


@sqlite_only
def test_oauth_mode_offers_add_to_slack_and_the_redirect_url(
    database_url: str, fake_slack: FakeSlack
) -> None:
    settings = _settings(
        database_url,
        fake_slack,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret-1",
        token_encryption_key=TEST_KEY,
        public_url="https://sb.example.com",
    )
    with running_app(settings) as app:
        text = httpx.get(app.base_url + "/").text
    assert "OAuth installs" in text
    assert "<a class='slack-button' href='/slack/install'>" in text and "Add to" in text
    assert "<code>https://sb.example.com/slack/oauth_redirect</code>" in text
    assert "<code>https://sb.example.com/slack/events</code>" in text
    assert "from PUBLIC_URL" in text
    assert "answers (api.test ok)" in text


@sqlite_only
def test_a_hung_slack_or_front_never_hangs_the_page_and_checks_are_cached(
    database_url: str, fake_slack: FakeSlack
) -> None:
    with silent_port() as hung, silent_port() as hung_front:
        settings = _settings(
            database_url,
            fake_slack,
            slack_api_url=f"http://127.0.0.1:{hung}/api/",
            front_api_url=f"http://127.0.0.1:{hung_front}",
        )
        with running_app(settings) as app:
            started = time.monotonic()
            page = httpx.get(app.base_url + "/", timeout=20)
            took = time.monotonic() - started
            again = time.monotonic()
            httpx.get(app.base_url + "/", timeout=20)
            cached = time.monotonic() - again
    assert page.status_code == 200
    assert took < 6, took
    assert page.text.count("does not answer: timed out") == 2
    assert cached < 1, cached  # the answers are remembered for a few seconds


@sqlite_only
def test_slack_is_asked_once_for_several_page_loads(
    database_url: str, fake_slack: FakeSlack
) -> None:
    with running_app(_settings(database_url, fake_slack)) as app:
        for _ in range(3):
            assert httpx.get(app.base_url + "/").status_code == 200
    assert len(fake_slack.called("auth.test")) == 1


@sqlite_only
def test_front_refusing_connections_is_named(database_url: str, fake_slack: FakeSlack) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        settings = _settings(database_url, fake_slack, front_api_url=f"http://127.0.0.1:{port}")
        with running_app(settings) as app:
            text = httpx.get(app.base_url + "/").text
    assert "does not answer: connection refused" in text
