"""Outbox flush figures: throughput beside the bare client loop, pacing under a rate
limit, and claim time with a million delivered rows.

    python benchmarks/bench_flush.py                      # SQLite only
    python benchmarks/bench_flush.py --pg postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/bench_flush.py --only throughput --rows 10000 --concurrency 8,32

The Front simulator runs in its own process (as in `bench_client.py`, whose bare
`httpx` + fresh JWT loop is the reference). PostgreSQL figures use a scratch database
created next to the one `--pg` names, dropped afterwards.

1. throughput: N rows enqueued, then one `Flusher.flush()` until all are delivered;
   rows per second beside `bare+jwt` (bench_client's loop) at the same concurrency.
   Two shapes: every row its own lane (no ordering cost) and conversations of 5 rows.
2. rate limit: the simulator allows R requests a minute (its burst is R too); rows for
   the burst plus `--rate-seconds` of steady flow; the achieved rate after the burst,
   as a share of R, and the 429s met.
3. claim: the median time of one claim (8 rows, rolled back) among 1,000 pending rows,
   in a table with no delivered rows and with `--delivered` (1,000,000) of them. With
   `--claim-workspaces N`, N-1 more workspaces have a conversation of 5 rows each after
   those 1,000 (claims take turns between workspaces).

`--profile` instead runs one flush of `--rows` rows (one per lane) per database at the
first `--concurrency` under cProfile, in the event loop and in the database worker
threads alike, and prints the CPU by area (database, HTTP, JWT, validation, ...) and
the top functions by own time. Its clock is each thread's CPU time: a wall clock would
also count the waits for the GIL between the event loop and the database thread (and
for the database server), and blame them on whichever C call was waiting.

    python benchmarks/bench_flush.py --profile --rows 3000 --concurrency 8 --dbs sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import bench_client  # noqa: E402
import bench_common  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.delivery.claim import claim  # noqa: E402
from bot.delivery.flusher import Flusher  # noqa: E402
from bot.delivery.outbox import SlackContext, conversation_lane, enqueue  # noqa: E402
from bot.front import FrontClient, JwtAuth  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from storage import migrate  # noqa: E402
from storage.engine import make_engine, session_scope  # noqa: E402

SIGNING = "bench-signing-secret-0123456789"


# Databases ---------------------------------------------------------------------------


@contextmanager
def database(kind: str, pg_url: str | None) -> Iterator[str]:
    """A scratch database (see `bench_common.scratch_database`), gone afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        with bench_common.scratch_database(kind, pg_url, Path(tmp)) as url:
            yield url


def runtime_for(url: str, front_url: str, concurrency: int) -> Runtime:
    settings = load_settings(
        env_file=None,
        slack_signing_secret=SIGNING,
        slack_bot_token="xoxb-bench",
        slack_api_url="http://127.0.0.1:9/",  # never called: nothing fails in these runs
        database_url=url,
        front_app_uid=bench_client.APP_UID,
        front_app_secret=bench_client.APP_SECRET,
        front_api_url=front_url,
        flush_concurrency=concurrency,
        flush_interval_seconds=0.5,
    )
    engine = make_engine(url)
    migrate.upgrade(engine)
    return Runtime(settings=settings, engine=engine)


def fill(rt: Runtime, rows: int, lane_size: int, prefix: str, team: str = "TBENCH") -> None:
    with session_scope(rt.engine) as session:
        for i in range(rows):
            conv = f"{prefix}-{i // lane_size}"
            payload = bench_client.body(i)
            payload["metadata"] = {
                "external_id": f"{prefix}-m{i}",
                "external_conversation_id": conv,
            }
            enqueue(
                session,
                operation="sync_inbound_message",
                front_channel_id=bench_client.CHANNEL,
                lane=conversation_lane(bench_client.CHANNEL, conv),
                payload=payload,
                context=SlackContext(team_id=team),
            )


def clear(rt: Runtime) -> None:
    with session_scope(rt.engine) as session:
        for table in ("outbox_file", "outbox", "outbox_pace"):
            session.execute(text(f"DELETE FROM {table}"))


