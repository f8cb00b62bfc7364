"""The flusher: claims due outbox rows and sends them to Front, a bounded number at a time.

One `Flusher` per process. `flush()` runs until nothing is due within the scheduler's
interval: it claims as many rows as there are free slots (`flush_concurrency`), sends
each with `FrontClient.call`, records the outcome (`outcomes.record_outcome`), then, after
the commit, runs the delivery hooks and refreshes failure alerts in Slack. A finished row
frees a slot and may unblock the next row of its lane, so the loop claims again.

Database work runs in worker threads (the driver is synchronous) so the event loop stays
free for Slack's requests when the flusher runs inside `serve`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.delivery import alert_posts
from bot.delivery.claim import ClaimedRow, ClaimResult, claim
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.outcomes import Outcome, Recorded, record_outcome
from bot.delivery.policy import DeliveryPolicy
from bot.front import Attachment, FrontClient, auth_from_settings
from bot.runtime import Runtime
from bot.services.uow import in_transaction
from storage.models import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

# Never spin: a wait shorter than this is rounded up.
_MIN_WAIT = 0.01
_DB_ATTEMPTS = 6


class FrontClients:
    """One `FrontClient` (one connection pool) per Front credential.

    Today every workspace uses the app's credentials from the settings (a JWT per
    request, or the API token): `credential_key` is where a per-workspace credential
    would plug in.
    """

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self._clients: dict[str, FrontClient] = {}

    def credential_key(self, team_id: str) -> str:
        return "app"

    def for_team(self, team_id: str) -> FrontClient:
        key = self.credential_key(team_id)
        client = self._clients.get(key)
        if client is None:
            s = self._settings
            auth = auth_from_settings(s.front_app_uid, s.front_app_secret, s.front_api_token)
            client = FrontClient(
                s.front_api_url,
                auth,
                timeout=self._timeout,
                max_connections=max(8, s.flush_concurrency),
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


@dataclass
class FlushStats:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    lost: int = 0


def default_owner() -> str:
    """Lease owner id: host, process and a random part (a restarted pid is a new owner)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:10]}"


class Flusher:
    def __init__(
        self,
        runtime: Runtime,
        *,
        hooks: DeliveryHooks | None = None,
        clients: FrontClients | None = None,
        policy: DeliveryPolicy | None = None,
        concurrency: int | None = None,
        idle_wait: float | None = None,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.hooks = hooks or DeliveryHooks()
        self.clients = clients or FrontClients(settings)
        self.policy = policy or DeliveryPolicy.from_settings(settings)
        self.concurrency = concurrency or settings.flush_concurrency
        # Keep flushing while something falls due within this (the scheduler's tick).
        self.idle_wait = settings.flush_interval_seconds if idle_wait is None else idle_wait
        self.owner = owner or default_owner()
        self.rng = rng or random.Random()
        self.stats = FlushStats()
        self._claims = 0
        self._running = False
        self._wanted = False
        self._event: asyncio.Event | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False

    # Triggers ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def request(self) -> None:
        """Ask a running flush to look again (something was enqueued). Loop thread only."""
        self._wanted = True
        if self._event is not None:
            self._event.set()

    # The loop ------------------------------------------------------------------------

    async def flush(self) -> FlushStats:
        """Deliver until nothing is due within `idle_wait`; one flush at a time."""
        if self._running:
            self.request()
            return self.stats
        self._running = True
        self._event = asyncio.Event()
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._closing:
                self._event.clear()
                self._wanted = False
                free = self.concurrency - len(in_flight)
                result = ClaimResult([])
                if free > 0:
                    result = await self._claim(free)
                    for row in result.rows:
                        task = asyncio.create_task(self._deliver(row), name=f"deliver-{row.id}")
                        in_flight.add(task)
                    if len(result.rows) == free:
                        # Every slot busy: claim again as soon as one frees.
                        result = ClaimResult(result.rows, None)
                wait = self._seconds_until(result)
                if not in_flight:
                    if result.rows or self._wanted:
                        continue
                    if wait is None or wait > self.idle_wait:
                        break
                waiters: set[asyncio.Future[Any]] = set(in_flight)
                woken = asyncio.ensure_future(self._event.wait())
                waiters.add(woken)
                try:
                    done, _ = await asyncio.wait(
                        waiters,
                        timeout=None if wait is None else max(wait, _MIN_WAIT),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    woken.cancel()
                in_flight.difference_update(done)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            self._running = False
        return self.stats

    def _seconds_until(self, result: ClaimResult) -> float | None:
        if result.next_due_at is None:
            return None
        return max(0.0, (result.next_due_at - utcnow()).total_seconds())

    async def _claim(self, limit: int) -> ClaimResult:
        self._claims += 1
        owner = f"{self.owner}#{self._claims}"[:64]
        try:
            result = await self._db(
                claim,
                owner=owner,
                limit=limit,
                lease_seconds=self.policy.lease.total_seconds(),
                probe_first_seconds=self.policy.probe_first_seconds,
            )
        except Exception:
            log.exception("outbox claim failed; trying again at the next tick")
            return ClaimResult([])
        self.stats.claimed += len(result.rows)
        return result

    async def _deliver(self, row: ClaimedRow) -> None:
        try:
            client = self.clients.for_team(row.team_id)
            files = [
                Attachment(filename=f.filename, content_type=f.content_type, data=f.data)
                for f in row.files
            ]
            result = await client.call(
                row.operation, row.front_channel_id, row.path, row.payload, files
            )
            outcome = Outcome.of_result(result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not hasattr(exc, "retryable"):
                log.exception("outbox row %s: unexpected error while sending", row.id)
            outcome = Outcome.of_error(exc)
        try:
            recorded = await self._db(
                record_outcome, claimed=row, outcome=outcome, policy=self.policy, rng=self.rng
            )
        except Exception:
            # The row stays `sending` until its lease expires, then goes again (at least once).
            log.exception("outbox row %s: could not record %s", row.id, outcome.kind)
            return
        self._count(recorded)
        self._after(recorded)

    def _count(self, recorded: Recorded) -> None:
        if recorded.status == "delivered":
            self.stats.delivered += 1
        elif recorded.status == "failed":
            self.stats.failed += 1
        elif recorded.status == "lost":
            self.stats.lost += 1
        else:
            self.stats.retrying += 1

    def _after(self, recorded: Recorded) -> None:
        """Hooks and alerts, after the commit, in tasks of their own (never inside it)."""
        snap = recorded.snapshot
        if snap is not None and snap.status in ("delivered", "failed"):
            if self.hooks.has_handlers(snap):
                self._spawn(self.hooks.run(self.runtime, snap))
        if recorded.alert_ids:
            self._spawn(alert_posts.refresh(self.runtime, recorded.alert_ids))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _db(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """One transaction in a worker thread, retried on lock conflicts and deadlocks."""
        for attempt in range(_DB_ATTEMPTS):
            try:
                return await in_transaction(self.runtime, fn, **kwargs)
            except OperationalError:
                if attempt == _DB_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.02 * 2**attempt * self.rng.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    # Shutdown ------------------------------------------------------------------------

    async def drain(self) -> None:
        """Wait for hooks and alert posts started so far."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def stop(self) -> None:
        """Claim nothing more; a running flush returns once its sends are recorded."""
        self._closing = True
        self.request()

    async def aclose(self) -> None:
        self.stop()
        await self.drain()
        await self.clients.aclose()
