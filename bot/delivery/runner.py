"""Running delivery in a process: `serve` (beside the web app) or `switchboard worker`."""

from __future__ import annotations

import asyncio
import logging
import signal

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
        Flusher(runtime, hooks=hooks),
        interval=runtime.settings.flush_interval_seconds,
        grace=runtime.settings.shutdown_grace_seconds,
    )
    runtime.wake = scheduler.wake
    return scheduler


async def run_until_stopped(scheduler: DeliveryScheduler) -> signal.Signals | None:
    """Flush on schedule until SIGTERM or SIGINT, then finish the sends in progress (for
    up to SHUTDOWN_GRACE_SECONDS) and release the rest. Returns the signal that stopped it."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[signal.Signals] = []

    def stopped(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped, sig)
    await scheduler.start()
    log.info("switchboard worker: delivering (Ctrl-C to stop)")
    try:
        await stop.wait()
    finally:
        log.info("switchboard worker: stopping")
        await scheduler.stop()
    return received[0] if received else None
