"""Many workspaces on one deployment: does one noisy or broken workspace delay the others?

    python benchmarks/bench_tenants.py                      # 200 workspaces, SQLite
    python benchmarks/bench_tenants.py --pg postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/bench_tenants.py --workspaces 5 --flood 40 --seconds 10 --warmup 3

N workspaces, each linked (one Slack channel) to its own Front channel, each channel its
own company in the Front simulator (which runs in its own process) with a limit drawn
from 50-200 requests a minute (seeded). For `--seconds`, a steady background of logged
calls and messages (`--per-minute` per workspace, alternating) is stored through the
product's services (`calls.service.log_call`, `messages.service.log_message`: the rows,
their outbox rows and their Slack cards, as a submitted modal stores them) by this
process, in the same database `serve` reads; the work of the Slack listeners before
that (signature, parsing, modal) is not part of this benchmark (see bench_soak).

Two runs per database, each on a fresh database and a reset simulator:
- calm: only the background;
- faults: the same background, and at its start workspace A (the first) floods
  `--flood` messages at once, workspace B's company answers every request 503, and
  workspace C's credentials are refused (401: the workspace pauses).

Delay of a row = its `delivered_at` (stored once Front answered 202) minus its
`created_at`, for the rows of the other N-3 workspaces (the same workspaces in both
runs); after `--seconds` the background stops and the run waits (up to `--drain`
seconds) until all of them are delivered. A's rate: A's accepted requests a minute from
`--warmup` seconds after the flood was stored (its company's burst is spent by then) to
the end of the background, as a share of its company's limit, and the 429s among A's
requests in that window (the simulator's `/_sim/answers`). `locked`: this process's
transactions that met SQLite's busy timeout (the flood is stored in transactions of 50
rows) and were tried again.

Modes: SQLite with `serve` alone; PostgreSQL (`--pg`) with `serve` and 2 `switchboard
worker` processes. Figures are printed, not checked against the goals (others' p99 ≤
1.1× calm, A ≥ 0.95 of its limit, 429s < 1%).
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import OperationalError
from sqlmodel import select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: find bot/, storage/, tests/
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_common import (  # noqa: E402
    Processes,
    percentile,
    process_env,
    scratch_database,
    sim_post,
    simulator,
    workdir,
)
from bot.core import links  # noqa: E402
from bot.features.calls import service as calls  # noqa: E402
from bot.features.calls.lifecycle import Status  # noqa: E402
from bot.features.messages import drafts  # noqa: E402
from bot.features.messages import service as messages  # noqa: E402
from storage.engine import make_engine, session_scope  # noqa: E402
from storage.models import Direction, OutboxRow, utcnow  # noqa: E402
from tests.helpers.fake_slack import running_fake_slack  # noqa: E402

WORKERS_ON_PG = 2


@dataclass(frozen=True)
class Tenant:
    team_id: str
    channel_id: str
    front_channel_id: str
    company: str
    limit: int  # requests a minute


def tenants(count: int, seed: int) -> list[Tenant]:
    rng = random.Random(seed)
    return [
        Tenant(f"T{i:04d}", f"C{i:04d}", f"cha_t{i:04d}", f"co_{i:04d}", rng.randint(50, 200))
        for i in range(count)
    ]


def sim_config(ts: list[Tenant], faults: bool) -> dict[str, Any]:
    companies: dict[str, dict[str, Any]] = {
        t.company: {"rate_limit_per_minute": t.limit} for t in ts
    }
    if faults:
        companies[ts[1].company]["error_rate"] = 1.0
        companies[ts[2].company]["refuse_credentials"] = True
    return {
        "channel_companies": {t.front_channel_id: t.company for t in ts},
        "companies": companies,
        "error_statuses": [503],
        "resource_rate_per_second": None,
    }


def link_all(url: str, ts: list[Tenant]) -> None:
    engine = make_engine(url)
    with session_scope(engine) as session:
        for t in ts:
            links.connect(
                session,
                team_id=t.team_id,
                slack_channel_id=t.channel_id,
                front_channel_id=t.front_channel_id,
                user_id="U1",
            )
    engine.dispose()


class Logger:
    """Logs calls and messages through the services, in transactions of `batch`."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.count = 0
        self.locked = 0  # transactions that met SQLite's busy timeout, tried again

    def log(self, picks: list[Tenant], tag: str) -> None:
        for attempt in range(10):
            try:
                self._log(picks, tag)
                return
            except OperationalError:
                if attempt == 9:
                    raise
                self.locked += 1
                time.sleep(0.2)

    def _log(self, picks: list[Tenant], tag: str) -> None:
        with session_scope(self.engine) as session:
            for t in picks:
                self.count += 1
                n = self.count
                if n % 2:
                    calls.log_call(
                        session,
                        team_id=t.team_id,
                        slack_channel_id=t.channel_id,
                        user_id="U1",
                        external_call_id=f"bench-{tag}-call-{n}",
                        draft=calls.CallDraft(
                            direction=Direction.inbound,
                            party_handle="+33612345678",
                            initial_status=Status.ringing,
                            started_at=utcnow(),
                            party_name=f"Caller {n}",
                            agent_user_id="U1",
                        ),
                    )
                    continue
                ts = f"{time.time():.6f}"
                messages.log_message(
                    session,
                    draft=drafts.MessageDraft(
                        team_id=t.team_id,
                        channel_id=t.channel_id,
                        ts=ts,
                        root_ts=ts,
                        direction=Direction.inbound,
                        contact=drafts.Contact("ada@example.com", "Ada", "ada@example.com"),
                        body_html=f"<div>message {n}</div>",
                        body_text=f"message {n}",
                        logged_by="U1",
                        source=drafts.Source.logmsg,
                        external_id=f"bench-{tag}-msg-{n}",
                        conversation_id=f"bench-{tag}-conv-{n}",
                    ),
                )

    def flood(self, tenant: Tenant, rows: int, tag: str, batch: int = 50) -> None:
        for start in range(0, rows, batch):
            self.log([tenant] * min(batch, rows - start), f"{tag}-flood")


