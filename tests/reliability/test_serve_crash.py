"""`switchboard serve` itself SIGKILLed again and again while submissions arrive, with
Slack and Front each failing 20% of requests (500s): every submission Slack saw
acknowledged reaches Front and gets its card in Slack; what reaches either twice stays
within what the kills cut short (one duplicate per kill, per side, at most).

`SWITCHBOARD_CRASH_KILLS` sets the number of kills (default 3; 20 for the full run,
whose figures are in the README's Delivery section)."""

from __future__ import annotations

import itertools
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.core import links
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import OutboxRow, SlackPost, utcnow
from tests.delivery.conftest import CHANNEL
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import wait_for
from tests.reliability.conftest import Sim
from tests.reliability.serving import Serve, serve_env, submit, tally

KILLS = int(os.environ.get("SWITCHBOARD_CRASH_KILLS", "3"))
SEED = int(os.environ.get("SWITCHBOARD_CRASH_SEED", "11"))


class Submitter:
    """Submissions, one after another from a few threads, until stopped; remembers which
    were acknowledged (a refused connection or a cut answer is not)."""

    def __init__(self, base_url: str, threads: int = 2) -> None:
        self.base_url = base_url
        self.acked: set[str] = set()
        self.sent = 0
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Submitter:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                n = next(self._numbers)
                self.sent += 1
            if submit(self.base_url, n, timeout=5):
                with self._lock:
                    self.acked.add(f"Caller {n}")
            else:
                time.sleep(0.05)  # the server is down: try again shortly


def make_due(runtime: Runtime) -> None:
    """The clock moved on: what backs off after an injected failure is due now."""
    with session_scope(runtime.engine) as s:
        for table in (OutboxRow, SlackPost):
            s.execute(
                update(table)
                .where(col(table.status) == "pending")  # type: ignore[attr-defined]
                .values(next_attempt_at=utcnow())
            )


@pytest.mark.crash
def test_serve_killed_again_and_again_loses_no_acknowledged_submission(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    with session_scope(runtime.engine) as s:
        links.connect(
            s, team_id="T1", slack_channel_id="C1", front_channel_id=CHANNEL, user_id="U1"
        )
    fake_slack.add_user("U1", name="Ada Admin", email="ada@acme.example")
    fake_slack.set_error_rate(0.2, seed=rng.randrange(1000))
    sim.state.configure(error_rate=0.2, seed=rng.randrange(1000))
    # One Front request and one Slack post in flight at a time, short leases and retries:
    # a kill cuts at most one answer short on each side, and what it held goes again soon
    # after the restart.
    env = serve_env(
        runtime,
        sim.url,
        fake_slack,
        flush_concurrency=1,
        outbox_lease_seconds=2,
        outbox_backoff_seconds=0.05,
        outbox_max_attempts=10_000,
    )
    serve = Serve(runtime, env, tmp_path)
    kills = 0
    started = time.monotonic()
    with Submitter(serve.base_url) as submitter:
        while kills < KILLS:
            serve.start()
            time.sleep(rng.uniform(0.2, 1.0))  # taking submissions, delivering, posting
            serve.signal(signal.SIGKILL)
            kills += 1
        sent = submitter.sent
    killing = time.monotonic() - started
    acked = set(submitter.acked)
    assert acked, "no submission was acknowledged"

    serve.start()
    try:

        def all_through() -> bool:
            make_due(runtime)  # with 20% failures, a few back off for long
            t = tally(serve, sim.state.requests(), fake_slack)
            return set(t.front) >= t.stored and set(t.cards) >= t.stored

        wait_for(all_through, serve.proc, timeout=180, what="every stored call delivered")
    finally:
        serve.signal(signal.SIGTERM)
    t = tally(serve, sim.state.requests(), fake_slack)
    print(
        f"\nkills={kills} sent={sent} acked={len(acked)} stored={len(t.stored)} "
        f"front={len(t.front)} cards={len(t.cards)} front_duplicates={t.front_duplicates} "
        f"card_duplicates={t.card_duplicates} slack_500s="
        f"{sum(1 for c in fake_slack.calls if c.status == 500)} "
        f"front_5xx={sim.state.stats()['server_errors']} "
        f"took={killing:.0f}s+{time.monotonic() - started - killing:.0f}s"
    )
    assert acked <= t.stored, f"acked but not stored: {sorted(acked - t.stored)[:5]}"
    assert t.stored <= set(t.front) and t.stored <= set(t.cards)
    assert t.front_duplicates <= kills, t.front_duplicates
    assert t.card_duplicates <= kills, t.card_duplicates
    assert sim.state.stats()["server_errors"] > 0
    assert any(c.status == 500 for c in fake_slack.calls)
