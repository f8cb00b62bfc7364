"""Cheap checks of Slack and Front for the status page (cached, with timeouts), and
naming what went wrong on the network in words a person acts on."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bot.config import Settings

TIMEOUT_SECONDS = 2.0
CACHE_SECONDS = 10.0


def network_cause(exc: BaseException) -> str:
    """ "connection refused", "name not resolved", "timed out"…, from any library's error
    (httpx, urllib, aiohttp, the socket module): the chain of causes is searched."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _one_cause(current)
        if found:
            return found
        reason = getattr(current, "reason", None)  # urllib's URLError carries it here
        nxt = reason if isinstance(reason, BaseException) else None
        current = nxt or current.__cause__ or current.__context__
    text = str(exc).lower()
    for needle, cause in (
        ("refused", "connection refused"),
        ("name or service not known", "name not resolved"),
        ("nodename nor servname", "name not resolved"),
        ("temporary failure in name resolution", "name not resolved"),
        ("timed out", "timed out"),
        ("certificate", "TLS certificate not accepted"),
    ):
        if needle in text:
            return cause
    return type(exc).__name__


def _one_cause(exc: BaseException) -> str | None:
    if isinstance(exc, socket.gaierror):
        return "name not resolved"
    if isinstance(exc, TimeoutError | socket.timeout | httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS certificate not accepted"
    if isinstance(exc, ssl.SSLError):
        return "TLS error"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "network unreachable"
    return None


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str  # never holds a token: statuses, names of errors, a team's Slack name


async def probe_slack(settings: Settings, client: httpx.AsyncClient) -> Probe:
    """auth.test with the bot token (one workspace), api.test otherwise."""
    token = settings.slack_bot_token
    method = "auth.test" if token is not None else "api.test"
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
    try:
        resp = await client.post(settings.slack_api_url + method, headers=headers)
        data = resp.json()
    except Exception as exc:
        return Probe(False, f"does not answer: {network_cause(exc)}")
    if not isinstance(data, dict) or not data.get("ok"):
        error = data.get("error", f"HTTP {resp.status_code}") if isinstance(data, dict) else "?"
        return Probe(False, f"answers, but {method} says {error}")
    return Probe(True, f"answers ({method} ok)")


async def probe_front(settings: Settings, client: httpx.AsyncClient) -> Probe:
    """Any HTTP answer from the Channel API's host means it is up; no credentials sent."""
    try:
        resp = await client.get(settings.front_api_url.rstrip("/") + "/")
    except Exception as exc:
        return Probe(False, f"does not answer: {network_cause(exc)}")
    return Probe(True, f"answers (HTTP {resp.status_code})")


class CachedProbes:
    """Each check runs at most once per `ttl` seconds, however many pages are loaded."""

    def __init__(self, settings: Settings, *, ttl: float = CACHE_SECONDS) -> None:
        self.settings = settings
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Probe]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _cached(
        self, name: str, check: Callable[[Settings, httpx.AsyncClient], Awaitable[Probe]]
    ) -> Probe:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            hit = self._cache.get(name)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                try:
                    result = await asyncio.wait_for(check(self.settings, client), TIMEOUT_SECONDS)
                except TimeoutError:
                    result = Probe(False, "does not answer: timed out")
            self._cache[name] = (time.monotonic(), result)
            return result

    async def slack(self) -> Probe:
        return await self._cached("slack", probe_slack)

    async def front(self) -> Probe:
        return await self._cached("front", probe_front)
