"""Delivery across processes: a killed worker's rows, and two flushers sharing a table."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.delivery.flusher import Flusher
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import OutboxRow
from tests.delivery.conftest import FAST, Sim, add_messages
from tests.delivery.processes import process_env, start_flusher, start_worker
from tests.helpers.fake_slack import FakeSlack

# Rows per process in the two-process test: 1,000 each by default (about 8 s a database
# here); SWITCHBOARD_DELIVERY_ROWS scales it.
ROWS_PER_PROCESS = int(os.environ.get("SWITCHBOARD_DELIVERY_ROWS", "1000"))


def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
    return value


def rows(rt: Runtime) -> dict[int, OutboxRow]:
    with session_scope(rt.engine, readonly=True) as s:
        return {r.id: r for r in s.exec(select(OutboxRow)) if r.id is not None}


@pytest.mark.anyio
async def test_a_killed_workers_rows_go_again_once_its_lease_expires(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    ids = add_messages(runtime, "conv", 3)
    sim.state.configure(latency_ms=3000)  # the worker will be mid-request when killed
    env = process_env(
        runtime.settings.database_url, sim.url, fake_slack.api_url, outbox_lease_seconds=1
    )
    worker = start_worker(env, tmp_path)
    try:
        wait_until(lambda: rows(runtime)[ids[0]].status == "sending")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    dead = rows(runtime)[ids[0]]
    assert dead.lease_owner and dead.attempts == 1
    sim.state.configure(latency_ms=0)

    # Nothing else may take the row before its lease ends; then it goes again.
    flusher = Flusher(runtime, policy=FAST, idle_wait=3.0)
    await flusher.flush()
    await flusher.aclose()
    got = rows(runtime)
    assert [got[i].status for i in ids] == ["delivered"] * 3
    assert got[ids[0]].attempts == 2 and got[ids[0]].lease_owner is None
    assert (
        got[ids[0]].delivered_at is not None and got[ids[0]].delivered_at >= dead.lease_expires_at
    )  # type: ignore[operator]
    sent = [r["body"]["metadata"]["external_id"] for r in sim.state.requests()]
    assert sent[:3] == ["conv-m0", "conv-m1", "conv-m2"]


def test_two_flusher_processes_deliver_every_row_exactly_once(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    total = 2 * ROWS_PER_PROCESS
    # Many short lanes (conversations of 4 messages), as real traffic has.
    for lane in range(total // 4):
        add_messages(runtime, f"conv-{lane}", 4)
    env = process_env(runtime.settings.database_url, sim.url, fake_slack.api_url)
    go = tmp_path / "go"
    procs = [start_flusher(env, tmp_path, go) for _ in range(2)]

    def ready() -> bool:
        for p in procs:
            assert p.poll() is None, p.communicate()[1].decode()
        return all((tmp_path / f"ready-{p.pid}").exists() for p in procs)

    wait_until(ready, timeout=60)
    go.touch()
    counts = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err.decode()
        counts.append(json.loads(out.decode().strip().splitlines()[-1]))

    stats = sim.state.stats()
    assert stats["total_accepted"] == total and stats["total_duplicates"] == 0
    assert sum(c["delivered"] for c in counts) == total
    assert all(c["delivered"] > 0 for c in counts), counts
    assert {r.status for r in rows(runtime).values()} == {"delivered"}
    # Order within each conversation held although two processes shared the work.
    order: dict[str, list[str]] = {}
    for r in sim.state.requests():
        meta = r["body"]["metadata"]
        order.setdefault(meta["external_conversation_id"], []).append(meta["external_id"])
    assert all(ids == [f"{conv}-m{i}" for i in range(4)] for conv, ids in order.items())
