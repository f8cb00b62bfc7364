"""The flusher: claims due outbox rows and sends them to Front, a bounded number at a time.

One `Flusher` per process. `flush()` runs until nothing is due within the scheduler's
interval. At most `concurrency` requests are out at once (`FrontClient.call`); a few rows
are claimed ahead (`prefetch`) so a freed slot starts the next request at once. Front's
answers are gathered into batches, and each batch is one transaction
(`record_and_claim`): the outcomes are recorded (`outcomes.record_outcomes`), then rows
are claimed for the free slots, which sees the lanes those outcomes opened. After the
transaction the delivery hooks run too (features store what the outcome means and queue
the Slack posts that show it); after the commit the scheduler is woken to post them.

Database work runs in a worker thread (the driver is synchronous) so the event loop stays
free for Slack's requests when the flusher runs inside `serve`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from bot.config import Settings
from bot.core.uow import in_transaction
from bot.delivery.claim import ClaimedRow, ClaimResult, claim, release
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.outcomes import Outcome, Recorded, record_outcomes
from bot.delivery.policy import DeliveryPolicy
from bot.front import Attachment, FrontClient, auth_from_settings
from bot.ops import metrics
from bot.ops.logs import bind as log_context
from bot.runtime import Runtime
from storage.engine import describe_error
from storage.models import OutboxPace, utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

# Never spin: a wait shorter than this is rounded up.
_MIN_WAIT = 0.01
_DB_ATTEMPTS = 6
# How long answers may wait for others to be recorded with them.
_BATCH_WINDOW = 0.02
# Paused workspaces are probed on their own schedule; looking for them is not per batch.
_PROBE_LOOK = 1.0


def record_and_claim(
    session: Session,
    *,
    answers: list[tuple[ClaimedRow, Outcome]],
    hooks: DeliveryHooks | None = None,
    policy: DeliveryPolicy,
    rng: random.Random,
    owner: str,
    limit: int,
    with_next_due: bool = True,
    with_probes: bool = True,
) -> tuple[list[Recorded], ClaimResult]:
    """One transaction: record Front's answers, then claim rows for the free slots."""
    paces: dict[str, OutboxPace] = {}
    recorded = record_outcomes(session, answers, policy=policy, rng=rng, paces=paces)
    if hooks is not None:
        # In this transaction: what the features store and queue commits with the outcome.
        # Alerts first: what a row's hook queues after its alert (a card linking to it)
        # comes after the alert's post.
        hooks.alerts_changed(session, [a for rec in recorded for a in rec.alert_ids])
        for rec in recorded:
            if rec.snapshot is not None:
                hooks.run(session, rec.snapshot)
    result = claim(
        session,
        owner=owner,
        limit=limit,
        lease_seconds=policy.lease.total_seconds(),
        probe_first_seconds=policy.probe_first_seconds,
        with_next_due=with_next_due,
        with_probes=with_probes,
        paces=paces,
    )
    return recorded, result


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
        # Rows claimed ahead of free slots keep every slot busy, at a price: a process
        # killed then may have re-sends for up to twice its slots (answers not yet
        # recorded, plus requests out). With one slot there is none, and a crash
        # re-sends at most one request.
        self.prefetch = self.concurrency if self.concurrency > 1 else 0
        # Keep flushing while something falls due within this (the scheduler's tick).
        self.idle_wait = settings.flush_interval_seconds if idle_wait is None else idle_wait
        self.owner = owner or default_owner()
        self.rng = rng or random.Random()
        self.stats = FlushStats()
        self._claims = 0
        self._running = False
        self._wanted = False
        self._event: asyncio.Event | None = None
        self._answers: list[tuple[ClaimedRow, Outcome]] = []
        self._queue: deque[ClaimedRow] = deque()
        self._probe_looked = -_PROBE_LOOK
        self._sending: set[asyncio.Task[None]] = set()
        self._closing = False
        self._outage = False  # the database failed, and has not answered since

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
        """Deliver until nothing is due within `idle_wait`; one flush at a time.

        Rows are claimed a little ahead (`prefetch`) into a local queue, so a slot that
        frees starts the next request at once; answers are recorded, and new rows
        claimed, in one transaction per batch.
        """
        if self._running:
            self.request()
            return self.stats
        self._running = True
        self._event = asyncio.Event()
        self._queue.clear()
        exhausted = False  # the last claim found fewer rows than it asked for
        due: float | None = None  # seconds to the next due row, when idle
        due_known = False  # `due` comes from a claim made with nothing in flight
        try:
            while True:
                await self._more_answers()
                self._event.clear()
                if self._wanted:
                    self._wanted, exhausted = False, False
                answers, self._answers = self._answers, []
                room = 0 if self._closing else self.concurrency + self.prefetch
                room -= len(self._sending)
                room -= len(self._queue)
                if answers or (room > 0 and not exhausted):
                    idle = not self._sending and not self._queue
                    try:
                        recorded, result = await self._step(answers, max(room, 0), idle=idle)
                    except Exception as exc:
                        # The database failed: answers not recorded go again after their
                        # lease (at least once); the next tick tries again.
                        self._database_failed(exc, "outbox flush stopped: cannot record or claim")
                        break
                    for rec in recorded:
                        self._count(rec)
                        self._after(rec)
                    self._queue.extend(result.rows)
                    self._start_queued()
                    # The claim ran after the answers were recorded, so lanes they opened
                    # were seen: fewer rows than room means none is due now.
                    exhausted = len(result.rows) < room
                    due = self._seconds_until(result) if idle else None
                    due_known = idle
                    if self._answers or not exhausted:
                        continue
                # Stopping, rows claimed ahead are not sent: released below, not waited on.
                if not self._sending and (not self._queue or self._closing):
                    if (self._wanted or not due_known) and not self._closing:
                        # Something was enqueued meanwhile, or we do not know yet when
                        # the next row falls due: one more claim.
                        exhausted = False
                        continue
                    if self._closing or due is None or due > self.idle_wait:
                        break
                # Until an answer comes back, a wake, or the next row falls due.
                try:
                    # `timeout`, not `wait_for`: no task made for each wait.
                    async with asyncio.timeout(
                        None if self._sending or due is None else max(due, _MIN_WAIT)
                    ):
                        await self._event.wait()
                except TimeoutError:
                    exhausted, due, due_known = False, None, False
        except asyncio.CancelledError:  # the grace is over: cut the sends short too
            self._closing = True
            for task in self._sending:
                task.cancel()
            raise
        finally:
            if self._sending:
                await asyncio.gather(*self._sending, return_exceptions=True)
            await self._release_queue()
            self._running = False
        return self.stats

    def _start_queued(self) -> None:
        """Send queued rows while slots are free (also called as each send ends)."""
        while self._queue and len(self._sending) < self.concurrency and not self._closing:
            row = self._queue.popleft()
            task = asyncio.get_running_loop().create_task(self._send(row), name=f"deliver-{row.id}")
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._start_queued()

    async def _release_queue(self) -> None:
        """Rows claimed but never sent (stopping): back to `pending`, not a lost lease."""
        rows = list(self._queue)
        self._queue.clear()
        if self._answers:
            answers, self._answers = self._answers, []
            try:
                for rec in (await self._step(answers, 0, idle=False))[0]:
                    self._count(rec)
                    self._after(rec)
            except Exception as exc:
                self._database_failed(exc, "last answers not recorded; they go again later")
        if rows:
            try:
                await self._db(release, rows=rows)
            except Exception as exc:
                self._database_failed(exc, "could not release claimed rows; they go at lease end")

    async def _more_answers(self) -> None:
        """A step costs about as much for one answer as for ten: when few are back, give
        the others a moment. With rows queued the sends go on meanwhile, so wait for a
        whole batch (up to `_BATCH_WINDOW`); otherwise for half of those out (a quarter
        of that window), since the slots they hold are idle."""
        if not self._answers or self._event is None:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            out = len(self._sending)
            queued = bool(self._queue)
            wanted = self.concurrency if queued else (out + len(self._answers)) // 2
            window = _BATCH_WINDOW if queued else _BATCH_WINDOW / 4
            left = started + window - loop.time()
            if len(self._answers) >= wanted or out == 0 or left <= 0:
                return
            self._event.clear()
            try:
                async with asyncio.timeout(left):  # run once per answer: no task made
                    await self._event.wait()
            except TimeoutError:
                return

    def _seconds_until(self, result: ClaimResult) -> float | None:
        if result.next_due_at is None:
            return None
        return max(0.0, (result.next_due_at - utcnow()).total_seconds())

    async def _step(
        self, answers: list[tuple[ClaimedRow, Outcome]], free: int, *, idle: bool
    ) -> tuple[list[Recorded], ClaimResult]:
        """Record the answers back so far and claim rows for the free slots: one
        transaction (in SQLite, one write lock taken instead of many)."""
        if not answers and free <= 0:
            return [], ClaimResult([])
        self._claims += 1
        owner = f"{self.owner}#{self._claims}"[:64]
        recorded, result = await self._db(
            record_and_claim,
            answers=answers,
            hooks=self.hooks,
            policy=self.policy,
            rng=self.rng,
            owner=owner,
            limit=free,
            # Only an idle flusher needs to know when to look again; a busy one is
            # woken by its answers (and by the scheduler's ticks).
            with_next_due=idle,
            with_probes=idle or self._probe_due(),
        )
        self.stats.claimed += len(result.rows)
        return recorded, result

    def _probe_due(self) -> bool:
        """Look for paused workspaces to probe at most every `_PROBE_LOOK` seconds."""
        now = time.monotonic()
        if now - self._probe_looked < min(_PROBE_LOOK, self.policy.probe_first_seconds):
            return False
        self._probe_looked = now
        return True

    async def _send(self, row: ClaimedRow) -> None:
        log_context(team_id=row.team_id, outbox_id=row.id, operation=row.operation)
        try:
            client = self.clients.for_team(row.team_id)
            files = [
                Attachment(filename=f.filename, content_type=f.content_type, data=f.data)
                for f in row.files
            ]
            result = await metrics.front_call(
                row.operation,
                client.call(row.operation, row.front_channel_id, row.path, row.payload, files),
            )
            outcome = Outcome.of_result(result)
        except asyncio.CancelledError:
            self._queue.append(row)  # released when the flush ends: it goes again soon
            raise
        except Exception as exc:
            if not hasattr(exc, "retryable"):
                log.exception("outbox row %s: unexpected error while sending", row.id)
            outcome = Outcome.of_error(exc)
        self._answers.append((row, outcome))
        if self._event is not None:
            self._event.set()

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
        """After the commit: the hooks queued Slack posts in it; have them posted now."""
        snap = recorded.snapshot
        if recorded.alert_ids or (snap is not None and self.hooks.has_handlers(snap)):
            self.runtime.wake()

    async def _db(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """One transaction in a worker thread, retried on lock conflicts and deadlocks."""
        for attempt in range(_DB_ATTEMPTS):
            try:
                result = await in_transaction(self.runtime, fn, **kwargs)
            except OperationalError:
                if attempt == _DB_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.02 * 2**attempt * self.rng.uniform(0.5, 1.5))
                continue
            if self._outage:
                self._outage = False
                log.warning("database answering again: deliveries resume")
            return result
        raise AssertionError("unreachable")

    def _database_failed(self, exc: Exception, what: str) -> None:
        """A database outage is one line when it starts (and one when it ends, in `_db`),
        not a traceback every tick; the traceback is at debug level. Bugs keep theirs."""
        if not isinstance(exc, DBAPIError):
            log.exception(what)
            return
        log.debug("%s", what, exc_info=exc)
        if not self._outage:
            self._outage = True
            log.error("%s: %s (said once until the database answers)", what, describe_error(exc))

    # Shutdown ------------------------------------------------------------------------

    def stop(self) -> None:
        """Claim nothing more; a running flush returns once its sends are recorded."""
        self._closing = True
        self.request()

    async def aclose(self) -> None:
        self.stop()
        await self.clients.aclose()
