"""Requests per second of FrontClient against the Front simulator, beside bare httpx.

    python benchmarks/bench_client.py --requests 2000 --concurrency 1,32

The simulator runs in its own process (`python -m bot.frontsim --port 0`), so server
work does not share this event loop. Each round sends the same workload three ways:

- `FrontClient`: `sync_inbound_message` with a dict body, i.e. pydantic validation,
  dump, a fresh HS256 JWT, httpx, error mapping and result parsing.
- `bare+jwt`: an `httpx.AsyncClient` posting the same JSON with a fresh JWT made the
  same way (PyJWT, same claims) on every request: the fair comparison, since Front
  requires a new token per request.
- `bare+hdr`: the same with one precomputed Authorization header (the simulator is told
  to allow the replayed jti): the floor, to show what the JWT itself costs.

Every request carries a new `metadata.external_id`, so the simulator never answers from
its duplicate cache. The simulator is reset between runs so its memory stays small.
The ratio column is each variant's rate over `bare+jwt` at the same concurrency.

The simulator (pure-Python HTTP parsing, schema validation, JWT check) is usually the
bottleneck, and a shared machine makes wall-clock rates noisy; so the table also gives
the CPU time this process spent per request (`cpu us/req`), which measures the client's
own cost whatever the server's speed, and the min-max spread of the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.front import FrontClient, JwtAuth  # noqa: E402

APP_UID = "app_bench"
APP_SECRET = "bench-app-secret-0123456789abcdef0123456789"
CHANNEL = "cha_bench"
PATH = f"/channels/{CHANNEL}/inbound_messages"

Send = Callable[[int], Awaitable[None]]


def body(i: int) -> dict[str, Any]:
    return {
        "sender": {"handle": "+33123456789", "name": "Ada"},
        "subject": "Invoice",
        "body": "Where is my invoice? Order 1234, thanks.",
        "metadata": {"external_id": f"bench-{i}", "external_conversation_id": "conv-bench"},
        "delivered_at": 1_700_000_000,
    }


def fresh_jwt(ttl: float = 10) -> str:
    now = time.time()
    claims = {
        "iss": APP_UID,
        "sub": CHANNEL,
        "jti": secrets.token_urlsafe(16),
        "iat": int(now),
        "exp": int(now + ttl),
    }
    return jwt.encode(claims, APP_SECRET, algorithm="HS256")


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "FRONT_APP_UID": APP_UID, "FRONT_APP_SECRET": APP_SECRET}
    env.pop("FRONT_API_TOKEN", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.frontsim",
            "--port",
            "0",
            "--log-level",
            "warning",
            # Front's limits (on by default) would measure the limiter, not the client;
            # bench_flush sets its own limit through /_sim/config.
            "--rate-per-minute",
            "0",
            "--resource-rate-per-second",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("frontsim listening on "):
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    url = line.split()[-1]
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{url}/_sim/stats", timeout=1).raise_for_status()
            return proc, url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


async def drive(send: Send, requests: int, concurrency: int, offset: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to send `requests` through
    `concurrency` workers; every answer is checked."""
    counter = iter(range(offset, offset + requests))

    async def worker() -> None:
        for i in counter:
            await send(i)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, time.process_time() - cpu


Figures = dict[tuple[int, str], list[tuple[float, float]]]


def make_variants(front: FrontClient, bare: httpx.AsyncClient) -> list[tuple[str, Send]]:
    # Long-lived so one header lasts the whole benchmark.
    fixed = {"Authorization": f"Bearer {fresh_jwt(ttl=3600)}"}

    async def via_client(i: int) -> None:
        result = await front.sync_inbound_message(CHANNEL, body(i))
        assert result.message_uid

    async def via_bare_jwt(i: int) -> None:
        r = await bare.post(PATH, json=body(i), headers={"Authorization": f"Bearer {fresh_jwt()}"})
        if r.status_code != 202:
            raise RuntimeError(f"{r.status_code}: {r.text}")
        assert r.json()["message_uid"]

    async def via_bare_header(i: int) -> None:
        r = await bare.post(PATH, json=body(i), headers=fixed)
        if r.status_code != 202:
            raise RuntimeError(f"{r.status_code}: {r.text}")
        assert r.json()["message_uid"]

    return [("FrontClient", via_client), ("bare+jwt", via_bare_jwt), ("bare+hdr", via_bare_header)]


