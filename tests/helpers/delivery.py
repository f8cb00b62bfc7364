"""Flush the outbox once, as `serve` does, with every production delivery hook."""

from __future__ import annotations

import asyncio

from bot.delivery.flusher import Flusher, FlushStats
from bot.runtime import Runtime
from bot.server import delivery_hooks


def deliver(runtime: Runtime) -> FlushStats:
    """Send what is due to Front (the simulator in tests); returns once the hooks ran."""

    async def run() -> FlushStats:
        flusher = Flusher(runtime, hooks=delivery_hooks(), idle_wait=0.0)
        try:
            return await flusher.flush()
        finally:
            await flusher.aclose()  # waits for the hooks

    return asyncio.run(run())
