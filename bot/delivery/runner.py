"""Running delivery in a process: `serve` (beside the web app) or `switchboard worker`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Protocol

from bot.delivery.flusher import Flusher
from bot.delivery.group import Flushable, FlushGroup
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.scheduler import DeliveryScheduler
from bot.runtime import Runtime

log = logging.getLogger(__name__)

NO_FRONT_CREDENTIALS = (
    "no Front credentials (FRONT_APP_UID and FRONT_APP_SECRET, or FRONT_API_TOKEN): "
    "deliveries wait in the outbox until a process that has them runs"
)


def build_scheduler(
    runtime: Runtime,
    hooks: DeliveryHooks,
    *,
    others: Sequence[Flushable] = (),
    deliver: bool = True,
) -> DeliveryScheduler | None:
    """The flusher (and `others`: the Slack poster) and their scheduler for this process;
    `runtime.wake` now reaches it.

    Without Front's credentials there is no flusher: rows wait in the outbox (Slack posts
    still go). None when there is nothing to run.
    """
    members: list[Flushable] = list(others)
    front = None
    if deliver and runtime.settings.front_configured:
        front = Flusher(runtime, hooks=hooks)
        members.insert(0, front)
    elif deliver:
        log.warning(NO_FRONT_CREDENTIALS)
    if not members:
        return None
    group = members[0] if len(members) == 1 else FlushGroup(*members)
    scheduler = DeliveryScheduler(
        group,
        interval=runtime.settings.flush_interval_seconds,
        grace=runtime.settings.shutdown_grace_seconds,
        front=front,
    )
    runtime.wake = scheduler.wake
    return scheduler


class _Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def run_until_stopped(
    scheduler: DeliveryScheduler, *beside: _Service
) -> signal.Signals | None:
    """Flush on schedule until SIGTERM or SIGINT, then finish the sends in progress (for
    up to SHUTDOWN_GRACE_SECONDS) and release the rest. Returns the signal that stopped it.
    `beside`: started after the scheduler, stopped before it (e.g. its heartbeat)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[signal.Signals] = []

    def stopped(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped, sig)
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
    return received[0] if received else None