class Background(threading.Thread):
    """`per_minute` rows a minute per workspace, spread evenly, until stopped."""

    def __init__(self, logger: Logger, ts: list[Tenant], per_minute: float, tag: str) -> None:
        super().__init__(daemon=True)
        self.logger, self.ts, self.tag = logger, ts, tag
        self.per_second = per_minute * len(ts) / 60
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        started, sent, next_tenant = time.monotonic(), 0, 0
        try:
            while not self.stop.wait(0.25):
                due = int((time.monotonic() - started) * self.per_second) - sent
                picks = [self.ts[(next_tenant + i) % len(self.ts)] for i in range(due)]
                if picks:
                    self.logger.log(picks, self.tag)
                    sent += len(picks)
                    next_tenant = (next_tenant + len(picks)) % len(self.ts)
        except BaseException as exc:  # reported by the run
            self.error = exc


@dataclass
class RunFigures:
    db: str
    run: str
    others_rows: int
    undelivered: int
    delays: list[float] = field(default_factory=list)
    a_share: float | None = None
    a_rate: float | None = None
    a_limit: int | None = None
    a_429: int = 0
    a_requests: int = 0
    notes: str = ""
    locked: int = 0

    @property
    def p50(self) -> float:
        return percentile(self.delays, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.delays, 0.99)


