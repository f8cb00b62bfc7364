"""Soak: does `switchboard serve` keep its memory over many Slack requests?

    python benchmarks/bench_soak.py                          # 20,000 requests, SQLite
    python benchmarks/bench_soak.py --requests 300 --every 100 --idle 2

`switchboard serve` runs as a real process (scheduler on: it delivers to Front and posts
to Slack itself) on a SQLite file with one linked channel, against the Front simulator
(its own process) and the fake Slack Web API (a thread of this process), both on
loopback. `--concurrency` threads send signed requests in cycles of six, as people do:
`/logcall` (opens the modal), the log-call modal submitted, `/logmsg` (opens the
modal), that modal submitted, the "Log to Front" message shortcut (opens the modal), and
a status button clicked on a call card posted earlier. Every `--every` requests the
server's RSS is printed (psutil if installed, else /proc/<pid>/status VmRSS); at the end,
once every delivery and Slack post is done and `--idle` seconds passed, the idle RSS.
Goals (printed, not checked): no growth beyond 10% after the warm-up (the first
`--every` requests), idle RSS ≤ 120 MB.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: find bot/, storage/, tests/
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_common import (  # noqa: E402
    Processes,
    process_env,
    rss_mb,
    scratch_database,
    simulator,
    workdir,
)
from bot.core import links  # noqa: E402
from bot.features.messages.ids import MessageIds  # noqa: E402
from storage.engine import make_engine, session_scope  # noqa: E402
from storage.models import OutboxRow, SlackPost, utcnow  # noqa: E402
from tests.calls.payloads import buttons, click  # noqa: E402
from tests.helpers.fake_slack import FakeSlack, running_fake_slack  # noqa: E402
from tests.helpers.slack_signing import (  # noqa: E402
    FORM,
    command_body,
    interactivity_body,
    signed_headers,
)
from tests.messages.payloads import message_action  # noqa: E402
from tests.reliability.flows import card_call_id, message_payload, submit_call  # noqa: E402

KINDS = ("logcall", "call_submit", "logmsg", "msg_submit", "shortcut", "click")


class SlackSide:
    """The fake Slack's answers for modals and cards, remembered so that a later request
    can submit the modal a command opened, or click a card's button."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.lock = threading.Lock()
        self.views: dict[str, dict[str, Any]] = {}  # by trigger id
        self.cards: deque[dict[str, Any]] = deque(maxlen=500)
        self.ts = itertools.count(1)
        fake.respond("views.open", self._views_open)
        fake.respond("chat.postMessage", self._post)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self.ts):06d}"

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view") or {}
        view_id = f"V{self._next_ts().replace('.', '')}"
        if view.get("callback_id") == MessageIds.form_view:
            with self.lock:
                self.views[str(args.get("trigger_id"))] = view
        return {"ok": True, "view": {"id": view_id, "hash": "h", **view}}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        if card_call_id(args) is not None:
            card = {"ts": ts, "blocks": args.get("blocks"), "text": args.get("text")}
            with self.lock:
                self.cards.append({"channel": args.get("channel"), "card": card})
        return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"ts": ts}}

    def take_view(self, trigger_id: str, timeout: float = 30.0) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                view = self.views.pop(trigger_id, None)
            if view is not None:
                return view
            time.sleep(0.02)
        return None

    def take_card(self) -> dict[str, Any] | None:
        with self.lock:
            return self.cards.popleft() if self.cards else None