async def flush_all(rt: Runtime) -> tuple[float, dict[str, int]]:
    seconds, _, stats = await timed_flush(rt)
    return seconds, stats


async def timed_flush(rt: Runtime) -> tuple[float, float, dict[str, int]]:
    """(wall seconds, CPU seconds of this process, counts) of one flush."""
    flusher = Flusher(rt, idle_wait=0.5)
    started, cpu = time.perf_counter(), time.process_time()
    await flusher.flush()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await flusher.aclose()
    stats = {"delivered": flusher.stats.delivered, "claimed": flusher.stats.claimed}
    return seconds, cpu, stats


# 1. Throughput ---------------------------------------------------------------------------


async def bare_rate(url: str, requests: int, concurrency: int) -> tuple[float, float]:
    """bench_client's `bare+jwt` loop: the reference (a run the simulator's socket
    backlog broke is run again). (requests/s, CPU seconds of this process a request)"""
    for attempt in range(3):
        try:
            return await _bare_rate(url, requests, concurrency)
        except httpx.TransportError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _bare_rate(url: str, requests: int, concurrency: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    front = FrontClient(url, JwtAuth(bench_client.APP_UID, bench_client.APP_SECRET))
    bare = httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits)
    control = httpx.AsyncClient(base_url=url, timeout=30.0)
    try:
        send = dict(bench_client.make_variants(front, bare))["bare+jwt"]
        await control.post("/_sim/reset")
        await bench_client.drive(send, 100, concurrency, 10_000_000)
        seconds, cpu = await bench_client.drive(send, requests, concurrency, 20_000_000)
        return requests / seconds, cpu / requests
    finally:
        await front.aclose()
        await bare.aclose()
        await control.aclose()


def throughput(args: argparse.Namespace, kinds: list[str], sim_url: str) -> None:
    print(
        f"\n1. flush throughput: {args.rows} rows, simulator in its own process, "
        f"median of {args.rounds} rounds (bare loop and flush alternate); cpu: this "
        f"process's CPU a row (flush, database thread included) and a request (bare)"
    )
    print(
        f"{'db':<9} {'conc':>4}  {'lanes':<18} {'rows/s':>7} {'(min-max)':>10}  "
        f"{'bare+jwt':>8}  {'ratio':>5}  {'cpu us':>6} {'bare us':>7}"
    )
    for kind in kinds:
        with database(kind, args.pg) as url:
            for concurrency in args.concurrency:
                rt = runtime_for(url, sim_url, concurrency)
                for lane_size, label in ((1, "one row per lane"), (5, "5 rows per lane")):
                    flushes: list[float] = []
                    bares: list[float] = []
                    cpus: list[float] = []
                    bare_cpus: list[float] = []
                    for round_ in range(args.rounds):
                        clear(rt)
                        httpx.post(f"{sim_url}/_sim/reset")
                        fill(rt, args.rows, lane_size, f"t{lane_size}-{concurrency}-{round_}")
                        seconds, cpu, stats = asyncio.run(timed_flush(rt))
                        assert stats["delivered"] == args.rows, stats
                        flushes.append(args.rows / seconds)
                        cpus.append(cpu / args.rows)
                        bare, bare_cpu = asyncio.run(bare_rate(sim_url, args.rows, concurrency))
                        bares.append(bare)
                        bare_cpus.append(bare_cpu)
                    rate, bare = statistics.median(flushes), statistics.median(bares)
                    spread = f"{min(flushes):.0f}-{max(flushes):.0f}"
                    cpu_us = statistics.median(cpus) * 1e6
                    bare_us = statistics.median(bare_cpus) * 1e6
                    print(
                        f"{kind:<9} {concurrency:>4}  {label:<18} {rate:>7.0f} {spread:>10}  "
                        f"{bare:>8.0f}  {rate / bare:>5.2f}  {cpu_us:>6.0f} {bare_us:>7.0f}"
                    )
                rt.engine.dispose()


# 2. Rate limit --------------------------------------------------------------------------