def _seconds(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def others_delays(url: str, others: set[str]) -> tuple[int, int, list[float]]:
    """(rows, undelivered, delays in seconds) of the Front rows of `others`."""
    engine = make_engine(url)
    with session_scope(engine, readonly=True) as session:
        query = select(OutboxRow.team_id, OutboxRow.created_at, OutboxRow.delivered_at)
        got = [r for r in session.exec(query).all() if r[0] in others]
    engine.dispose()
    delays = [_seconds(d) - _seconds(c) for _, c, d in got if d is not None]
    return len(got), sum(1 for _, _, d in got if d is None), delays


def open_rows(url: str, others: set[str]) -> int:
    return others_delays(url, others)[1]


def one_run(
    args: argparse.Namespace, kind: str, faults: bool, sim_url: str, tmp: Path
) -> RunFigures:
    ts = tenants(args.workspaces, args.seed)
    a, b, c = ts[0], ts[1], ts[2]
    others = {t.team_id for t in ts[3:]}
    tag = f"{kind}-{'faults' if faults else 'calm'}"
    sim_post(sim_url, "/_sim/reset")
    sim_post(sim_url, "/_sim/config", sim_config(ts, faults))
    with scratch_database(kind, args.pg, tmp) as url, running_fake_slack() as slack:
        link_all(url, ts)
        settings: dict[str, object] = {"flush_concurrency": args.concurrency}
        if args.flush_interval is not None:
            settings["flush_interval_seconds"] = args.flush_interval
        env = process_env(url, sim_url, slack.api_url, **settings)
        workers = WORKERS_ON_PG if kind == "postgres" else 0
        with Processes(env, tmp, workers=workers) as procs:
            time.sleep(1.0 if workers else 0.0)
            logger = Logger(url)
            background = Background(logger, ts, args.per_minute, tag)
            started = time.time()
            background.start()
            flooded = time.time()
            if faults:
                logger.flood(a, args.flood, tag)
                took, flooded = time.time() - flooded, time.time()
                print(f"  {tag}: A ({a.team_id}) flooded {args.flood} rows in {took:.0f} s")
            while time.time() - started < args.seconds and background.is_alive():
                procs.check_alive()
                time.sleep(0.5)
            background.stop.set()
            background.join()
            if background.error is not None:
                raise background.error
            ended = time.time()
            deadline = time.monotonic() + args.drain
            while open_rows(url, others) and time.monotonic() < deadline:
                procs.check_alive()
                time.sleep(1.0)
            total, undelivered, delays = others_delays(url, others)
            logger.engine.dispose()
    figures = RunFigures(kind, "faults" if faults else "calm", total, undelivered, delays)
    figures.locked = logger.locked
    answers = httpx.get(f"{sim_url}/_sim/answers", params={"company": a.company}).json()
    figures.a_limit = a.limit
    if faults and answers:
        w0 = flooded + args.warmup
        window = [x for x in answers if w0 <= x["at"] <= ended]
        accepted = sum(1 for x in window if x["status"] < 300)
        figures.a_requests = len(window)
        figures.a_429 = sum(1 for x in window if x["status"] == 429)
        if accepted > 1 and ended > w0:
            figures.a_rate = accepted / (ended - w0) * 60
            figures.a_share = figures.a_rate / a.limit
        stats = httpx.get(f"{sim_url}/_sim/stats").json()["companies"]
        bs, cs = stats.get(b.company, {}), stats.get(c.company, {})
        figures.notes = (
            f"B: {bs.get('requests', 0)} requests, {bs.get('server_errors', 0)} 503s; "
            f"C: {cs.get('requests', 0)} requests, {cs.get('unauthorized', 0)} 401s"
        )
    return figures


def report(results: list[RunFigures], args: argparse.Namespace) -> str:
    lines = [
        f"{args.workspaces} workspaces (limits 50-200/min), background {args.per_minute:g} "
        f"rows/min each for {args.seconds:g} s, flood {args.flood} rows; delays of the other "
        f"{args.workspaces - 3} workspaces' rows, enqueue -> delivered",
        f"{'db':<9} {'run':<7} {'rows':>6} {'undelivered':>11} {'p50 s':>7} {'p99 s':>7} "
        f"{'p50 x':>6} {'p99 x':>6} {'locked':>6}",
    ]
    calm = {r.db: r for r in results if r.run == "calm"}
    for r in results:
        base = calm.get(r.db)
        x50 = f"{r.p50 / base.p50:.2f}" if base and base.p50 else "-"
        x99 = f"{r.p99 / base.p99:.2f}" if base and base.p99 else "-"
        lines.append(
            f"{r.db:<9} {r.run:<7} {r.others_rows:>6} {r.undelivered:>11} {r.p50:>7.2f} "
            f"{r.p99:>7.2f} {x50:>6} {x99:>6} {r.locked:>6}"
        )
    for r in results:
        if r.run != "faults":
            continue
        if r.a_share is None:
            lines.append(f"{r.db}: A: too few answers after {args.warmup:g} s to give a rate")
        else:
            share = 100 * r.a_429 / max(1, r.a_requests)
            lines.append(
                f"{r.db}: A: {r.a_rate:.0f}/min of its limit {r.a_limit}/min "
                f"({r.a_share:.2f} of the limit) after {args.warmup:g} s; 429s {r.a_429} of "
                f"{r.a_requests} requests ({share:.2f}%)"
            )
        lines.append(f"{r.db}: {r.notes}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[RunFigures]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL URL (admin): run there too (serve + 2 workers)")
    parser.add_argument("--dbs", default="sqlite,postgres", help="which of sqlite,postgres")
    parser.add_argument("--workspaces", type=int, default=200)
    parser.add_argument("--flood", type=int, default=5000, help="rows A floods at once")
    parser.add_argument("--seconds", type=float, default=180.0, help="background duration")
    parser.add_argument("--per-minute", type=float, default=3.0, help="background, each")
    parser.add_argument("--warmup", type=float, default=60.0, help="A's rate counted after")
    parser.add_argument("--drain", type=float, default=300.0, help="wait for others' rows")
    parser.add_argument("--concurrency", type=int, default=8, help="FLUSH_CONCURRENCY")
    parser.add_argument("--flush-interval", type=float, help="FLUSH_INTERVAL_SECONDS")
    parser.add_argument("--runs", default="calm,faults")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.workspaces < 4:
        parser.error("--workspaces: at least 4 (A, B, C and another)")
    kinds = [k for k in args.dbs.split(",") if k == "sqlite" or (k == "postgres" and args.pg)]
    results: list[RunFigures] = []
    with simulator() as sim_url, workdir() as tmp:
        for kind in kinds:
            for run in args.runs.split(","):
                print(f"running {kind} {run}...", flush=True)
                results.append(one_run(args, kind, run == "faults", sim_url, tmp))
    print(report(results, args), flush=True)
    return results


if __name__ == "__main__":
    main()
