"""Three flusher processes share one Front company's rate limit while Front fails 30% of
requests: pacing through the database keeps 429s under 1% of requests after warm-up.

Front as Front is: a company limit (`SWITCHBOARD_PACING_RATE` requests a minute, default
200, with a burst of `SWITCHBOARD_PACING_BURST`, default 20) and 5 requests a second per
channel. Marked `benchmark` (processes run for a while; the figures are printed, and the
429s asserted). `SWITCHBOARD_PACING_ROWS` (default 80: about 30 s a database) and
`SWITCHBOARD_PACING_WARMUP` (seconds left out, default 5) scale it; the README's figures
come from 600 rows and a minute of warm-up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.frontsim import SimConfig
from bot.runtime import Runtime
from tests.delivery.conftest import APP_SECRET, APP_UID, CHANNEL, Sim, add_messages
from tests.delivery.processes import process_env, start_flusher
from tests.delivery.test_processes import wait_until
from tests.helpers.fake_slack import FakeSlack

ROWS = int(os.environ.get("SWITCHBOARD_PACING_ROWS", "80"))
RATE = int(os.environ.get("SWITCHBOARD_PACING_RATE", "200"))
BURST = int(os.environ.get("SWITCHBOARD_PACING_BURST", "20"))
LATENCY = float(os.environ.get("SWITCHBOARD_PACING_LATENCY_MS", "0"))
PROCESSES = 3
# The first answers teach the flushers the limit.
WARM_UP_SECONDS = float(os.environ.get("SWITCHBOARD_PACING_WARMUP", "5"))


@pytest.mark.benchmark
def test_three_processes_share_a_rate_limit_under_server_errors(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    sim.state.reset(
        SimConfig(
            app_uid=APP_UID,
            app_secret=APP_SECRET,
            channel_companies={CHANNEL: "acme"},
            companies={
                "acme": {
                    "rate_limit_per_minute": RATE,
                    "rate_limit_burst": BURST,
                    "error_rate": 0.3,
                }
            },
            seed=11,
            resource_rate_per_second=5,
            latency_ms=LATENCY,
        )
    )
    for lane in range(ROWS // 4):
        add_messages(runtime, f"conv-{lane}", 4)
    env = process_env(
        runtime.settings.database_url,
        sim.url,
        fake_slack.api_url,
        outbox_backoff_seconds=0.2,
        flush_concurrency=8,
    )
    go = tmp_path / "go"
    procs = [start_flusher(env, tmp_path, go) for _ in range(PROCESSES)]

    def ready() -> bool:
        for p in procs:
            assert p.poll() is None, p.communicate()[1].decode()
        return all((tmp_path / f"ready-{p.pid}").exists() for p in procs)

    wait_until(ready, timeout=60)
    go.touch()
    counts = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err.decode()
        counts.append(json.loads(out.decode().strip().splitlines()[-1]))

    answers = sim.state.answers("acme")
    start = answers[0]["at"]
    late = [a for a in answers if a["at"] >= start + WARM_UP_SECONDS]
    limited = sum(1 for a in late if a["status"] == 429)
    errors = sum(1 for a in late if a["status"] >= 500)
    accepted = [a["at"] for a in late if a["status"] < 300]
    span = late[-1]["at"] - late[0]["at"] if len(late) > 1 else 0.0
    rate = len(late) / span * 60 if span else 0.0
    print(
        f"\n{PROCESSES} processes, {ROWS} rows, limit {RATE}/min (burst {BURST}), 30% 5xx: "
        f"{len(answers)} requests, {sum(a['status'] == 429 for a in answers)} 429s in all; "
        f"after {WARM_UP_SECONDS:.0f} s: {len(late)} requests, {limited} 429s "
        f"({100 * limited / max(1, len(late)):.2f}%), {errors} 5xx, {len(accepted)} accepted, "
        f"{rate:.0f} requests/min ({rate / RATE:.2f} of the limit); per process {counts}"
    )
    assert sum(c["delivered"] for c in counts) == ROWS // 4 * 4
    assert limited < 0.01 * len(late), f"{limited} of {len(late)} requests met a 429"
