"""`switchboard` processes started from tests, running this checkout's code.

Another copy of `bot` may be installed in the interpreter (a wheel, another worktree's
editable install): each child gets this checkout first on its PYTHONPATH, so what is
tested is what is checked out.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]


def checkout_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with this checkout ahead of anything else on the import path."""
    rest = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), *([rest] if rest else [])])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_switchboard(
    args: list[str], env: dict[str, str], cwd: Path, log: IO[bytes] | int | None = None
) -> subprocess.Popen[bytes]:
    """`switchboard <args>` as a deployment runs it (cwd has no .env)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env=checkout_env(env),
        cwd=cwd,
        stdout=subprocess.PIPE if log is None else log,
        stderr=subprocess.STDOUT,
    )


def healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(
    check: Callable[[], object],
    proc: subprocess.Popen[bytes] | None = None,
    timeout: float = 60.0,
    what: str = "condition",
) -> None:
    """Poll `check` until true; fail at once if `proc` ended meanwhile."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise AssertionError(f"process ended ({proc.returncode}): {out[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f} s")
        time.sleep(0.05)


def start_serve(
    env: dict[str, str], cwd: Path, port: int, log: IO[bytes] | int | None = None
) -> subprocess.Popen[bytes]:
    """`switchboard serve` on 127.0.0.1:`port`, once it answers /healthz."""
    proc = start_switchboard(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env,
        cwd,
        log,
    )
    wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), proc, what="serve answering")
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it does not end in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
