"""Ack latency of `/logcall` beside a bare Bolt app that only acks, in the same run.

Every app runs on the same stack: uvicorn → Starlette → Bolt's AsyncSlackRequestHandler.
The bare app is one process. Switchboard runs as an operator runs it, `switchboard serve
--no-scheduler --workers N` (N = 1 and 2 by default: one process, or a supervisor with N
HTTP processes), on a SQLite file with the channel linked, so each `/logcall` also opens
its modal and reads the link after the ack, as in production. Slack's Web API is a
minimal stand-in in a process of its own.

The load generator is wrk (benchmarks/wrk.py: pre-signed requests in a Lua script), which
costs the machine much less than the servers it loads. Without wrk (or with --no-wrk), an
aiohttp generator in this process is used and the report says why; it takes CPU from the
servers. Everything shares this machine's cores: read the ratios more than the figures.

    python benchmarks/bench_ack.py                      # concurrency 10 and 50, 3 rounds
    python benchmarks/bench_ack.py --concurrency 50 --duration 10 --rounds 3
    python benchmarks/bench_ack.py --requests 500 --concurrency 10 --rounds 1 --no-wrk
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: find bot/, storage/, tests/
    sys.path.insert(0, str(ROOT))

from benchmarks.wrk import run_wrk, write_script, wrk_missing  # noqa: E402
from tests.helpers.fake_slack import BOT_TOKEN  # noqa: E402
from tests.helpers.slack_signing import (  # noqa: E402
    FORM,
    SIGNING_SECRET,
    command_body,
    signed_headers,
)

BARE = "bare"


def app_name(workers: int) -> str:
    return "switchboard" if workers == 1 else f"switchboard-{workers}w"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_AUTH_TEST = {
    "ok": True,
    "url": "https://acme.slack.com/",
    "team": "Acme",
    "user": "switchboard",
    "team_id": "T1",
    "user_id": "UBOT",
    "bot_id": "B1",
}


async def _answer_slack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A stand-in for Slack's Web API: canned answers, kept-alive connections, no parsing
    beyond what HTTP needs. Real Slack costs this machine nothing; the test fake (a thread
    per request, every body parsed) would take CPU from the server being measured."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if length:
                await reader.readexactly(length)
            if path.endswith("/auth.test"):
                answer = _AUTH_TEST
            elif path.endswith(("/views.open", "/views.update")):
                answer = {"ok": True, "view": {"id": "VBENCH"}}
            else:
                answer = {"ok": True}
            body = json.dumps(answer).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _run_slack_stand_in(queue: Any, stop: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_answer_slack, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        queue.put(f"http://127.0.0.1:{port}/api/")
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        server.close()

    asyncio.run(main())


def _bare_app(slack_api_url: str) -> Any:
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack_api_url),
        process_before_response=False,
    )

    @bolt.command("/logcall")
    async def only_ack(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


def _prepare_database(database_url: str) -> None:
    from bot.core import links
    from storage import migrate
    from storage.engine import make_engine, session_scope

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        links.connect(
            session,
            team_id="T1",
            slack_channel_id="C1",
            front_channel_id="cha_bench",
            user_id="U1",
        )
    engine.dispose()


def _serve_bare(port: int, slack_api_url: str) -> None:
    import logging

    import uvicorn

    logging.basicConfig(level=logging.WARNING)
    app = _bare_app(slack_api_url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _start_switchboard(
    workers: int, port: int, slack_api_url: str, database_url: str, tmp: str
) -> subprocess.Popen[bytes]:
    """`switchboard serve` as an operator runs it (no scheduler: acks only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FRONT_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        "PYTHONPATH": str(ROOT),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_api_url,
        "DATABASE_URL": database_url,
    }
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--no-scheduler"]
    command += ["--log-level", "warning"]
    return subprocess.Popen(command, cwd=tmp, env=env, stdout=subprocess.DEVNULL)


def _alive(proc: Any) -> bool:
    return bool(proc.is_alive()) if hasattr(proc, "is_alive") else proc.poll() is None


