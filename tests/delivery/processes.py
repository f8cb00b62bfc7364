"""Delivery in other processes: `switchboard worker`, or a flusher that stops when done."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.delivery.conftest import APP_SECRET, APP_UID
from tests.helpers.fake_slack import BOT_TOKEN
from tests.helpers.processes import checkout_env
from tests.helpers.slack_signing import SIGNING_SECRET

_OURS = ("SLACK_", "FRONT_", "OUTBOX_", "FLUSH_", "DATABASE_URL")


def process_env(
    database_url: str, front_url: str, slack_api_url: str, **settings: Any
) -> dict[str, str]:
    """The environment of a process with these settings (nothing inherited for them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack_api_url,
        FRONT_APP_UID=APP_UID,
        FRONT_APP_SECRET=APP_SECRET,
        FRONT_API_URL=front_url,
        DATABASE_URL=database_url,
    )
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


def start_worker(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """`switchboard worker`, as a deployment runs it (cwd has no .env), running this
    checkout's code whatever else is installed."""
    log = open(cwd / f"worker-{len(list(cwd.glob('worker-*.log')))}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker", "--log-level", "warning"],
        env=checkout_env(env),
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_flusher(env: dict[str, str], cwd: Path, go_file: Path) -> subprocess.Popen[bytes]:
    """A process that flushes until no row is left open, then prints its counts. Once it
    has reached the database it creates `ready-<pid>` next to `go_file`, then waits for
    `go_file`."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.processes", str(go_file)],
        env=checkout_env(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _open_rows(rt: Any) -> int:
    from sqlmodel import col, func, select

    from storage.engine import session_scope
    from storage.models import OutboxRow

    with session_scope(rt.engine, readonly=True) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(OutboxRow)
                .where(col(OutboxRow.status).in_(("pending", "sending")))
            ).one()
        )


async def _flush_until_done(go_file: Path) -> dict[str, int]:
    from bot.config import load_settings
    from bot.delivery.flusher import Flusher
    from bot.runtime import build_runtime

    rt = build_runtime(load_settings(env_file=None))
    flusher = Flusher(rt, idle_wait=0.2)
    _open_rows(rt)  # connected: the start line is the same for every process
    go_file.with_name(f"ready-{os.getpid()}").touch()
    while not go_file.exists():  # both processes start together
        await asyncio.sleep(0.005)
    while _open_rows(rt):
        await flusher.flush()
    await flusher.aclose()
    rt.engine.dispose()
    return asdict(flusher.stats)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_flush_until_done(Path(sys.argv[1])))))
