"""Front's callbacks: the timestamp is a finite, recent number of plain digits (seconds or
milliseconds), either side of now; and nothing unsigned is answered, DELETE included."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.features.messages.replies import CallbackRefused, sign, verify_signature
from tests.conftest import make_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack

SECRET = "front-app-secret-reliability"
AUTHORIZE = json.dumps({"type": "authorization", "payload": {"channel_id": "cha_1"}}).encode()


@pytest.fixture
def app(tmp_sqlite_url: str, fake_slack: FakeSlack) -> Iterator[RunningApp]:
    settings = make_settings(
        database_url=tmp_sqlite_url,
        slack_api_url=fake_slack.api_url,
        front_app_uid="app_1",
        front_app_secret=SECRET,
    )
    with running_app(settings) as running:
        yield running


def send(
    app: RunningApp,
    ts: str | None,
    *,
    method: str = "POST",
    body: bytes = AUTHORIZE,
    signed: bool = True,
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if ts is not None:
        headers["X-Front-Request-Timestamp"] = ts
        if signed:
            headers["X-Front-Signature"] = sign(secret=SECRET, timestamp=ts, body=body)
    return httpx.request(method, f"{app.base_url}/front/webhook", content=body, headers=headers)


# Finding 9: `nan` passed the age check ------------------------------------------------


@pytest.mark.parametrize("ts", ["nan", "NaN", "inf", "-inf", "1e400"])
def test_a_timestamp_that_is_not_a_finite_number_is_refused_though_signed(
    app: RunningApp, ts: str
) -> None:
    resp = send(app, ts)
    assert resp.status_code == 401, resp.text
    assert send(app, ts, method="DELETE").status_code == 401


@pytest.mark.parametrize("ts", ["{now}.5", "+{now}", "{a}_{b}", "{now}e0", "-{now}", ""])
def test_only_plain_digits_are_a_timestamp(ts: str) -> None:
    now = str(int(time.time()))
    ts = ts.format(now=now, a=now[:1], b=now[1:])
    with pytest.raises(CallbackRefused) as refused:
        verify_signature(
            secret=SECRET,
            timestamp=ts,
            signature=sign(secret=SECRET, timestamp=ts, body=b"{}"),
            body=b"{}",
        )
    assert refused.value.status == 401


def test_seconds_and_milliseconds_now_are_accepted(app: RunningApp) -> None:
    now = time.time()
    assert send(app, str(int(now))).status_code == 200
    assert send(app, str(int(now * 1000))).status_code == 200


# Deliberate-bug checks: these fail if the fixed bug comes back -------------------------


@pytest.mark.parametrize("unit", [1, 1000])
def test_a_callback_dated_more_than_five_minutes_ahead_is_refused(
    app: RunningApp, unit: int
) -> None:
    """Fails if the age check loses its `abs` (`now - ts` is negative for the future).
    Well past the window: the request may reach the server a second or two later."""
    ahead = str(int((time.time() + 330) * unit))
    assert send(app, ahead).status_code == 401
    assert send(app, ahead, method="DELETE").status_code == 401
    behind = str(int((time.time() - 330) * unit))
    assert send(app, behind).status_code == 401


def test_verify_signature_refuses_the_future_with_a_fixed_clock() -> None:
    now = 1_800_000_000.0
    for ts in (str(int(now + 301)), str(int((now + 301) * 1000))):
        with pytest.raises(CallbackRefused):
            verify_signature(
                secret=SECRET,
                timestamp=ts,
                signature=sign(secret=SECRET, timestamp=ts, body=b"{}"),
                body=b"{}",
                now=now,
            )
    ts = str(int(now + 299))
    verify_signature(
        secret=SECRET,
        timestamp=ts,
        signature=sign(secret=SECRET, timestamp=ts, body=b"{}"),
        body=b"{}",
        now=now,
    )


def test_an_unsigned_delete_is_refused(app: RunningApp) -> None:
    """Fails if DELETE is answered before (or without) the signature check."""
    now = str(int(time.time()))
    assert send(app, None, method="DELETE", body=b"").status_code == 401
    assert send(app, now, method="DELETE", body=b"", signed=False).status_code == 401
    # Non-ASCII (latin-1 on the wire): comparing it must not raise.
    for signature in (b"AAAA", b"\xe9" * 44):
        bad = {"X-Front-Request-Timestamp": now.encode(), "X-Front-Signature": signature}
        resp = httpx.delete(f"{app.base_url}/front/webhook", headers=bad)
        assert resp.status_code == 401
    # Signed, it is answered.
    assert send(app, now, method="DELETE", body=b"").status_code == 200


def test_an_unsigned_delete_is_refused_when_no_secret_is_set(
    tmp_sqlite_url: str, fake_slack: FakeSlack
) -> None:
    settings = make_settings(database_url=tmp_sqlite_url, slack_api_url=fake_slack.api_url)
    with running_app(settings) as app:
        assert httpx.delete(f"{app.base_url}/front/webhook").status_code == 401


def test_signed_bodies_that_are_not_callbacks_are_400(app: RunningApp) -> None:
    now = str(int(time.time()))
    for body in (b"[" * 5000, b"[]", b"\xff", b'{"type": 1}'):
        assert send(app, now, body=body).status_code == 400, body[:20]
