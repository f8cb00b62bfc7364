"""JWT and API-token credentials, checked by the simulator; secrets never leak."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from bot.front import (
    FrontClient,
    FrontError,
    FrontRejected,
    FrontUnauthorized,
    InvalidRequest,
    JwtAuth,
    TokenAuth,
    auth_from_settings,
)
from bot.frontsim import SimConfig

from .conftest import Sim
from .simulator import API_TOKEN, APP_SECRET, APP_UID, CHANNEL, make_jwt, valid_bodies

pytestmark = pytest.mark.anyio


class RecordingJwtAuth(JwtAuth):
    """Keeps every header it made, so tests can look for them where they must not be."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.issued: list[str] = []

    def authorization(self, channel_id: str) -> str:
        header = super().authorization(channel_id)
        self.issued.append(header.removeprefix("Bearer "))
        return header


def _capture() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    return seen, httpx.MockTransport(handler)


async def test_jwt_claims_are_fresh_per_request() -> None:
    seen, transport = _capture()
    channels = ["cha_1", "alt:address:+33123456789", "cha_1"]
    async with FrontClient(
        "https://front.test", JwtAuth(APP_UID, APP_SECRET), transport=transport
    ) as c:
        for channel in channels:
            await c.update_channel(channel, {"status": "ok"})
    tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in seen]
    assert len(set(tokens)) == 3
    claims = [
        jwt.decode(t, APP_SECRET, algorithms=["HS256"], options={"verify_exp": True})
        for t in tokens
    ]
    for token, claim, channel in zip(tokens, claims, channels, strict=True):
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        assert claim["iss"] == APP_UID
        assert claim["sub"] == channel  # the channel id itself, not its URL-quoted form
        assert claim["exp"] - claim["iat"] == 10
        assert claim["exp"] > time.time()
        assert len(claim["jti"]) >= 16
    assert len({c["jti"] for c in claims}) == 3


async def test_jwt_ttl_is_configurable() -> None:
    auth = JwtAuth(APP_UID, SecretStr(APP_SECRET), ttl_seconds=3)
    claims = jwt.decode(
        auth.token("cha_1", now=1_000_000.0),
        APP_SECRET,
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    assert (claims["iat"], claims["exp"]) == (1_000_000, 1_000_003)


async def test_simulator_accepts_jwt_and_api_token(front_sim: Sim) -> None:
    for auth in (JwtAuth(APP_UID, APP_SECRET), TokenAuth(SecretStr(API_TOKEN))):
        async with FrontClient(front_sim.url, auth) as client:
            result = await client.update_channel(CHANNEL, {"status": "offline"})
        assert result.status_code == 204
    assert front_sim.state.stats()["accepted"] == {"update_channel": 2}


@pytest.mark.parametrize(
    "auth",
    [
        JwtAuth(APP_UID, "another-secret-of-enough-length-0123456789"),
        JwtAuth("another_app", APP_SECRET),
        TokenAuth("wrong-token-of-the-right-length-0123456789"),
    ],
    ids=["wrong secret", "wrong app uid", "wrong token"],
)
async def test_simulator_refuses_bad_credentials(front_sim: Sim, auth: Any) -> None:
    async with FrontClient(front_sim.url, auth) as client:
        with pytest.raises(FrontUnauthorized) as info:
            await client.update_channel(CHANNEL, {"status": "ok"})
    err = info.value
    assert err.status_code == 401 and err.title == "Unauthorized" and not err.retryable
    assert front_sim.state.requests() == []
    assert front_sim.state.stats()["unauthorized"] == 1


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("Basic dXNlcjpwYXNz", "missing"),
        ("Bearer not-a-jwt", "not a valid token"),
        (lambda: make_jwt("cha_other"), "sub"),
        (lambda: make_jwt(CHANNEL, exp=int(time.time()) - 3600), "expired"),
        (lambda: make_jwt(CHANNEL, exp=None), "exp"),
        (lambda: make_jwt(CHANNEL, sub=None), "sub"),
        (lambda: make_jwt(CHANNEL, iss=None), "iss"),
        (lambda: make_jwt(CHANNEL, jti=None), "jti"),
        (lambda: make_jwt(CHANNEL, app_uid="app_other"), "iss"),
    ],
    ids=[
        "none",
        "basic",
        "garbage",
        "other channel",
        "expired",
        "no exp",
        "no sub",
        "no iss",
        "no jti",
        "other app",
    ],
)
async def test_simulator_checks_each_claim(front_sim: Sim, header: Any, reason: str) -> None:
    headers = {}
    if header is not None:
        value = header() if callable(header) else header
        headers["Authorization"] = value if " " in value else f"Bearer {value}"
    async with httpx.AsyncClient(base_url=front_sim.url, verify=False) as http:
        response = await http.patch(f"/channels/{CHANNEL}", json={"status": "ok"}, headers=headers)
    assert response.status_code == 401
    error = response.json()["_error"]
    assert error["status"] == 401 and reason in error["message"]
    assert "x-ratelimit-limit" in response.headers


async def test_simulator_refuses_a_replayed_token(front_sim: Sim) -> None:
    headers = {"Authorization": f"Bearer {make_jwt(CHANNEL)}"}
    async with httpx.AsyncClient(base_url=front_sim.url, verify=False) as http:
        first = await http.patch(f"/channels/{CHANNEL}", json={"status": "ok"}, headers=headers)
        second = await http.patch(f"/channels/{CHANNEL}", json={"status": "ok"}, headers=headers)
    assert (first.status_code, second.status_code) == (204, 401)
    assert "already used" in second.json()["_error"]["message"]


