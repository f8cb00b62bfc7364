"""SIGTERM under load: the process stops taking work, finishes what is in flight within
SHUTDOWN_GRACE_SECONDS, gives back what it claimed and did not send, and exits. Nothing
is lost and nothing stays `sending` until its lease ends."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlmodel import select

from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import OutboxRow
from tests.delivery.conftest import Sim, add_messages
from tests.delivery.processes import process_env
from tests.helpers.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
LANES = 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """A `switchboard` process running this checkout's code, whatever else is installed."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *command, "--log-level", "warning"],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def statuses(rt: Runtime) -> dict[int, OutboxRow]:
    with session_scope(rt.engine, readonly=True) as s:
        return {r.id: r for r in s.exec(select(OutboxRow)) if r.id is not None}


def wait_for(check: object, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[0].decode()[-3000:])
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def sigterm_and_time(proc: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return time.monotonic() - started


def enqueue(rt: Runtime) -> list[int]:
    # One lane per conversation: as many requests in flight as the process allows.
    return [i for lane in range(LANES) for i in add_messages(rt, f"conv-{lane}", 2)]


def serve_under_load(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path, grace: float
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = process_env(
        runtime.settings.database_url,
        sim.url,
        fake_slack.api_url,
        shutdown_grace_seconds=grace,
        flush_concurrency=4,
    )
    proc = start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, proc)
    return proc, base


def keep_asking(base: str, stop: threading.Event) -> threading.Thread:
    """HTTP load beside the deliveries, until the server stops answering."""

    def run() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                try:
                    client.get(f"{base}/healthz", timeout=5)
                except httpx.TransportError:
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_serve_finishes_its_sends_within_the_grace_and_releases_the_rest(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    ids = enqueue(runtime)
    sim.state.configure(latency_ms=800)  # each send is in flight for a while
    grace = 4.0
    proc, base = serve_under_load(runtime, sim, fake_slack, tmp_path, grace)
    stop = threading.Event()
    load = keep_asking(base, stop)
    try:
        wait_for(lambda: any(r.status == "sending" for r in statuses(runtime).values()), proc)
        took = sigterm_and_time(proc)
    finally:
        stop.set()
        load.join(timeout=10)
    assert took < grace + 1, f"took {took:.1f} s to stop"

    rows = statuses(runtime)
    assert set(rows) == set(ids)
    assert {r.status for r in rows.values()} <= {"pending", "delivered"}
    # Every send finished in the grace was recorded: Front has exactly the delivered rows.
    accepted = {r["body"]["metadata"]["external_id"] for r in sim.state.requests()}
    delivered = {
        r.payload["metadata"]["external_id"] for r in rows.values() if r.status == "delivered"
    }
    assert delivered and accepted == delivered
    assert all(r.lease_owner is None for r in rows.values())


def test_serve_cuts_sends_outlasting_the_grace_short_and_releases_their_rows(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    ids = enqueue(runtime)
    sim.state.configure(latency_ms=8000)  # longer than the grace
    grace = 1.0
    proc, _ = serve_under_load(runtime, sim, fake_slack, tmp_path, grace)
    wait_for(lambda: any(r.status == "sending" for r in statuses(runtime).values()), proc)
    took = sigterm_and_time(proc)
    assert took < grace + 1, f"took {took:.1f} s to stop"
    rows = statuses(runtime)
    assert set(rows) == set(ids)
    assert {r.status for r in rows.values()} == {"pending"}  # none waits for a lease
    assert all(r.lease_owner is None and r.attempts == 0 for r in rows.values())


def test_worker_stops_within_the_grace_and_releases_its_rows(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    ids = enqueue(runtime)
    sim.state.configure(latency_ms=8000)
    grace = 1.0
    env = process_env(
        runtime.settings.database_url,
        sim.url,
        fake_slack.api_url,
        shutdown_grace_seconds=grace,
        flush_concurrency=4,
    )
    proc = start(["worker"], env, tmp_path)
    wait_for(lambda: any(r.status == "sending" for r in statuses(runtime).values()), proc)
    took = sigterm_and_time(proc)
    assert took < grace + 1, f"took {took:.1f} s to stop"
    # Ended by SIGTERM's own action once stopped, as `serve` (uvicorn) does.
    assert proc.returncode == -signal.SIGTERM, proc.communicate()[0].decode()[-2000:]
    rows = statuses(runtime)
    assert set(rows) == set(ids)
    assert {r.status for r in rows.values()} == {"pending"}
