"""The delivery scheduler: APScheduler's asyncio scheduler, one per process, that only
*triggers* flushes.

APScheduler 3 must not share a job store between processes, so each process keeps its
own in-memory scheduler; the outbox rows are the single source of truth and the claim
is what keeps two processes from sending the same row. The interval job (coalesced, one
instance at a time) starts a flush when none runs; `wake()` does the same at once, from
any thread (enqueues commit in worker threads), so a new row does not wait for the tick.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import retention
from bot.delivery.flusher import Flusher
from bot.delivery.group import Flushable
from storage.engine import describe_error
from storage.models import utcnow

log = logging.getLogger(__name__)

JOB_ID = "flush-outbox"
PRUNE_JOB_ID = "prune-retention"
PRUNE_EVERY = timedelta(hours=1)


class DeliveryScheduler:
    def __init__(
        self,
        flusher: Flushable,
        *,
        interval: float,
        grace: float = 8.0,
        front: Flusher | None = None,
    ) -> None:
        self.flusher = flusher
        # The outbox's own flusher when this process delivers to Front (its figures are
        # reported by the heartbeat, it prunes); `flusher` may be it, or a group with
        # Slack's poster.
        self.front = front if front is not None or not isinstance(flusher, Flusher) else flusher
        self.interval = interval
        # When the last flush ended (the status page shows it, see bot.delivery.heartbeat).
        self.last_flush_at: datetime | None = None
        # On stop, sends in flight may finish for this long (SHUTDOWN_GRACE_SECONDS).
        self.grace = grace
        self._deadline: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[object] | None = None

    async def start(self) -> None:
        """Start ticking in the running event loop (and flush once right away)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._deadline = None
        scheduler = AsyncIOScheduler(
            event_loop=self._loop,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 1},
        )
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval,
            id=JOB_ID,
            next_run_time=utcnow(),
        )
        if self.front is not None:  # the process that delivers prunes too
            # Retention (bot.delivery.retention): hourly, first a minute after start, so a
            # restart loop does not prune on every start.
            scheduler.add_job(
                self.prune,
                "interval",
                seconds=PRUNE_EVERY.total_seconds(),
                id=PRUNE_JOB_ID,
                next_run_time=utcnow() + timedelta(minutes=1),
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("delivery scheduler started: flush every %ss", self.interval)

    async def _tick(self) -> None:
        self.trigger()

    def trigger(self) -> None:
        """Start a flush now, or have the running one look again. Event loop thread only."""
        if self.flusher.running:
            self.flusher.request()
        elif self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush(), name="flush")

    async def prune(self) -> None:
        """Delete what is older than RETENTION_DAYS; a failure waits for the next hour."""
        if self.front is None:
            return
        runtime = self.front.runtime
        days = runtime.settings.retention_days
        try:
            pruned = await asyncio.to_thread(retention.prune, runtime.engine, days=days)
        except Exception as exc:
            log.warning("retention: prune failed (%s); next hour tries again", describe_error(exc))
            return
        if pruned:
            log.info(
                "retention: pruned %d outbox rows (%d files), %d Slack event ids and %d Slack "
                "posts over %d days",
                pruned.outbox,
                pruned.files,
                pruned.slack_events,
                pruned.slack_posts,
                days,
            )

    async def _flush(self) -> None:
        try:
            await self.flusher.flush()
            self.last_flush_at = utcnow()
        except Exception:
            log.exception("outbox flush failed; the next tick tries again")

    def wake(self) -> None:
        """Flush now. Safe from any thread; a no-op before start and after stop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self.trigger()
            return
        try:
            loop.call_soon_threadsafe(self.trigger)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def begin_stop(self) -> None:
        """Claim nothing more, from now on (SIGTERM): the grace counts from here, and
        `stop()` waits what is left of it. Event loop thread only."""
        if self._deadline is None:
            self._deadline = asyncio.get_running_loop().time() + self.grace
        if self._scheduler is not None and self._scheduler.running:
            # No new ticks. Not shut down here: APScheduler's shutdown cancels a tick it
            # has just started, and logs that as a failed job with a traceback (`stop`).
            self._scheduler.pause()
        self._loop = None  # wake() is a no-op from now on
        self.flusher.stop()

    async def _end_ticks(self) -> None:
        """Shut APScheduler down once a tick started before the pause has run (a tick
        takes one step of the loop: it only triggers a flush)."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            for _ in range(3):
                await asyncio.sleep(0)
            scheduler.shutdown(wait=False)

    async def stop(self, *, grace: float | None = None) -> None:
        """Stop ticking; sends in flight finish within the grace (the rest are cut short and
        their rows released, as are rows claimed but not sent), then hooks and alerts."""
        loop = asyncio.get_running_loop()
        if grace is not None and self._deadline is None:
            self._deadline = loop.time() + grace
        self.begin_stop()
        await self._end_ticks()
        assert self._deadline is not None
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), self._deadline - loop.time())
            except TimeoutError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        try:  # Slack posts in flight, in what is left of the grace (the rest go again)
            await asyncio.wait_for(self.flusher.aclose(), max(0.01, self._deadline - loop.time()))
        except TimeoutError:
            log.warning("shutdown: Slack posts still running were cut short; they go again")
