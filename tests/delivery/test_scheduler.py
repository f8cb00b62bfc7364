"""The scheduler only triggers flushes; a wake from a worker thread flushes at once."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlmodel import select

from bot.core.uow import in_transaction
from bot.delivery.flusher import Flusher
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.outbox import SlackContext, conversation_lane, enqueue
from bot.delivery.runner import build_scheduler
from bot.delivery.scheduler import DeliveryScheduler
from bot.runtime import Runtime
from bot.server import slack_poster
from storage.engine import make_engine, session_scope
from storage.models import OutboxRow
from tests.delivery.conftest import CHANNEL, FAST, Sim, delivery_settings

pytestmark = pytest.mark.anyio


def enqueue_one(*, session: object, n: int) -> None:
    enqueue(
        session,  # type: ignore[arg-type]
        operation="sync_inbound_message",
        front_channel_id=CHANNEL,
        lane=conversation_lane(CHANNEL, "conv"),
        payload={
            "sender": {"handle": "+14155550100"},
            "body": "hi",
            "metadata": {"external_id": f"m{n}", "external_conversation_id": "conv"},
        },
        context=SlackContext(team_id="T1"),
    )


def delivered(rt: Runtime) -> int:
    with session_scope(rt.engine, readonly=True) as s:
        return sum(r.status == "delivered" for r in s.exec(select(OutboxRow)))


async def until(check: object, timeout: float = 30.0) -> None:
    """Poll `check`; the timeout only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.01)


class CountingScheduler(DeliveryScheduler):
    """Counts the interval job's runs, to tell a tick's flush from a wake's."""

    ticks = 0

    async def _tick(self) -> None:
        self.ticks += 1
        await super()._tick()


async def test_an_enqueue_wakes_the_flusher_long_before_the_next_tick(
    runtime: Runtime, sim: Sim
) -> None:
    # The interval job runs once at start, then not for an hour: each delivery after that
    # happened with no tick, so the wake made it.
    scheduler = CountingScheduler(Flusher(runtime, policy=FAST), interval=3600)
    runtime.wake = scheduler.wake
    await scheduler.start()
    try:
        await until(lambda: scheduler.ticks == 1 and not scheduler.flusher.running)
        for n in range(3):
            # As a Slack listener does: the transaction in a worker thread, then wake.
            await in_transaction(runtime, enqueue_one, wake=True, n=n)
            await until(lambda n=n: delivered(runtime) == n + 1)
            assert scheduler.ticks == 1
        # Wakes from another thread while a flush runs are folded into it.
        await asyncio.gather(*(asyncio.to_thread(scheduler.wake) for _ in range(20)))
        await until(lambda: not scheduler.flusher.running)
    finally:
        await scheduler.stop()
    assert sim.state.stats()["total_accepted"] == 3
    scheduler.wake()  # after stop: nothing happens, nothing raises


async def test_no_front_credentials_means_no_scheduler(database_url: str) -> None:
    settings = delivery_settings(database_url, "http://127.0.0.1:9", front_app_uid=None)
    rt = Runtime(settings=settings, engine=make_engine(database_url))
    assert build_scheduler(rt, DeliveryHooks()) is None
    # Slack posts still go: the scheduler runs the Slack poster alone.
    poster = slack_poster(rt)
    scheduler = build_scheduler(rt, DeliveryHooks(), others=[poster])
    assert scheduler is not None and scheduler.flusher is poster
    rt.engine.dispose()