async def test_token_only_simulator_refuses_jwts(front_sim: Sim) -> None:
    front_sim.state.configure(app_secret=None)
    async with FrontClient(front_sim.url, JwtAuth(APP_UID, APP_SECRET)) as client:
        with pytest.raises(FrontUnauthorized):
            await client.update_channel(CHANNEL, {})
    async with FrontClient(front_sim.url, TokenAuth(API_TOKEN)) as client:
        assert (await client.update_channel(CHANNEL, {})).status_code == 204


def test_auth_from_settings_prefers_jwt_then_token() -> None:
    jwt_auth = auth_from_settings(APP_UID, SecretStr(APP_SECRET), SecretStr(API_TOKEN))
    assert isinstance(jwt_auth, JwtAuth) and jwt_auth.app_uid == APP_UID
    assert isinstance(auth_from_settings(None, SecretStr(APP_SECRET), API_TOKEN), TokenAuth)
    assert isinstance(auth_from_settings(APP_UID, None, SecretStr(API_TOKEN)), TokenAuth)
    assert isinstance(auth_from_settings(APP_UID, SecretStr("  "), API_TOKEN), TokenAuth)
    with pytest.raises(ValueError, match="FRONT_APP_UID"):
        auth_from_settings(APP_UID, None, None)
    with pytest.raises(ValueError):
        auth_from_settings(None, None, SecretStr(""))


# Redaction ---------------------------------------------------------------------------


def test_reprs_hide_secrets() -> None:
    texts = [
        repr(JwtAuth(APP_UID, APP_SECRET)),
        str(JwtAuth(APP_UID, SecretStr(APP_SECRET))),
        repr(TokenAuth(API_TOKEN)),
        repr(FrontClient("https://front.test", TokenAuth(API_TOKEN))),
        repr(FrontClient("https://front.test", JwtAuth(APP_UID, APP_SECRET))),
        repr(SimConfig(app_uid=APP_UID, app_secret=APP_SECRET, api_token=API_TOKEN)),
        str(SimConfig(app_secret=APP_SECRET, api_token=API_TOKEN).public()),
    ]
    for text in texts:
        assert APP_SECRET not in text and API_TOKEN not in text
    assert APP_UID in texts[0]


async def test_error_messages_never_carry_credentials() -> None:
    """Even when the server echoes them back, as a misbehaving proxy could."""
    auth = RecordingJwtAuth(APP_UID, APP_SECRET)

    def echo(request: httpx.Request) -> httpx.Response:
        header = request.headers["authorization"]
        status = {"/channels/a": 401, "/channels/b": 400, "/channels/c": 500}[request.url.path]
        body = {
            "_error": {
                "status": status,
                "title": f"Bad {header}",
                "message": f"got {header} signed with {APP_SECRET}",
            }
        }
        return httpx.Response(status, json=body)

    errors: list[FrontError] = []
    async with FrontClient("https://front.test", auth, transport=httpx.MockTransport(echo)) as c:
        for channel in ("a", "b", "c"):
            with pytest.raises(FrontError) as info:
                await c.update_channel(channel, {"status": "ok"})
            errors.append(info.value)
    token_auth = TokenAuth(API_TOKEN)

    def echo_token(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text=f"forbidden: {request.headers['authorization']}")

    async with FrontClient(
        "https://front.test", token_auth, transport=httpx.MockTransport(echo_token)
    ) as c:
        with pytest.raises(FrontUnauthorized) as info:
            await c.update_channel("a", {})
        errors.append(info.value)

    assert [type(e) for e in errors] == [
        FrontUnauthorized,
        FrontRejected,
        type(errors[2]),
        FrontUnauthorized,
    ]
    forbidden = [APP_SECRET, API_TOKEN, *auth.issued]
    for err in errors:
        for text in (str(err), repr(err), err.message, err.title):
            assert all(secret not in text for secret in forbidden), text
        assert "[redacted]" in err.message


async def test_logs_never_carry_credentials(
    front_sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    auth = RecordingJwtAuth(APP_UID, APP_SECRET)
    async with FrontClient(front_sim.url, auth) as client:
        await client.create_call(CHANNEL, valid_bodies()["create_call"])
        await client.sync_inbound_message(CHANNEL, valid_bodies()["sync_inbound_message"])
        with pytest.raises(FrontRejected):
            await client.update_call(CHANNEL, "missing", {"call_status": "hangup"})
        with pytest.raises(InvalidRequest):
            await client.update_call(CHANNEL, "call_1", {"call_status": "nope"})
    async with FrontClient(front_sim.url, JwtAuth(APP_UID, "x" * 40)) as client:
        with pytest.raises(FrontUnauthorized) as info:
            await client.update_channel(CHANNEL, {})
        logging.getLogger("test").exception("delivery failed", exc_info=info.value)
    async with FrontClient(front_sim.url, TokenAuth("wrong-" + API_TOKEN)) as client:
        with pytest.raises(FrontUnauthorized):
            await client.update_channel(CHANNEL, {})

    # The locally refused request never got a token.
    assert len(auth.issued) == 3 and caplog.records
    forbidden = [APP_SECRET, API_TOKEN, "x" * 40, *auth.issued]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert all(secret not in logged for secret in forbidden)
    rejections = str(front_sim.state.rejections())
    assert all(secret not in rejections for secret in forbidden)


def test_auth_refuses_empty_credentials() -> None:
    with pytest.raises(ValueError):
        JwtAuth("", APP_SECRET)
    with pytest.raises(ValueError):
        JwtAuth(APP_UID, "")
    with pytest.raises(ValueError):
        TokenAuth(SecretStr(""))
