"""Several flushers behind one scheduler: the outbox to Front, and the posts to Slack.

Each member flushes on its own (one busy with Front does not hold the other back); a
trigger starts the idle ones and asks the running ones to look again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Flushable(Protocol):
    @property
    def running(self) -> bool: ...
    def request(self) -> None: ...
    async def flush(self) -> Any: ...
    def stop(self) -> None: ...
    async def aclose(self) -> None: ...


class FlushGroup:
    def __init__(self, *members: Flushable) -> None:
        self.members = members
        self._tasks: dict[int, asyncio.Task[Any]] = {}

    @property
    def running(self) -> bool:
        return any(m.running for m in self.members) or any(
            not t.done() for t in self._tasks.values()
        )

    def request(self) -> None:
        """Loop thread only: idle members start, running ones look again."""
        for index, member in enumerate(self.members):
            if member.running:
                member.request()
            else:
                self._start(index, member)

    def _start(self, index: int, member: Flushable) -> asyncio.Task[Any]:
        task = self._tasks.get(index)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._run(member))
            self._tasks[index] = task
        return task

    @staticmethod
    async def _run(member: Flushable) -> None:
        try:
            await member.flush()
        except Exception:
            log.exception("%s stopped; the next tick starts it again", type(member).__name__)

    async def flush(self) -> None:
        tasks = [self._start(i, m) for i, m in enumerate(self.members)]
        await asyncio.gather(*tasks)

    def stop(self) -> None:
        for member in self.members:
            member.stop()

    async def aclose(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for member in self.members:
            await member.aclose()
