"""A burst of captured customer messages reaches Front in each thread's order while Front
fails a fifth of its requests: signed Slack events to the running app, capture posts,
the outbox, and the simulator with `error_rate=0.2`.

Small by default (100 messages in 10 threads: well within a minute in CI);
`SWITCHBOARD_CAPTURE_BURST=500` sends 500 messages across 50 threads. Prints its figures
(run with `-s` to see them); asserts only order and completeness.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.core import links
from bot.core.links import CaptureMode
from bot.delivery.flusher import Flusher
from bot.frontsim import SimState
from bot.runtime import Runtime
from bot.server import delivery_hooks, slack_poster
from storage.engine import session_scope
from tests.conftest import make_settings
from tests.front.simulator import APP_SECRET, APP_UID, simulator
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import event_body
from tests.messages.payloads import CHANNEL, TEAM, customer_event

MESSAGES = int(os.environ.get("SWITCHBOARD_CAPTURE_BURST", "100"))
THREADS = max(1, MESSAGES // 10)
ERROR_RATE = 0.2
DEADLINE_SECONDS = float(os.environ.get("SWITCHBOARD_CAPTURE_BURST_DEADLINE", "240"))


@pytest.fixture
def burst_app(database_url: str, fake_slack: FakeSlack) -> Iterator[tuple[RunningApp, SimState]]:
    with simulator(error_rate=ERROR_RATE, seed=12) as (url, state):
        settings = make_settings(
            database_url=database_url,
            slack_api_url=fake_slack.api_url,
            front_app_uid=APP_UID,
            front_app_secret=APP_SECRET,
            front_api_url=url,
            outbox_backoff_seconds=0.05,
            outbox_max_attempts=60,
        )
        for t in range(THREADS):
            fake_slack.add_user(
                f"UC{t}", name=f"Customer {t}", email=f"c{t}@customer.example", team_id="T9"
            )
        with running_app(settings) as app:
            with session_scope(app.runtime.engine) as s:
                links.connect(
                    s,
                    team_id=TEAM,
                    slack_channel_id=CHANNEL,
                    front_channel_id="cha_burst",
                    user_id="UADMIN",
                )
                links.set_capture(
                    s,
                    team_id=TEAM,
                    slack_channel_id=CHANNEL,
                    mode=CaptureMode.on,
                    user_id="UADMIN",
                )
            yield app, state


async def drain(runtime: Runtime, done: Callable[[], bool]) -> tuple[int, int]:
    """Post and deliver until everything is in Front; (flush rounds, rows failed)."""
    poster = slack_poster(runtime)
    flusher = Flusher(runtime, hooks=delivery_hooks(), idle_wait=0.0)
    rounds = failed = 0
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while not done():
            assert time.monotonic() < deadline, "the burst did not reach Front in time"
            await poster.flush()
            stats = await flusher.flush()
            rounds += 1
            failed += stats.failed
            await asyncio.sleep(0.02)
    finally:
        await flusher.aclose()
    return rounds, failed


@pytest.mark.benchmark
def test_a_burst_of_customer_messages_reaches_front_in_thread_order(
    burst_app: tuple[RunningApp, SimState],
) -> None:
    app, state = burst_app
    base = 1_800_000_000
    expected: dict[str, list[str]] = defaultdict(list)
    acks: list[float] = []
    started = time.perf_counter()
    for i in range(MESSAGES):
        thread = i % THREADS
        root = f"{base + thread}.000000"
        ts = root if i < THREADS else f"{base + thread}.{i:06d}"
        event = customer_event(ts, f"message {i} in thread {thread}", user=f"UC{thread}")
        if ts != root:
            event["thread_ts"] = root
        body = event_body(event, team_id=TEAM, event_id=f"EvBurst{i:06d}")
        t0 = time.perf_counter()
        resp = app.post(body, content_type="application/json")
        acks.append(time.perf_counter() - t0)
        assert resp.status_code == 200
        expected[f"slack-thread:{TEAM}:{CHANNEL}:{root}"].append(f"slack:{TEAM}:{CHANNEL}:{ts}")
    sent = time.perf_counter() - started

    def accepted() -> list[dict[str, Any]]:
        return state.requests("sync_inbound_message")

    rounds, failed = asyncio.run(drain(app.runtime, lambda: len(accepted()) >= MESSAGES))
    total = time.perf_counter() - started

    got: dict[str, list[str]] = defaultdict(list)
    for request in accepted():
        metadata = request["body"]["metadata"]
        got[metadata["external_conversation_id"]].append(metadata["external_id"])
    assert got == expected  # every message once, each thread in its order
    assert failed == 0  # Front's 5xx were retried, none given up
    stats = state.stats()
    server_errors = stats["server_errors"]
    assert server_errors > 0  # Front did fail, and it did not matter
    acks.sort()
    print(
        f"\ncapture burst: {MESSAGES} messages in {THREADS} threads, Front failing "
        f"{ERROR_RATE:.0%} ({server_errors} 5xx answered, {stats['total_accepted']} accepted)\n"
        f"  events acked: {MESSAGES / sent:.0f}/s, ack p50 "
        f"{statistics.median(acks) * 1000:.1f} ms, p99 {acks[int(len(acks) * 0.99) - 1] * 1000:.1f}"
        " ms\n"
        f"  all in Front {total:.1f} s after the first event ({rounds} flush rounds)"
    )
