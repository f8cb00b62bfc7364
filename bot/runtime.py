"""What every part of a running process shares: settings, the database and the flusher.

Built once by the entry point (CLI or a test) and handed down; nothing reads globals.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.config import Settings
from storage.engine import make_engine
from storage.slack_oauth import TokenCipher, installation_store


def with_retries(client: AsyncWebClient, *, max_retry_count: int = 2) -> AsyncWebClient:
    """Slack's 429 waits its Retry-After and goes again (slack_sdk does not by default)."""
    if not any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count))
    return client


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Answers remembered for `ttl` seconds, at most `max_entries` of them (then forgotten
    all at once: cheaper than an LRU, and a cold cache only costs lookups)."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)


class KeyedLocks:
    """One asyncio lock per key, gone when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def __call__(self, key: Hashable) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock


@dataclass
class Caches:
    """What this process remembers between requests; none of it is needed for correctness."""

    # users.info answers by (token, user id).
    users: TtlCache[tuple[str, str], dict[str, Any]] = field(
        default_factory=lambda: TtlCache[tuple[str, str], dict[str, Any]](ttl=300.0)
    )
    # Channels seen linked to Front lately, by (team, channel): /logcall skips a query.
    linked: TtlCache[tuple[str, str], bool] = field(
        default_factory=lambda: TtlCache[tuple[str, str], bool](ttl=60.0)
    )
    # Two refreshes of one card (or alert) in this process run one after the other.
    locks: KeyedLocks = field(default_factory=KeyedLocks)


class NotInstalled(LookupError):
    """The workspace has no bot token (it uninstalled the app, or never installed it)."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"Switchboard is not installed in workspace {team_id}")
        self.team_id = team_id


def _no_wake() -> None:
    """Used when no flusher runs in this process: the rows wait for a worker."""


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    # Called after a transaction that enqueued deliveries, so the flusher starts now
    # instead of at its next tick.
    wake: Callable[[], None] = field(default=_no_wake)
    caches: Caches = field(default_factory=Caches)
    _slack: AsyncWebClient | None = field(default=None, repr=False)
    _installations: AsyncInstallationStore | None = field(default=None, repr=False)

    async def slack_client(self, team_id: str) -> AsyncWebClient:
        """A Web API client for work done outside a Slack request (deliveries, alerts).

        One workspace (SLACK_BOT_TOKEN): one shared client. OAuth installs look the
        workspace's bot token up in the installation store.
        """
        if self.settings.oauth_enabled:
            return await self._installed_client(team_id)
        if self._slack is None:
            token = self.settings.slack_bot_token
            self._slack = with_retries(
                AsyncWebClient(
                    token=token.get_secret_value() if token else None,
                    base_url=self.settings.slack_api_url,
                )
            )
        return self._slack

    async def _installed_client(self, team_id: str) -> AsyncWebClient:
        settings = self.settings
        if self._installations is None:
            assert settings.slack_client_id is not None  # oauth_enabled
            self._installations = installation_store(
                settings.slack_client_id, self.engine, token_cipher(settings)
            )
        bot = await self._installations.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            raise NotInstalled(team_id)
        if bot.bot_refresh_token is not None:
            # Rotating tokens expire: refresh one close to it, as Bolt does for requests.
            assert settings.slack_client_secret is not None
            rotator = AsyncTokenRotator(
                client_id=settings.slack_client_id or "",
                client_secret=settings.slack_client_secret.get_secret_value(),
                client=with_retries(AsyncWebClient(base_url=settings.slack_api_url)),
            )
            fresh = await rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=settings.token_rotation_expiration_minutes
            )
            if fresh is not None:
                await self._installations.async_save_bot(fresh)
                bot = fresh
        return with_retries(AsyncWebClient(token=bot.bot_token, base_url=settings.slack_api_url))


def token_cipher(settings: Settings) -> TokenCipher:
    """How stored Slack tokens are encrypted (OAuth installs need TOKEN_ENCRYPTION_KEY)."""
    if settings.token_encryption_key is None:
        raise LookupError("TOKEN_ENCRYPTION_KEY is not set")
    old = settings.token_encryption_old_keys
    return TokenCipher.from_keys(
        settings.token_encryption_key.get_secret_value(),
        old.get_secret_value() if old is not None else None,
    )


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(settings=settings, engine=make_engine(settings.database_url))