@dataclass
class Driver:
    base_url: str
    slack: SlackSide
    total: int
    sent: int = 0
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self) -> int | None:
        with self.lock:
            if self.sent >= self.total:
                return None
            self.sent += 1
            return self.sent

    def _post(self, client: httpx.Client, body: str, kind: str) -> None:
        resp = client.post(
            f"{self.base_url}/slack/events",
            content=body,
            headers=signed_headers(body, content_type=FORM),
        )
        with self.lock:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if resp.status_code != 200:
                self.errors += 1

    def run(self, worker: int) -> None:
        pending_msg: str | None = None
        with httpx.Client(timeout=60) as client:
            for step in itertools.count():
                n = self._next()
                if n is None:
                    return
                kind = KINDS[step % len(KINDS)]
                trigger = f"trig-soak-{worker}-{n}"
                if kind == "logcall":
                    body = command_body("/logcall", "", trigger_id=trigger)
                elif kind == "call_submit":
                    payload = submit_call(name=f"Caller {n}", view_id=f"VSOAK{worker}x{n}")
                    body = interactivity_body(payload)
                elif kind == "logmsg":
                    body = command_body("/logmsg", "", trigger_id=trigger)
                    pending_msg = trigger
                elif kind == "msg_submit":
                    view = self.slack.take_view(pending_msg) if pending_msg else None
                    if view is None:
                        kind, body = "logcall", command_body("/logcall", "", trigger_id=trigger)
                    else:
                        view = {**view, "id": f"VMSG{worker}x{n}"}
                        values = {"name": f"Customer {n}", "body": f"Hello {n}"}
                        body = interactivity_body(message_payload(view, **values))
                elif kind == "shortcut":
                    message = {"ts": f"{1_700_000_000 + n}.000100", "text": "hi", "user": "U2"}
                    payload = message_action(message)
                    payload["trigger_id"] = trigger
                    body = interactivity_body(payload)
                else:
                    body, kind = self._click(n, trigger)
                self._post(client, body, kind)

    def _click(self, n: int, trigger: str) -> tuple[str, str]:
        taken = self.slack.take_card()
        blocks = taken["card"]["blocks"] if taken else None
        actions = [a for a in buttons(blocks or []) if a.startswith("call_status:")]
        if taken is None or not actions:
            return command_body("/logcall", "", trigger_id=trigger), "logcall"
        payload = click(taken["card"], actions[0], channel_id=str(taken["channel"]))
        return interactivity_body(payload), "click"


def counts(url: str) -> tuple[int, int, int]:
    """(Front rows delivered, Front rows still open, Slack posts due and still open: each
    call's reminder is due four hours on, so it does not count)."""
    engine = make_engine(url)
    with session_scope(engine, readonly=True) as session:
        delivered = session.exec(
            select(func.count()).select_from(OutboxRow).where(col(OutboxRow.status) == "delivered")
        ).one()
        front_open = session.exec(
            select(func.count())
            .select_from(OutboxRow)
            .where(col(OutboxRow.status).in_(("pending", "sending")))
        ).one()
        slack_open = session.exec(
            select(func.count())
            .select_from(SlackPost)
            .where(col(SlackPost.status).in_(("pending", "sending")))
            .where(col(SlackPost.next_attempt_at) <= utcnow())
        ).one()
    engine.dispose()
    return int(delivered), int(front_open), int(slack_open)


