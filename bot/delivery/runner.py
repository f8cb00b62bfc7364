"""Running delivery in a process: `serve` (beside the web app) or `switchboard worker`."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Protocol

from bot.delivery.flusher import Flusher
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.scheduler import DeliveryScheduler
from bot.runtime import Runtime

log = logging.getLogger(__name__)

NO_FRONT_CREDENTIALS = (
    "no Front credentials (FRONT_APP_UID and FRONT_APP_SECRET, or FRONT_API_TOKEN): "
    "deliveries wait in the outbox until a process that has them runs"
)


def build_scheduler(runtime: Runtime, hooks: DeliveryHooks) -> DeliveryScheduler | None:
    """The flusher and its scheduler for this process; `runtime.wake` now reaches it.

    None when Front's credentials are missing: rows then wait in the outbox.
    """
    if not runtime.settings.front_configured:
        log.warning(NO_FRONT_CREDENTIALS)
        return None
    scheduler = DeliveryScheduler(
        Flusher(runtime, hooks=hooks), interval=runtime.settings.flush_interval_seconds
    )
    runtime.wake = scheduler.wake
    return scheduler


class _Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def run_until_stopped(scheduler: DeliveryScheduler, *beside: _Service) -> None:
    """Flush on schedule until SIGTERM or SIGINT, then finish the sends in progress.
    `beside`: started after the scheduler, stopped before it (e.g. its heartbeat)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await scheduler.start()
    for service in beside:
        await service.start()
    log.info("switchboard worker: delivering (Ctrl-C to stop)")
    try:
        await stop.wait()
    finally:
        log.info("switchboard worker: stopping")
        for service in beside:
            await service.stop()
        await scheduler.stop()