def rate_limit(args: argparse.Namespace, kinds: list[str], sim_url: str) -> None:
    print(
        f"\n2. pacing: simulator limited to R requests/minute (burst R), "
        f"burst + {args.rate_seconds:.0f} s of rows"
    )
    print(f"{'db':<9} {'R/min':>6}  {'rows':>5}  {'achieved/min':>12}  {'vs R':>5}  {'429s':>5}")
    for kind in kinds:
        with database(kind, args.pg) as url:
            rt = runtime_for(url, sim_url, 8)
            for per_minute in args.rates:
                rows = per_minute + int(per_minute / 60 * args.rate_seconds)
                clear(rt)
                httpx.post(f"{sim_url}/_sim/reset")
                httpx.post(f"{sim_url}/_sim/config", json={"rate_limit_per_minute": per_minute})
                fill(rt, rows, 1, f"r{per_minute}")
                seconds, stats = asyncio.run(flush_all(rt))
                sim_stats = httpx.get(f"{sim_url}/_sim/stats").json()
                seen = sorted(
                    r["received_at"] for r in httpx.get(f"{sim_url}/_sim/requests").json()
                )
                # The steady state: the last half of the rows beyond the burst (by then the
                # burst and what refilled while it drained are spent).
                steady = seen[-max(2, (rows - per_minute) // 2) :]
                achieved = (len(steady) - 1) / (steady[-1] - steady[0]) * 60
                print(
                    f"{kind:<9} {per_minute:>6}  {rows:>5}  {achieved:>12.0f}  "
                    f"{achieved / per_minute:>5.2f}  {sim_stats['rate_limited']:>5}"
                )
            httpx.post(f"{sim_url}/_sim/config", json={"rate_limit_per_minute": None})
            rt.engine.dispose()


# 3. Claim time --------------------------------------------------------------------------


def add_delivered(rt: Runtime, count: int) -> None:
    """Bulk rows already delivered, in lanes of 5, as a long-running deployment has."""
    if count <= 0:
        return
    now = "2026-01-01 00:00:00.000000"
    columns = (
        "operation, front_channel_id, path, payload, lane, status, attempts, next_attempt_at, "
        "team_id, created_at, updated_at, delivered_at"
    )
    if rt.engine.dialect.name == "postgresql":
        sql = (
            f"INSERT INTO outbox ({columns}) SELECT 'sync_inbound_message', 'cha_bench', '{{}}', "
            f"'{{}}', 'conversation:cha_bench:old-' || (g / 5), 'delivered', 1, "
            f"timestamptz '{now}+00', 'TBENCH', timestamptz '{now}+00', timestamptz '{now}+00', "
            f"timestamptz '{now}+00' FROM generate_series(1, {count}) AS g"
        )
        with session_scope(rt.engine) as session:
            session.execute(text(sql))
            session.execute(text("ANALYZE outbox"))
        return
    sql = (
        f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count}) "
        f"INSERT INTO outbox ({columns}) SELECT 'sync_inbound_message', 'cha_bench', '{{}}', "
        f"'{{}}', 'conversation:cha_bench:old-' || (n / 5), 'delivered', 1, '{now}', 'TBENCH', "
        f"'{now}', '{now}', '{now}' FROM g"
    )
    with session_scope(rt.engine) as session:
        session.execute(text(sql))
        session.execute(text("ANALYZE"))


def time_claims(rt: Runtime, runs: int) -> float:
    timings = []
    for _ in range(runs):
        session_cm = session_scope(rt.engine)
        session = session_cm.__enter__()
        started = time.perf_counter()
        result = claim(session, owner="bench", limit=8, lease_seconds=60)
        timings.append(time.perf_counter() - started)
        assert len(result.rows) == 8, len(result.rows)
        session.rollback()  # the table stays as it was for the next run
        session_cm.__exit__(None, None, None)
    return statistics.median(timings) * 1000


