"""`switchboard serve --workers N`: N HTTP processes and exactly one delivery process.

With one worker, `serve` stays one process with the scheduler inside. With more, this
process becomes a small supervisor: it applies migrations once, binds the listening
socket once, and starts N HTTP children that all accept on that socket (passed by file
descriptor) with no scheduler, plus one child that only delivers (what `switchboard
worker` runs). A child that dies is started again. SIGTERM or Ctrl-C stops them all.

Metrics from every child are added up through PROMETHEUS_MULTIPROC_DIR, set here before
any child starts (a temporary directory unless given).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
RESTART_DELAY = 1.0
STOP_GRACE = 15.0


@dataclass
class Child:
    role: str  # "web" or "delivery"
    args: list[str]
    pass_fds: tuple[int, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = field(default=0)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.workers", *self.args], pass_fds=self.pass_fds
        )
        self.started = time.monotonic()
        log.info("started %s process %s", self.role, self.proc.pid)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _metrics_dir() -> tuple[Path, bool]:
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="switchboard-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # counts of an earlier run are not this run's
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    return path, not given


def supervise(
    settings: Settings, *, host: str, port: int, workers: int, level: str, deliver: bool = True
) -> int:
    """Run the children until SIGTERM/SIGINT; the exit code."""
    from storage import migrate
    from storage.engine import make_engine

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)  # once, before any child (they find nothing to do)
    engine.dispose()
    metrics_dir, made = _metrics_dir()
    sock = bind(host, port)
    fd = sock.fileno()
    children = [
        Child("web", ["web", "--fd", str(fd), "--log-level", level], pass_fds=(fd,))
        for _ in range(workers)
    ]
    if deliver and settings.front_configured:
        children.append(Child("delivery", ["delivery", "--log-level", level]))
    elif deliver:
        from bot.delivery.runner import NO_FRONT_CREDENTIALS

        log.warning(NO_FRONT_CREDENTIALS)
    stopping = False

    def stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "switchboard serving on http://%s:%s with %s HTTP processes and %s delivery process",
        host,
        port,
        workers,
        len(children) - workers,
    )
    for child in children:
        child.start()
    try:
        while not stopping:
            time.sleep(0.2)
            for child in children:
                assert child.proc is not None
                code = child.proc.poll()
                if code is None or stopping:
                    continue
                _forget(child.proc.pid)
                log.error(
                    "%s process %s exited (%s): starting another", child.role, child.proc.pid, code
                )
                time.sleep(RESTART_DELAY)
                child.restarts += 1
                child.start()
    finally:
        _stop_all(children)
        sock.close()
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _forget(pid: int) -> None:
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
    except Exception:  # only gauges in "live" modes need it; none is fatal
        pass


def _stop_all(children: list[Child]) -> None:
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# The children ----------------------------------------------------------------------------


def _child_settings(level: str) -> Settings:
    from bot.config import SettingsError, load_settings
    from bot.ops.logs import setup_logging

    try:
        settings = load_settings()
    except SettingsError as exc:  # the supervisor checked them; the environment changed?
        for line in exc.problems:
            print(f"switchboard: {line}", file=sys.stderr)
        raise SystemExit(2) from None
    setup_logging(level, settings.log_format)
    return settings


def run_web(fd: int, level: str) -> None:
    import uvicorn

    from bot.server import build_server_app

    settings = _child_settings(level)
    web = build_server_app(settings, run_scheduler=False, migrate_db=False)
    sock = socket.socket(fileno=fd)  # the supervisor's listening socket, shared
    config = uvicorn.Config(web, log_level=level, log_config=None, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def run_delivery(level: str) -> None:
    from bot.server import run_worker

    run_worker(_child_settings(level))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="switchboard-child")
    parser.add_argument("role", choices=["web", "delivery"])
    parser.add_argument("--fd", type=int)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.role == "web":
        run_web(args.fd, args.log_level)
    else:
        run_delivery(args.log_level)


if __name__ == "__main__":
    main()