def _wait_listening(port: int, proc: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(proc):
            raise RuntimeError(f"server on port {port} died")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


@dataclass
class Result:
    app: str
    concurrency: int
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int
    generator: str = "aiohttp"


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _load(url: str, bodies: list[str], concurrency: int) -> tuple[list[float], int, float]:
    import aiohttp

    # Signatures are computed before timing starts (they hold a timestamp: 5 min validity).
    requests = [(body, signed_headers(body, content_type=FORM)) for body in bodies]
    latencies: list[float] = []
    errors = 0
    next_index = 0
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal next_index, errors
            while next_index < len(requests):
                body, headers = requests[next_index]
                next_index += 1
                started = time.perf_counter()
                async with session.post(url, data=body.encode(), headers=headers) as resp:
                    await resp.read()
                    ok = resp.status == 200
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

        wall = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - wall
    return latencies, errors, wall


def _bodies(count: int, tag: str) -> list[str]:
    return [
        command_body("/logcall", "+33 6 12 34 56 78 out", trigger_id=f"{tag}-{n}")
        for n in range(count)
    ]


def measure_wrk(
    url: str, app: str, concurrency: int, seconds: float, warmup: float, tmp: str
) -> Result:
    script = Path(tmp) / f"bench-{app}-{concurrency}.lua"
    write_script(script, _bodies(2000, f"{app}-{concurrency}"))
    if warmup > 0:
        run_wrk(url, script, connections=concurrency, seconds=warmup)
    got = run_wrk(url, script, connections=concurrency, seconds=seconds)
    return Result(
        app=app,
        concurrency=concurrency,
        requests=got.requests,
        p50_ms=got.p50_ms,
        p99_ms=got.p99_ms,
        rps=got.requests / got.seconds,
        errors=got.errors,
        generator="wrk",
    )


def measure(url: str, app: str, concurrency: int, requests: int, warmup: int) -> Result:
    asyncio.run(_load(url, _bodies(warmup, f"warm-{app}-{concurrency}"), concurrency))
    latencies, errors, wall = asyncio.run(
        _load(url, _bodies(requests, f"{app}-{concurrency}"), concurrency)
    )
    latencies.sort()
    return Result(
        app=app,
        concurrency=concurrency,
        requests=requests,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        rps=requests / wall,
        errors=errors,
    )


def run(
    concurrencies: list[int],
    requests: int,
    warmup: int,
    settle: float,
    rounds: int = 1,
    *,
    workers: tuple[int, ...] = (1, 2),
    seconds: float = 10.0,
    use_wrk: bool = True,
) -> list[Result]:
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    queue = ctx.Queue()
    fake = ctx.Process(target=_run_slack_stand_in, args=(queue, stop), daemon=True)
    fake.start()
    slack_api_url = queue.get(timeout=30)
    servers: dict[str, tuple[Any, int]] = {}
    results: list[Result] = []
    why_not = wrk_missing() if use_wrk else "--no-wrk"
    if why_not:
        print(f"load generator: aiohttp in this process ({why_not})")
    apps = [BARE, *(app_name(n) for n in workers)]
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/bench.db"
        _prepare_database(database_url)
        try:
            port = _free_port()
            bare = ctx.Process(target=_serve_bare, args=(port, slack_api_url), daemon=True)
            bare.start()
            servers[BARE] = (bare, port)
            for n in workers:
                port = _free_port()
                proc = _start_switchboard(n, port, slack_api_url, database_url, tmp)
                servers[app_name(n)] = (proc, port)
            for proc, port in servers.values():
                _wait_listening(port, proc)
            if max(workers) > 1:
                time.sleep(3)  # every HTTP process up, not only the first
            # Rounds alternate the apps, so a burst of load from elsewhere on the machine
            # hits all alike; the report takes the median of the rounds.
            for _round in range(rounds):
                for concurrency in concurrencies:
                    for app in apps:
                        url = f"http://127.0.0.1:{servers[app][1]}/slack/events"
                        if why_not:
                            results.append(measure(url, app, concurrency, requests, warmup))
                        else:
                            warm = min(2.0, seconds / 5) if warmup else 0.0
                            results.append(measure_wrk(url, app, concurrency, seconds, warm, tmp))
                        time.sleep(settle)  # let the work after each ack finish first
        finally:
            for proc, _port in servers.values():
                proc.terminate()
                if hasattr(proc, "join"):
                    proc.join(timeout=10)
                else:
                    proc.wait(timeout=30)
            stop.set()
            fake.join(timeout=10)
    return results


def median_results(results: list[Result]) -> list[Result]:
    """One result per (app, concurrency): the median of its rounds, figure by figure."""
    groups: dict[tuple[str, int], list[Result]] = {}
    for r in results:
        groups.setdefault((r.app, r.concurrency), []).append(r)
    return [
        Result(
            app=app,
            concurrency=concurrency,
            requests=sum(r.requests for r in rs),
            p50_ms=statistics.median(r.p50_ms for r in rs),
            p99_ms=statistics.median(r.p99_ms for r in rs),
            rps=statistics.median(r.rps for r in rs),
            errors=sum(r.errors for r in rs),
            generator=rs[0].generator,
        )
        for (app, concurrency), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def report(results: list[Result]) -> str:
    results = median_results(results)
    lines = [
        f"{'app':<15} {'conc':>4} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>8} {'errors':>6}"
    ]
    for r in results:
        lines.append(
            f"{r.app:<15} {r.concurrency:>4} {r.requests:>8} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{r.rps:>8.0f} {r.errors:>6}"
        )
    lines.append("")
    by = {(r.app, r.concurrency): r for r in results}
    for concurrency in sorted({r.concurrency for r in results}):
        bare = by[(BARE, concurrency)]
        for app in sorted({r.app for r in results} - {BARE}, key=len):
            ours = by[(app, concurrency)]
            lines.append(
                f"concurrency {concurrency}: {app}/bare p50 {ours.p50_ms / bare.p50_ms:.2f}x, "
                f"p99 {ours.p99_ms / bare.p99_ms:.2f}x, req/s {ours.rps / bare.rps:.2f}x"
            )
    lines.append(f"load generator: {results[0].generator if results else '?'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable; 10 and 50")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per run")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between runs")
    parser.add_argument("--rounds", type=int, default=3, help="medians over this many rounds")
    parser.add_argument(
        "--workers", type=int, action="append", help="switchboard HTTP processes; 1 and 2"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp generator")
    args = parser.parse_args(argv)
    results = run(
        args.concurrency or [10, 50],
        args.requests,
        args.warmup,
        args.settle,
        args.rounds,
        workers=tuple(args.workers or [1, 2]),
        seconds=args.duration,
        use_wrk=not args.no_wrk,
    )
    print(report(results))
    return results


if __name__ == "__main__":
    main()
