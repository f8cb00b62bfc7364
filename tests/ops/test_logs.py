"""Logging: one format for every line (ours, uvicorn's, Alembic's), JSON on request, the
delivery's fields on the flusher's lines, no Alembic lines per health probe."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.delivery.flusher import Flusher, FrontClients
from bot.front import FrontClient
from bot.ops.logs import bind, setup_logging
from bot.runtime import Runtime
from tests.delivery.conftest import add_messages
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack

ROOT = Path(__file__).resolve().parents[2]
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_json_lines_and_bound_fields(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("info", "json", stream=out)
    log = logging.getLogger("bot.test")
    log.info("plain <%s>", "x")
    bind(team_id="T1", outbox_id=42, operation="create_call")
    log.warning("bound")
    log.info("explicit", extra={"outbox_id": 7})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["message"] == "plain <x>" and "team_id" not in lines[0]
    assert lines[1] | {"time": ""} == {
        "time": "",
        "level": "warning",
        "logger": "bot.test",
        "message": "bound",
        "team_id": "T1",
        "outbox_id": 42,
        "operation": "create_call",
    }
    assert lines[2]["outbox_id"] == 7  # extra= wins over the bound value


class _Broken(FrontClients):
    def for_team(self, team_id: str) -> FrontClient:
        raise RuntimeError("boom")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_flushers_lines_name_the_row(runtime: Runtime, restore_logging: None) -> None:
    import asyncio

    out = io.StringIO()
    setup_logging("info", "json", stream=out)
    (row_id,) = add_messages(runtime, "conv-log", 1)

    async def once() -> None:
        flusher = Flusher(runtime, clients=_Broken(runtime.settings), idle_wait=0.0)
        try:
            await flusher.flush()
        finally:
            await flusher.aclose()

    asyncio.run(once())
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    sent = [line for line in lines if "unexpected error while sending" in line["message"]]
    assert sent, lines
    assert sent[0]["team_id"] == "T1"
    assert sent[0]["outbox_id"] == row_id
    assert sent[0]["operation"] == "sync_inbound_message"
    assert "RuntimeError: boom" in sent[0]["exception"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve_and_probe(tmp_path: Path, fake_slack: FakeSlack, **env: str) -> list[str]:
    """`switchboard serve`, three /healthz probes, SIGINT; its stderr lines."""
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    environ |= {
        "PYTHONPATH": str(ROOT),
        "SLACK_SIGNING_SECRET": "logs-secret-1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,  # in the environment: Bolt must not warn about it
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'logs.db'}",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--no-scheduler"],
        cwd=tmp_path,
        env=environ,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["migrations"] == "current"
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    return [line for line in err.splitlines() if line.strip()]


def test_serve_logs_json_for_every_logger(tmp_path: Path, fake_slack: FakeSlack) -> None:
    lines = _serve_and_probe(tmp_path, fake_slack, LOG_FORMAT="json")
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    loggers = [r["logger"] for r in records]
    assert "uvicorn.error" in loggers and "uvicorn.access" in loggers
    assert "alembic.runtime.migration" in loggers
    # Alembic speaks while migrating at start, never again for the health probes.
    running = next(i for i, r in enumerate(records) if "Uvicorn running" in r["message"])
    assert all(r["logger"] != "alembic.runtime.migration" for r in records[running:])
    assert sum("GET /healthz" in r["message"] for r in records) >= 4
    assert not [r for r in records if "will be unused" in r["message"]]


def test_serve_logs_one_text_format_by_default(tmp_path: Path, fake_slack: FakeSlack) -> None:
    lines = _serve_and_probe(tmp_path, fake_slack)
    assert lines
    for line in lines:
        assert TEXT_LINE.match(line), line
    assert any(" uvicorn.error: " in line for line in lines)
    assert any(" alembic.runtime.migration: " in line for line in lines)
    assert not [line for line in lines if "will be unused" in line]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_bad_log_level_is_one_line_and_exit_2(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--log-level", "loud"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("switchboard: --log-level must be one of debug, info, warning")
