"""Slack requests are verified in the HTTP layer, before Bolt: an unverified request acts on
nobody and leaves nothing of itself in the log; a signed body Slack would never send is a
400, not a traceback."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import make_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import FORM, SIGNING_SECRET, command_body

JSON = "application/json"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def app(
    tmp_sqlite_url: str, fake_slack: FakeSlack, logs: pytest.LogCaptureFixture
) -> Iterator[RunningApp]:
    # Logging is set up first, as `serve` does: Bolt copies the root level when built.
    settings = make_settings(database_url=tmp_sqlite_url, slack_api_url=fake_slack.api_url)
    with running_app(settings) as running:
        yield running


def sign(body: bytes, ts: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's signature of any bytes (slack_sdk's helper wants UTF-8 text)."""
    base = b"v0:" + ts.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(
    app: RunningApp,
    body: bytes | str,
    *,
    content_type: str = FORM,
    ts: str | None = None,
    signature: str | None = None,
    signed: bool = True,
) -> httpx.Response:
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time())) if ts is None else ts
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
    if signed or signature is not None:
        headers["X-Slack-Signature"] = signature or sign(raw, ts)
    return httpx.post(f"{app.base_url}/slack/events", content=raw, headers=headers, timeout=30)


def server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the app logged (the test's own HTTP client logs too, in this process)."""
    return [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]


def everything_logged(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> str:
    """Every record as a handler would write it, tracebacks included."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(r) for r in server_records(caplog) if r.levelno >= level)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in server_records(caplog)
        if (r.exc_info or r.exc_text) and r.levelno > logging.DEBUG
    ]


# Finding 1: an unsigned request made the bot write to any user ------------------------


def test_an_unsigned_request_with_a_malformed_timestamp_writes_to_nobody(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    body = command_body("/logcall", "", user_id="U0002", channel_id="C0002")
    resp = post(app, body, ts="x", signature="v0=" + "0" * 64)
    assert resp.status_code == 401
    # A signed request after it: anything the first one set off would be done by now.
    ok = post(app, command_body("/switchboard", "help", response_url=""))
    assert ok.status_code == 200
    assert not [c for c in fake_slack.calls if c.args.get("user") == "U0002"]
    assert not [c for c in fake_slack.calls if c.args.get("channel") in ("U0002", "C0002")]


@pytest.mark.parametrize(
    "ts", ["x", "", "+{now}", "{now}.0", "{a}_{b}", "nan", "1e9", "-1", "1" * 40], ids=repr
)
def test_a_timestamp_that_is_not_plain_digits_now_is_401_even_when_signed(
    app: RunningApp, fake_slack: FakeSlack, ts: str
) -> None:
    now = str(int(time.time()))
    # Signed with the real secret: only the timestamp's form is wrong (`int()` takes
    # "+1", "1_0" and surrounding blanks; Bolt's check took them).
    ts = ts.format(now=now, a=now[:1], b=now[1:])
    body = command_body("/switchboard", "help", user_id="U0002")
    resp = post(app, body, ts=ts, signature=sign(body.encode(), ts))
    assert resp.status_code == 401
    assert fake_slack.calls == []


@pytest.mark.parametrize("ts", [" {now}", "{now} ", "{now}\n", "١٧٠٠٠٠٠٠٠٠", "{now}\x00"])
def test_timestamps_no_http_client_would_send_are_refused_too(ts: str) -> None:
    from bot.slack_requests import Refused, check_headers

    with pytest.raises(Refused) as refused:
        check_headers(ts.format(now=int(time.time())), "v0=" + "0" * 64)
    assert refused.value.status == 401


def test_a_future_timestamp_is_401(app: RunningApp) -> None:
    # Well past the window: the request may reach the server a second or two later.
    body = command_body("/switchboard", "help")
    assert post(app, body, ts=str(int(time.time()) + 330)).status_code == 401


def test_the_window_is_five_minutes_either_way() -> None:
    from bot.slack_requests import Refused, check_headers

    sig, now = "v0=" + "0" * 64, 1_700_000_000.0
    for ts in (now - 300, now + 300):
        check_headers(str(int(ts)), sig, now=now)
    for ts in (now - 301, now + 301):
        with pytest.raises(Refused):
            check_headers(str(int(ts)), sig, now=now)


def test_no_middleware_or_listener_runs_for_an_unverified_event(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    from sqlmodel import select

    from storage.engine import session_scope
    from storage.models import SlackEvent

    body = '{"type":"event_callback","event_id":"EvUnsigned","event":{"type":"app_home_opened"}}'
    resp = post(app, body, content_type=JSON, signature="v0=" + "1" * 64)
    assert resp.status_code == 401
    with session_scope(app.runtime.engine, readonly=True) as s:
        assert s.exec(select(SlackEvent)).all() == []  # the dedup middleware never ran
    assert fake_slack.calls == []


# Finding 6: unverified bodies reached the log; malformed ones answered with a traceback --


def test_unverified_bodies_leave_nothing_of_themselves_in_the_log(
    app: RunningApp, logs: pytest.LogCaptureFixture
) -> None:
    big = "text=" + "A" * (2 * 1024 * 1024)
    for _ in range(3):
        resp = post(app, big, signature="v0=" + "0" * 64)
        assert resp.status_code in (401, 413)
    forged = "text=hi%0A&x=1\nCRITICAL root: forged line\n"
    assert post(app, forged, signature="v0=" + "0" * 64).status_code == 401
    logged = everything_logged(logs)
    assert "AAAA" not in logged
    assert "forged" not in logged
    assert len(logged) < 2_000, logged[:500]
    assert tracebacks(logs) == []


MALFORMED: list[tuple[str, bytes, str]] = [
    ("payload that is not JSON", b"payload=%7B", FORM),
    ("payload that is a list", b"payload=" + quote("[]").encode(), FORM),
    ("payload nested 5,000 deep", b"payload=" + quote("[" * 5000).encode(), FORM),
    ("JSON list", b"[]", JSON),
    ("JSON nested 5,000 deep", b"[" * 5000, JSON),
    ("JSON object cut short", b'{"type": "event_callback"', JSON),
    ("brace that is not JSON", b"{not json", FORM),
    ("not UTF-8", b"text=\xff\xfe", FORM),
]


@pytest.mark.parametrize(("what", "body", "ctype"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_unsigned_malformed_bodies_are_401(
    app: RunningApp, logs: pytest.LogCaptureFixture, what: str, body: bytes, ctype: str
) -> None:
    assert post(app, body, content_type=ctype, signature="v0=" + "0" * 64).status_code == 401
    assert tracebacks(logs) == []


@pytest.mark.parametrize(("what", "body", "ctype"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_signed_malformed_bodies_are_400_without_a_traceback(
    app: RunningApp,
    fake_slack: FakeSlack,
    logs: pytest.LogCaptureFixture,
    what: str,
    body: bytes,
    ctype: str,
) -> None:
    assert post(app, body, content_type=ctype).status_code == 400
    assert tracebacks(logs) == []
    assert not [r for r in logs.records if r.levelno >= logging.ERROR]
    assert fake_slack.calls == []


def test_a_body_over_the_cap_is_413_signed_or_not(
    app: RunningApp, logs: pytest.LogCaptureFixture
) -> None:
    body = b"text=" + b"a" * (1024 * 1024)
    assert post(app, body).status_code == 413
    # Sent in chunks, without a Content-Length: counted as it arrives.
    ts = str(int(time.time()))

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"a" * 65536

    resp = httpx.post(
        f"{app.base_url}/slack/events",
        content=chunks(),
        headers={
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    )
    assert resp.status_code == 413
    assert tracebacks(logs) == []


def test_an_exception_escaping_bolt_is_one_log_line_and_a_500(
    app: RunningApp, logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slack_bolt.async_app import AsyncApp

    async def broken(self: AsyncApp, req: object) -> object:
        raise RuntimeError("boom\nCRITICAL root: forged by the payload")

    monkeypatch.setattr(AsyncApp, "async_dispatch", broken)
    resp = post(app, command_body("/switchboard", "help"))
    assert resp.status_code == 500
    assert tracebacks(logs) == []
    lines = [r for r in logs.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, everything_logged(logs)
    # At the level `serve` logs at; `--log-level debug` adds the traceback.
    assert "forged" not in everything_logged(logs, logging.INFO)


def test_signed_requests_still_reach_bolt(app: RunningApp, fake_slack: FakeSlack) -> None:
    body = command_body("/switchboard", "help", response_url=f"{fake_slack.base_url}/respond/1")
    assert post(app, body).status_code == 200
    fake_slack.wait_for("auth.test")
    event = '{"type":"url_verification","challenge":"c-123","token":"legacy"}'
    resp = post(app, event, content_type=JSON)
    assert resp.status_code == 200 and "c-123" in resp.text
