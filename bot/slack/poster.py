"""Posting what is queued for Slack (`bot.core.slack_posts`), retried until Slack takes it.

Each feature says how to show a kind of post (`PostKinds.add`): `send` does the Slack
calls (rendering from the database as it is now) and returns what `record` stores, in the
transaction that marks the post done (a card's ts, say). A Slack outage, a 5xx, a timeout
or a 429 puts the post back in the queue (a 429 after its `Retry-After`, not counted as an
attempt); an error Slack will repeat (`channel_not_found`, a `UserError`) gives it up, and
the kind's `failed` runs in that transaction: it can queue a word to the person, who then
hears about it once Slack answers again. Lanes keep order: a card before its thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.core import slack_posts
from bot.core.errors import UserError
from bot.core.slack_posts import PostJob
from bot.core.uow import in_transaction
from bot.runtime import NotInstalled, Runtime
from storage.models import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

# Slack says these when it is having a bad moment, not when the request is wrong.
RETRYABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)


def slack_is_down(exc: SlackApiError) -> bool:
    """Whether asking again later may work (a 5xx, a 429, Slack's own "try later")."""
    status = exc.response.status_code
    return status == 429 or status >= 500 or exc.response.get("error") in RETRYABLE_ERRORS


MAX_BACKOFF_SECONDS = 300.0
# A post Slack has refused to take for this long is given up (its kind says so to people).
MAX_AGE = timedelta(hours=24)
MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class PostContext:
    runtime: Runtime
    client: AsyncWebClient
    job: PostJob

    @property
    def args(self) -> dict[str, Any]:
        return self.job.args


Send = Callable[[PostContext], Awaitable[Any]]
Record = Callable[[Session, PostJob, Any], None]
Failed = Callable[[Session, PostJob, str], None]


@dataclass(frozen=True)
class PostKind:
    send: Send
    record: Record | None = None
    failed: Failed | None = None


@dataclass
class PostKinds:
    """How each kind of post is shown; features add theirs in `register_posts`."""

    _kinds: dict[str, PostKind] = field(default_factory=dict)

    def add(
        self, kind: str, send: Send, record: Record | None = None, failed: Failed | None = None
    ) -> None:
        if kind in self._kinds:
            raise ValueError(f"post kind {kind} is registered twice")
        self._kinds[kind] = PostKind(send, record, failed)

    def get(self, kind: str) -> PostKind | None:
        return self._kinds.get(kind)


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    result: Any = None
    error: str = ""
    after: float = 0.0
    counts: bool = True
    final: bool = False


def classify(exc: BaseException, attempts: int) -> _Outcome:
    """Retry or give up, and when: Slack's word for it, else the kind of failure."""
    backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 10)) * random.uniform(0.8, 1.2)
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error") or f"HTTP {status}")
        if status == 429 or error == "ratelimited":
            raw = (exc.response.headers or {}).get("Retry-After") or (
                exc.response.headers or {}
            ).get("retry-after")
            try:
                wait = max(1.0, float(raw)) if raw is not None else 30.0
            except ValueError:
                wait = 30.0
            return _Outcome(False, error=f"rate limited ({error})", after=wait, counts=False)
        if slack_is_down(exc):
            return _Outcome(False, error=error, after=backoff)
        return _Outcome(False, error=error, final=True)
    if isinstance(exc, UserError):
        return _Outcome(False, error=str(exc), final=True)
    if isinstance(exc, ValidationError):  # what the post carries is not what it should be
        return _Outcome(False, error=f"malformed: {exc.errors()[0].get('msg', '')}", final=True)
    if isinstance(exc, SlackClientError | aiohttp.ClientError | TimeoutError | OSError):
        return _Outcome(False, error=f"{type(exc).__name__}: {exc}"[:300], after=backoff)
    return _Outcome(False, error=f"{type(exc).__name__}: {exc}"[:300], after=backoff)


def default_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:10]}"


