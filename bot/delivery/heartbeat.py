"""Each delivery process reports its last flush into `delivery_process`, every few
seconds, so the status page can show every process's from one database."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from bot.delivery.scheduler import DeliveryScheduler
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import DeliveryProcess, utcnow

log = logging.getLogger(__name__)

# A process that has not reported for this long is gone; its row is dropped.
FORGET_AFTER = timedelta(days=1)


class Heartbeat:
    def __init__(
        self, runtime: Runtime, scheduler: DeliveryScheduler, *, every: float = 10.0
    ) -> None:
        self.runtime = runtime
        self.scheduler = scheduler
        self.every = every
        self.host = socket.gethostname()[:64]
        self.owner = f"{self.host[:40]}:{os.getpid()}"
        self.started_at = utcnow()
        self._task: asyncio.Task[None] | None = None

    def beat(self) -> None:
        """One write: this process's row, and old rows of processes long gone."""
        now = utcnow()
        assert self.scheduler.front is not None, "a heartbeat is for a delivering process"
        stats = self.scheduler.front.stats
        with session_scope(self.runtime.engine) as session:
            row = session.get(DeliveryProcess, self.owner) or DeliveryProcess(
                owner=self.owner, host=self.host, pid=os.getpid(), started_at=self.started_at
            )
            row.last_flush_at = self.scheduler.last_flush_at
            row.delivered, row.failed, row.updated_at = stats.delivered, stats.failed, now
            session.add(row)
            session.execute(
                delete(DeliveryProcess).where(col(DeliveryProcess.updated_at) < now - FORGET_AFTER)
            )

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.beat)
            except Exception as exc:  # the database may be briefly away: next time
                log.warning("could not record this process's last flush: %s", type(exc).__name__)
            await asyncio.sleep(self.every)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await asyncio.to_thread(self.beat)  # the last flush, as it ended
        except Exception:
            log.warning("could not record this process's last flush at stop")
