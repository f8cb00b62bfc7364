"""Running a service function as one unit of work, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session

from bot.core.events import remember
from bot.runtime import Runtime
from storage.engine import session_scope

T = TypeVar("T")


async def in_transaction(
    runtime: Runtime,
    fn: Callable[..., T],
    /,
    *,
    wake: bool = False,
    once: str | None = None,
    **kwargs: Any,
) -> T:
    """Run `fn(session=..., **kwargs)` in its own transaction in a worker thread.

    The database driver is synchronous: a thread keeps the event loop (and Slack's acks)
    free. Pass `wake=True` when `fn` queues deliveries or Slack posts, to send them at once.
    `once` is the request's key: stored with the work, so a replay raises `AlreadyHandled`.
    """

    def work() -> T:
        with session_scope(runtime.engine) as session:
            if once is not None:
                remember(session, once)
            return fn(session=session, **kwargs)

    result = await asyncio.to_thread(work)
    if wake:
        runtime.wake()
    return result


async def read(runtime: Runtime, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Like `in_transaction`, for reads only."""

    def work() -> T:
        with session_scope(runtime.engine, readonly=True) as session:
            return fn(session=session, **kwargs)

    return await asyncio.to_thread(work)


__all__ = ["Session", "in_transaction", "read"]
