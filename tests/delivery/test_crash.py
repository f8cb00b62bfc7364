"""Workers killed with SIGKILL at random moments while Front fails 20% of requests:
nothing is lost, lanes keep their order, and re-sends stay within what the kills cut.

`SWITCHBOARD_CRASH_KILLS` sets the number of kills (default 20)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import OutboxRow
from tests.delivery.conftest import Sim, add_call, add_messages
from tests.delivery.processes import process_env, start_worker
from tests.helpers.fake_slack import FakeSlack

KILLS = int(os.environ.get("SWITCHBOARD_CRASH_KILLS", "20"))
STATUSES = ("connected", "hold", "connected", "hangup")


def wait_until(check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return value


def counts(rt: Runtime) -> dict[str, int]:
    with session_scope(rt.engine, readonly=True) as s:
        rows = s.exec(select(OutboxRow.status, func.count()).group_by(col(OutboxRow.status)))
        return {str(status): int(n) for status, n in rows}


@pytest.mark.crash
def test_killed_workers_lose_nothing_and_keep_lanes_in_order(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    rng = random.Random(int(os.environ.get("SWITCHBOARD_CRASH_SEED", "7")))
    sim.state.configure(error_rate=0.2, seed=rng.randrange(1000))
    calls = [f"call-{i}" for i in range(2 * KILLS)]
    conversations = [f"conv-{i}" for i in range(2 * KILLS)]
    for call_id in calls:
        add_call(runtime, call_id, STATUSES)
    for conv in conversations:
        add_messages(runtime, conv, 5)
    total = sum(counts(runtime).values())

    # One request in flight per worker: a kill can cut at most one answer short, so
    # the re-sends it causes are at most one (see Flusher.prefetch).
    env = process_env(
        runtime.settings.database_url,
        sim.url,
        fake_slack.api_url,
        flush_concurrency=1,
        flush_interval_seconds=0.1,
        outbox_lease_seconds=1,
        outbox_backoff_seconds=0.05,
        outbox_max_attempts=10_000,
    )
    workers: list[subprocess.Popen[bytes]] = [start_worker(env, tmp_path) for _ in range(2)]
    kills = 0
    try:
        wait_until(lambda: counts(runtime).get("delivered", 0) > 0, timeout=30)
        while kills < KILLS:
            time.sleep(rng.uniform(0.1, 0.8))
            victim = workers.pop(rng.randrange(len(workers)))
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            kills += 1
            workers.append(start_worker(env, tmp_path))
        delivered_during_kills = counts(runtime).get("delivered", 0)
        wait_until(lambda: counts(runtime).get("delivered", 0) == total, timeout=120)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=15)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()

    assert counts(runtime) == {"delivered": total}
    # The kills fell while there was work to cut short.
    assert delivered_during_kills < total
    stats = sim.state.stats()
    assert stats["server_errors"] > 0
    print(  # seen with -s: how much the kills cut short
        f"kills={kills} duplicates={stats['total_duplicates']} "
        f"delivered during the kills={delivered_during_kills}/{total}"
    )
    assert stats["total_duplicates"] <= kills, (stats["total_duplicates"], kills)

    # Lanes in order: the first time each request reached Front follows enqueue order.
    seen: set[str] = set()
    order: dict[str, list[str]] = {}
    for r in sim.state.requests():
        if r["idempotency_key"] in seen:
            continue
        seen.add(r["idempotency_key"])
        if r["operation"] == "sync_inbound_message":
            meta = r["body"]["metadata"]
            order.setdefault(meta["external_conversation_id"], []).append(meta["external_id"])
        else:
            lane = r["path_params"].get("external_call_id") or r["body"]["external_call_id"]
            order.setdefault(lane, []).append(r["body"].get("call_status", "create"))
    for call_id in calls:
        assert order[call_id] == ["create", *STATUSES]
        call = sim.state.call("cha_delivery", call_id)
        assert call is not None and call.history == ["ringing", *STATUSES]
    for conv in conversations:
        assert order[conv] == [f"{conv}-m{i}" for i in range(5)]