class Tracer:
    """`--trace`: serve runs under tracemalloc (benchmarks/soak_trace.py); a snapshot is
    taken with each RSS figure, and the end is compared with the first (after warm-up)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.taken = 0

    def snapshot(self, pid: int) -> None:
        self.taken += 1
        os.kill(pid, signal.SIGUSR1)
        done = self.tmp / f"snapshot-{self.taken}.pickle.done"
        deadline = time.monotonic() + 120
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def growth(self, top: int) -> str:
        first = tracemalloc.Snapshot.load(str(self.tmp / "snapshot-1.pickle"))
        last = tracemalloc.Snapshot.load(str(self.tmp / f"snapshot-{self.taken}.pickle"))
        lines = [f"tracemalloc: growth from the first snapshot to the last, top {top}"]
        for stat in last.compare_to(first, "traceback")[:top]:
            lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+7d} blocks")
            lines.extend(f"      {line}" for line in stat.traceback.format()[-8:])
        return "\n".join(lines)


@dataclass
class SoakResult:
    samples: list[tuple[int, float]]
    idle_mb: float
    errors: int
    kinds: dict[str, int]
    delivered: int
    front_open: int
    slack_open: int

    @property
    def growth(self) -> float:
        """RSS at the end over RSS after the warm-up (the first sample)."""
        return self.samples[-1][1] / self.samples[0][1] if self.samples else float("nan")


def soak(args: argparse.Namespace) -> SoakResult:
    samples: list[tuple[int, float]] = []
    with simulator() as sim_url, workdir() as tmp, running_fake_slack() as fake:
        slack = SlackSide(fake)
        with scratch_database("sqlite", None, tmp) as url:
            engine = make_engine(url)
            with session_scope(engine) as session:
                links.connect(
                    session,
                    team_id="T1",
                    slack_channel_id="C1",
                    front_channel_id="cha_soak",
                    user_id="U1",
                )
            engine.dispose()
            env = process_env(url, sim_url, fake.api_url, default_phone_region="FR")
            if args.trace:
                env["SWITCHBOARD_SOAK_TRACE"] = str(tmp)
            tracer = Tracer(tmp) if args.trace else None
            with Processes(env, tmp, trace=args.trace) as procs:
                pid = procs.serve.pid
                print(f"serve pid {pid}: RSS {rss_mb(pid):.1f} MB after start", flush=True)
                driver = Driver(procs.base_url, slack, args.requests)
                threads = [
                    threading.Thread(target=driver.run, args=(w,), daemon=True)
                    for w in range(args.concurrency)
                ]
                started = time.monotonic()
                for t in threads:
                    t.start()
                mark = args.every
                while any(t.is_alive() for t in threads):
                    procs.check_alive()
                    if driver.sent >= mark:
                        samples.append((mark, rss_mb(pid)))
                        if tracer is not None:
                            tracer.snapshot(pid)
                        rate = driver.sent / (time.monotonic() - started)
                        print(
                            f"{mark:>7} requests: RSS {samples[-1][1]:6.1f} MB "
                            f"({rate:.0f} req/s, {driver.errors} non-200)",
                            flush=True,
                        )
                        mark += args.every
                    time.sleep(0.05)
                if driver.sent >= mark:
                    samples.append((driver.sent, rss_mb(pid)))
                    print(f"{driver.sent:>7} requests: RSS {samples[-1][1]:6.1f} MB")
                deadline = time.monotonic() + args.drain
                while time.monotonic() < deadline:
                    delivered, front_open, slack_open = counts(url)
                    if not front_open and not slack_open:
                        break
                    time.sleep(1.0)
                time.sleep(args.idle)
                idle = rss_mb(pid)
                if tracer is not None:
                    tracer.snapshot(pid)
                    print(tracer.growth(args.top), flush=True)
                delivered, front_open, slack_open = counts(url)
    return SoakResult(
        samples, idle, driver.errors, dict(driver.kinds), delivered, front_open, slack_open
    )


def report(result: SoakResult) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.kinds.items()))
    first = result.samples[0] if result.samples else (0, float("nan"))
    return "\n".join(
        [
            f"requests by kind: {kinds}; non-200 answers: {result.errors}",
            f"Front rows delivered {result.delivered}, still open {result.front_open}; "
            f"Slack posts due and not done {result.slack_open}",
            f"RSS after warm-up ({first[0]} requests) {first[1]:.1f} MB, at the end "
            f"{result.samples[-1][1] if result.samples else float('nan'):.1f} MB: growth "
            f"{(result.growth - 1) * 100:+.1f}% (goal ≤ +10%)",
            f"idle RSS {result.idle_mb:.1f} MB (goal ≤ 120 MB)",
        ]
    )


def main(argv: list[str] | None = None) -> SoakResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=2_000, help="RSS printed every N")
    parser.add_argument("--concurrency", type=int, default=4, help="sending threads")
    parser.add_argument("--drain", type=float, default=300.0, help="wait for deliveries")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before RSS")
    parser.add_argument("--trace", action="store_true", help="tracemalloc in serve (slow)")
    parser.add_argument("--top", type=int, default=15, help="--trace: growths printed")
    args = parser.parse_args(argv)
    result = soak(args)
    print(report(result), flush=True)
    return result


if __name__ == "__main__":
    main()
