"""What bench_tenants and bench_soak share: scratch databases, `switchboard serve` and
`switchboard worker` as real processes pointed at the Front simulator (its own process)
and the fake Slack Web API (a thread of the benchmark), percentiles, a process's RSS."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: find bot/, storage/, tests/
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_client  # noqa: E402
from storage import migrate  # noqa: E402
from storage.engine import make_engine, normalise_url  # noqa: E402
from tests.helpers.fake_slack import BOT_TOKEN  # noqa: E402
from tests.helpers.processes import (  # noqa: E402
    checkout_env,
    free_port,
    healthy,
    start_serve,
    stop,
    wait_for,
)
from tests.helpers.slack_signing import SIGNING_SECRET  # noqa: E402

_OURS = ("SLACK_", "FRONT_", "OUTBOX_", "FLUSH_", "DATABASE_URL", "WEB_CONCURRENCY")


@contextmanager
def scratch_database(kind: str, pg_url: str | None, tmp: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file in `tmp`, or a PostgreSQL database made
    next to the one `pg_url` names and dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db"
        _migrate(url)
        yield url
        return
    assert pg_url is not None
    admin_url = normalise_url(pg_url)
    name = f"switchboard_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


def process_env(
    database_url: str, front_url: str, slack_api_url: str, **settings: object
) -> dict[str, str]:
    """The environment of a `switchboard` process: nothing of ours inherited."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack_api_url,
        FRONT_APP_UID=bench_client.APP_UID,
        FRONT_APP_SECRET=bench_client.APP_SECRET,
        FRONT_API_URL=front_url,
        DATABASE_URL=database_url,
    )
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


class Processes:
    """`switchboard serve` (scheduler on) and `workers` × `switchboard worker`, logging
    into `tmp`; stopped (SIGTERM) on exit."""

    def __init__(
        self, env: dict[str, str], tmp: Path, workers: int = 0, *, trace: bool = False
    ) -> None:
        self.env, self.tmp, self.workers, self.trace = env, tmp, workers, trace
        self.port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def serve(self) -> subprocess.Popen[bytes]:
        return self.procs[0]

    def __enter__(self) -> Processes:
        log = open(self.tmp / f"serve-{self.port}.log", "wb")  # noqa: SIM115
        if self.trace:  # serve under tracemalloc (benchmarks/soak_trace.py)
            serve = subprocess.Popen(
                [sys.executable, str(ROOT / "benchmarks" / "soak_trace.py"), "serve"]
                + ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                env=checkout_env(self.env),
                cwd=self.tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            wait_for(lambda: healthy(self.base_url), serve, timeout=120, what="serve answering")
            self.procs.append(serve)
        else:
            self.procs.append(start_serve(self.env, self.tmp, self.port, log))
        for n in range(self.workers):
            wlog = open(self.tmp / f"worker-{self.port}-{n}.log", "wb")  # noqa: SIM115
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "worker", "--log-level", "warning"],
                    env=checkout_env(self.env),
                    cwd=self.tmp,
                    stdout=wlog,
                    stderr=subprocess.STDOUT,
                )
            )
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            stop(proc)

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"a switchboard process ended ({proc.returncode}); see {self.tmp}"
                )


@contextmanager
def simulator() -> Iterator[str]:
    """The Front simulator in its own process (no limits until configured)."""
    proc, url = bench_client.start_simulator()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        yield Path(tmp)


def sim_post(url: str, path: str, body: object | None = None) -> None:
    httpx.post(f"{url}{path}", json=body, timeout=30).raise_for_status()


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..1) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    """Resident set size of process `pid` in MB: psutil when installed, else /proc."""
    try:
        import psutil  # type: ignore[import-untyped, unused-ignore]

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except ImportError:
        pass
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def wait(seconds: float) -> None:
    time.sleep(max(0.0, seconds))