class SlackPoster:
    """Sends queued posts, a few at a time; `flush()` runs until nothing is due."""

    def __init__(
        self,
        runtime: Runtime,
        kinds: PostKinds,
        *,
        concurrency: int = 8,
        lease_seconds: float | None = None,
        owner: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.kinds = kinds
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds or runtime.settings.outbox_lease_seconds
        self.owner = owner or default_owner()
        self.sent = 0
        self._running = False
        self._wanted = False
        self._closing = False

    @property
    def running(self) -> bool:
        return self._running

    def request(self) -> None:
        """Ask a running flush to look again (something was queued)."""
        self._wanted = True

    async def flush(self) -> int:
        """Post what is due, lane heads first, until nothing is; returns how many went."""
        if self._running:
            self.request()
            return 0
        self._running = True
        posted = 0
        try:
            while not self._closing:
                self._wanted = False
                jobs = await self._db(
                    slack_posts.claim,
                    owner=self.owner,
                    limit=self.concurrency,
                    lease_seconds=self.lease_seconds,
                )
                if not jobs:
                    if self._wanted:
                        continue
                    break
                outcomes = await asyncio.gather(*(self._run(job) for job in jobs))
                posted += sum(1 for ok in outcomes if ok)
        finally:
            self._running = False
        self.sent += posted
        return posted

    async def _run(self, job: PostJob) -> bool:
        kind = self.kinds.get(job.kind)
        if kind is None:
            outcome = _Outcome(False, error=f"unknown post kind {job.kind}", final=True)
        else:
            try:
                client = await self.runtime.slack_client(job.team_id)
                result = await kind.send(PostContext(self.runtime, client, job))
                outcome = _Outcome(True, result=result)
            except asyncio.CancelledError:
                raise
            except NotInstalled as exc:  # the workspace uninstalled the app
                outcome = _Outcome(False, error=str(exc), final=True)
            except Exception as exc:
                outcome = classify(exc, job.attempts)
                if not isinstance(exc, SlackApiError | UserError):
                    log.warning("slack post %s (%s): %s", job.id, job.kind, outcome.error)
        too_old = utcnow() - job.created_at > MAX_AGE or job.attempts + 1 >= MAX_ATTEMPTS
        if not outcome.ok and not outcome.final and too_old:
            outcome = _Outcome(False, error=f"{outcome.error} (gave up)", final=True)
        try:
            await self._db(self._record, job=job, kind=kind, outcome=outcome)
        except UserError as exc:
            # What was posted cannot be stored (its call is gone, say): give it up, saying so.
            outcome = _Outcome(False, error=str(exc), final=True)
            await self._db(self._record, job=job, kind=kind, outcome=outcome)
        except Exception:
            log.exception("could not record slack post %s; it goes again after its lease", job.id)
            return False
        if not outcome.ok:
            level = logging.WARNING if outcome.final else logging.INFO
            log.log(
                level,
                "slack post %s (%s) %s: %s",
                job.id,
                job.kind,
                "given up" if outcome.final else f"retried in {outcome.after:.0f}s",
                outcome.error,
            )
        return outcome.ok

    def _record(
        self, *, session: Session, job: PostJob, kind: PostKind | None, outcome: _Outcome
    ) -> None:
        if outcome.ok:
            if slack_posts.done(session, job=job, owner=self.owner) and kind and kind.record:
                kind.record(session, job, outcome.result)
        elif outcome.final:
            if slack_posts.give_up(session, job=job, owner=self.owner, error=outcome.error):
                if kind is not None and kind.failed is not None:
                    kind.failed(session, job, outcome.error)
        else:
            slack_posts.retry(
                session,
                job=job,
                owner=self.owner,
                error=outcome.error,
                after=outcome.after,
                counts=outcome.counts,
            )

    async def _db(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """One transaction in a worker thread, retried on lock conflicts."""
        for attempt in range(5):
            try:
                return await in_transaction(self.runtime, fn, **kwargs)
            except OperationalError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self._closing = True

    async def aclose(self) -> None:
        self.stop()
