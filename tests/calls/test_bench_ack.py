"""The ack benchmark still runs end to end (tiny size; figures are not asserted)."""

from __future__ import annotations

import pytest

from benchmarks.bench_ack import main


@pytest.mark.benchmark
def test_bench_ack_runs_both_apps(capsys: pytest.CaptureFixture[str]) -> None:
    results = main(
        [
            "--requests",
            "40",
            "--warmup",
            "5",
            "--concurrency",
            "5",
            "--rounds",
            "1",
            "--settle",
            "0",
        ]
    )
    assert sorted(r.app for r in results) == ["bare", "switchboard"]
    assert all(r.errors == 0 and r.requests == 40 for r in results)
    assert "concurrency 5: switchboard/bare p50" in capsys.readouterr().out
