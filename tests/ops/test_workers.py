"""`switchboard serve --workers 2`: two HTTP processes answer, one process delivers, each
delivery reaches Front once, and /metrics adds up every process's counts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from bot.config import Settings
from bot.runtime import Runtime
from storage.engine import make_engine, session_scope
from storage.models import DeliveryProcess
from tests.delivery.conftest import APP_SECRET, APP_UID, Sim, add_messages
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack

ROOT = Path(__file__).resolve().parents[2]
ROWS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pid(url: str) -> int | None:
    try:
        with httpx.Client() as http:  # a new connection each time
            return int(http.get(url, timeout=5).json()["pid"])
    except (httpx.TransportError, ValueError, KeyError):
        return None


def _delivered(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if (
                s.name == "switchboard_front_requests_total"
                and s.labels.get("outcome") == "delivered"
            ):
                return s.value
    return 0.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_http_processes_and_one_delivery_process(
    database_url: str, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "SLACK_SIGNING_SECRET": "workers-secret-1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
        "FRONT_APP_UID": APP_UID,
        "FRONT_APP_SECRET": APP_SECRET,
        "FRONT_API_URL": sim.url,
        "DATABASE_URL": database_url,
        "FLUSH_INTERVAL_SECONDS": "0.2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(8) as pool:
            while len(pids) < 2:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, f"only {pids} answered"
                pids |= {p for p in pool.map(_pid, [base + "/healthz"] * 16) if p}
                time.sleep(0.05)
        assert len(pids) == 2 and proc.pid not in pids

        settings = Settings(
            database_url=database_url, slack_signing_secret="x", slack_bot_token="y"
        )
        runtime = Runtime(settings=settings, engine=make_engine(database_url))
        add_messages(runtime, "conv-workers", ROWS // 2)
        add_messages(runtime, "conv-workers-2", ROWS - ROWS // 2)
        deadline = time.monotonic() + 30
        while sim.state.stats()["total_accepted"] < ROWS:
            assert time.monotonic() < deadline, sim.state.stats()
            time.sleep(0.1)
        time.sleep(1.0)  # anything sent twice would show by now
        stats = sim.state.stats()
        assert stats["total_accepted"] == ROWS and stats["total_duplicates"] == 0

        deadline = time.monotonic() + 20
        while True:  # the delivery process reports itself every few seconds
            with session_scope(runtime.engine) as session:
                procs = list(session.exec(select(DeliveryProcess)))
            if procs or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(procs) == 1 and procs[0].pid not in pids | {proc.pid}
        runtime.engine.dispose()

        # Any HTTP process's /metrics counts what the delivery process sent.
        assert _delivered(httpx.get(base + "/metrics").text) == ROWS
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]


def test_workers_default_to_web_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import make_settings

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert make_settings().web_concurrency == 3
    monkeypatch.delenv("WEB_CONCURRENCY")
    assert make_settings().web_concurrency == 1