def claim_time(args: argparse.Namespace, kinds: list[str], sim_url: str) -> None:
    print(
        f"\n3. claim time (8 rows among 1,000 pending, {args.claim_workspaces} workspace(s), "
        f"median of {args.claim_runs} claims)"
    )
    print(f"{'db':<9} {'delivered rows':>14}  {'ms/claim':>8}  {'vs empty':>8}")
    for kind in kinds:
        baseline = None
        for delivered in (0, args.delivered):
            with database(kind, args.pg) as url:
                rt = runtime_for(url, sim_url, 8)
                add_delivered(rt, delivered)
                fill(rt, 1000, 5, "pending")
                teams = ["TBENCH"] + [f"TB{i:04d}" for i in range(1, args.claim_workspaces)]
                for team in teams[1:]:
                    fill(rt, 5, 5, f"pending-{team}", team)
                # Workspaces' pacing rows exist (they do after the first claim) and allow all.
                with session_scope(rt.engine) as session:
                    if kind != "sqlite":
                        # What autovacuum does after 1,000 changed rows (migration 0012's
                        # setting for the outbox), at once rather than within its minute.
                        session.execute(text("ANALYZE outbox"))
                    for team in teams:
                        session.execute(
                            text(
                                "INSERT INTO outbox_pace (team_id, tokens, capacity, per_second, "
                                "refilled_at, ready_at, seq, calibrated_seq, probes, updated_at) "
                                "VALUES (:team, 1e9, 1e9, 1e9, :t, :t, 0, 0, 0, :t)"
                            ),
                            {
                                "team": team,
                                "t": "2026-01-01 00:00:00.000000"
                                if kind == "sqlite"
                                else "2026-01-01 00:00:00+00",
                            },
                        )
                ms = time_claims(rt, args.claim_runs)
                baseline = baseline or ms
                print(f"{kind:<9} {delivered:>14,}  {ms:>8.2f}  {ms / baseline:>8.2f}")
                rt.engine.dispose()


# Profile --------------------------------------------------------------------------------


class _ProfiledExecutor(ThreadPoolExecutor):
    """The loop's default executor (`asyncio.to_thread`), each job under its thread's own
    profiler: cProfile sees only the thread that enabled it, and the database work runs
    in these threads."""

    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self._local = threading.local()
        self.profilers: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def profiled() -> Any:
            prof = getattr(self._local, "prof", None)
            if prof is None:
                prof = self._local.prof = cProfile.Profile(time.thread_time)
                with self._lock:
                    self.profilers.append(prof)
            prof.enable()
            try:
                return fn(*args, **kwargs)
            finally:
                prof.disable()

        return super().submit(profiled)


# Where a function's own time goes: the first matching part of its file name.
_AREAS = (
    ("sqlalchemy", "database: SQLAlchemy"),
    ("sqlmodel", "database: SQLAlchemy"),
    ("psycopg", "database: driver"),
    ("sqlite3", "database: driver"),
    ("_sqlite3", "database: driver"),
    ("httpx", "HTTP: httpx/httpcore"),
    ("httpcore", "HTTP: httpx/httpcore"),
    ("h11", "HTTP: httpx/httpcore"),
    ("anyio", "HTTP: httpx/httpcore"),
    ("jwt", "JWT"),
    ("hmac", "JWT"),
    ("pydantic", "validation (pydantic)"),
    ("json", "JSON"),
    ("/bot/delivery/", "delivery (ours)"),
    ("/bot/front/", "Front client (ours)"),
    ("/bot/", "other (ours)"),
    ("asyncio", "event loop"),
    ("selectors", "event loop"),
    ("logging", "logging"),
    ("prometheus_client", "metrics"),
)


def _area(filename: str, name: str) -> str:
    if filename == "~":  # a built-in: judge by its name
        for needle, area in (("sqlite3", "database: driver"), ("psycopg", "database: driver")):
            if needle in name:
                return area
        return "built-ins"
    for needle, area in _AREAS:
        if needle in filename:
            return area
    return "other"


async def _profiled_flush(
    rt: Runtime, executor: _ProfiledExecutor, prof: cProfile.Profile
) -> tuple[float, dict[str, int]]:
    asyncio.get_running_loop().set_default_executor(executor)
    prof.enable()
    try:
        return await flush_all(rt)
    finally:
        prof.disable()