async def run(args: argparse.Namespace, url: str) -> Figures:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    front = FrontClient(url, JwtAuth(APP_UID, APP_SECRET), timeout=30.0, max_connections=64)
    bare = httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits)
    control = httpx.AsyncClient(base_url=url, timeout=30.0)
    variants = make_variants(front, bare)
    figures: Figures = {}
    offset = 0
    try:
        for concurrency in args.concurrency:
            for round_ in range(args.rounds):
                # Alternate the order each round so neither side always runs warmer.
                for name, send in variants if round_ % 2 == 0 else variants[::-1]:
                    await control.post("/_sim/reset")
                    if name == "bare+hdr":
                        await control.post("/_sim/config", json={"reject_reused_jti": False})
                    await drive(send, args.warmup, concurrency, offset)
                    offset += args.warmup
                    seconds, cpu = await drive(send, args.requests, concurrency, offset)
                    offset += args.requests
                    figures.setdefault((concurrency, name), []).append(
                        (args.requests / seconds, cpu / args.requests * 1e6)
                    )
    finally:
        await front.aclose()
        await bare.aclose()
        await control.aclose()
    return figures


async def run_offline(args: argparse.Namespace) -> dict[str, float]:
    """CPU microseconds per request with no network at all (httpx.MockTransport answering
    a canned 202): the client's own cost, isolated from the server and, being CPU time,
    from the machine's other load as far as possible."""
    answer = b'{"status":"accepted","message_uid":"u1"}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, content=answer, headers={"content-type": "application/json"})

    front = FrontClient(
        "http://front.test", JwtAuth(APP_UID, APP_SECRET), transport=httpx.MockTransport(handler)
    )
    bare = httpx.AsyncClient(base_url="http://front.test", transport=httpx.MockTransport(handler))
    timings: dict[str, list[float]] = {}
    for round_ in range(args.rounds):
        variants = make_variants(front, bare)
        for name, send in variants if round_ % 2 == 0 else variants[::-1]:
            await drive(send, args.warmup, 1, 0)
            _, cpu = await drive(send, args.requests, 1, 0)
            timings.setdefault(name, []).append(cpu / args.requests * 1e6)
    await front.aclose()
    await bare.aclose()
    return {name: statistics.median(t) for name, t in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per run (default 2000)")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured, before each run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per variant; median kept")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 32],
        help="comma-separated (default 1,32)",
    )
    args = parser.parse_args()

    offline = asyncio.run(run_offline(args))
    proc, url = start_simulator()
    try:
        results = asyncio.run(run(args, url))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

    print(
        f"sync_inbound_message, {args.requests} requests per run, median of {args.rounds} runs, "
        f"simulator in a separate process on loopback (python {sys.version.split()[0]})"
    )
    print(
        f"{'concurrency':>11}  {'variant':<12} {'req/s':>7} {'(min-max)':>11}  "
        f"{'vs bare+jwt':>11}  {'cpu us/req':>10}  {'vs bare+jwt':>11}"
    )
    for concurrency in args.concurrency:
        rows = {name: runs for (c, name), runs in results.items() if c == concurrency}
        base_rate = statistics.median(r for r, _ in rows["bare+jwt"])
        base_cpu = statistics.median(u for _, u in rows["bare+jwt"])
        for name, runs in rows.items():
            rates = [r for r, _ in runs]
            rate, cpu = statistics.median(rates), statistics.median(u for _, u in runs)
            spread = f"{min(rates):.0f}-{max(rates):.0f}"
            print(
                f"{concurrency:>11}  {name:<12} {rate:>7.0f} {spread:>11}  "
                f"{rate / base_rate:>11.2f}  {cpu:>10.0f}  {cpu / base_cpu:>11.2f}"
            )

    print()
    print("no network (httpx.MockTransport, concurrency 1): client CPU per request")
    print(f"{'variant':<12} {'cpu us/req':>10}  {'vs bare+jwt':>11}")
    for name, micros in offline.items():
        print(f"{name:<12} {micros:>10.0f}  {micros / offline['bare+jwt']:>11.2f}")


if __name__ == "__main__":
    main()