def profile(args: argparse.Namespace, kinds: list[str], sim_url: str) -> None:
    concurrency = args.concurrency[0]
    for kind in kinds:
        with database(kind, args.pg) as url:
            rt = runtime_for(url, sim_url, concurrency)
            clear(rt)
            httpx.post(f"{sim_url}/_sim/reset")
            fill(rt, args.rows, 1, f"p-{concurrency}")
            executor = _ProfiledExecutor()
            main_prof = cProfile.Profile(time.thread_time)
            seconds, stats = asyncio.run(_profiled_flush(rt, executor, main_prof))
            executor.shutdown()
            rt.engine.dispose()
            assert stats["delivered"] == args.rows, stats
            report = pstats.Stats(main_prof, stream=io.StringIO())
            for prof in executor.profilers:
                report.add(prof)
            raw: dict[Any, Any] = report.stats  # type: ignore[attr-defined]
            total = sum(tt for (_, _, tt, _, _) in raw.values())
            areas: dict[str, float] = {}
            for (filename, _, name), (_, _, tt, _, _) in raw.items():
                area = _area(filename, name)
                areas[area] = areas.get(area, 0.0) + tt
            print(
                f"\nprofile: {kind}, concurrency {concurrency}, {args.rows} rows in "
                f"{seconds:.2f} s under cProfile ({args.rows / seconds:.0f} rows/s); "
                f"{total / args.rows * 1e6:.0f} us of CPU a row, profiler's overhead included "
                f"(the simulator's process not included)"
            )
            print(f"{'area':<24} {'us/row':>7} {'share':>6}")
            for area, tt in sorted(areas.items(), key=lambda kv: -kv[1]):
                print(f"{area:<24} {tt / args.rows * 1e6:>7.0f} {tt / total:>6.1%}")
            out = io.StringIO()
            report.stream = out  # type: ignore[attr-defined]
            report.sort_stats("tottime").print_stats(args.profile_top)
            print(_trim(out.getvalue()))
            out = io.StringIO()
            report.stream = out  # type: ignore[attr-defined]
            report.sort_stats("cumulative").print_stats(r"/bot/|/storage/", args.profile_top)
            print(_trim(out.getvalue()))
            # What one round of database work is made of.
            out = io.StringIO()
            report.stream = out  # type: ignore[attr-defined]
            report.sort_stats("cumulative").print_callees(r"record_outcomes|claim.py.*\(claim\)")
            print(_trim(out.getvalue()))


def _trim(text: str) -> str:
    """pstats' table without its preamble, paths shortened to the package."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(
        line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
        for line in lines[start:]
        if line.strip()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL URL (admin): also run on PostgreSQL")
    parser.add_argument(
        "--dbs", type=lambda s: s.split(","), default=["sqlite", "postgres"], help="sqlite,postgres"
    )
    parser.add_argument("--only", choices=["throughput", "rate", "claim"], action="append")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs; median kept")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32]
    )
    parser.add_argument(
        "--rates", type=lambda s: [int(x) for x in s.split(",")], default=[600, 3000]
    )
    parser.add_argument("--rate-seconds", type=float, default=30.0)
    parser.add_argument("--delivered", type=int, default=1_000_000)
    parser.add_argument("--claim-runs", type=int, default=200)
    parser.add_argument("--claim-workspaces", type=int, default=1)
    parser.add_argument(
        "--profile", action="store_true", help="profile one flush instead (see above)"
    )
    parser.add_argument("--profile-top", type=int, default=25, help="functions listed")
    args = parser.parse_args()
    kinds = [k for k in args.dbs if k == "sqlite" or args.pg]
    parts = args.only or ["throughput", "rate", "claim"]

    proc, sim_url = bench_client.start_simulator()
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        if args.profile:
            profile(args, kinds, sim_url)
            return
        if "throughput" in parts:
            throughput(args, kinds, sim_url)
        if "rate" in parts:
            rate_limit(args, kinds, sim_url)
        if "claim" in parts:
            claim_time(args, kinds, sim_url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    main()
