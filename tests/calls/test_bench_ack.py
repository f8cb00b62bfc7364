"""The ack benchmark still runs end to end (tiny size; figures are not asserted)."""

from __future__ import annotations

import pytest

from benchmarks.bench_ack import main
from benchmarks.wrk import wrk_missing

TINY = ["--concurrency", "5", "--rounds", "1", "--settle", "0", "--duration", "1"]
APPS = ["bare", "switchboard", "switchboard-2w"]


@pytest.mark.benchmark
def test_bench_ack_runs_every_app_with_the_aiohttp_generator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = main([*TINY, "--requests", "40", "--warmup", "5", "--no-wrk"])
    assert sorted(r.app for r in results) == APPS
    assert all(r.errors == 0 and r.requests == 40 for r in results)
    out = capsys.readouterr().out
    assert "concurrency 5: switchboard/bare p50" in out
    assert "concurrency 5: switchboard-2w/bare p50" in out
    assert "load generator: aiohttp in this process (--no-wrk)" in out


@pytest.mark.benchmark
def test_bench_ack_with_wrk(capsys: pytest.CaptureFixture[str]) -> None:
    why = wrk_missing()
    if why:
        print(why)
        pytest.skip(why)
    results = main([*TINY, "--warmup", "0", "--workers", "2"])
    assert sorted(r.app for r in results) == ["bare", "switchboard-2w"]
    assert all(r.errors == 0 and r.requests > 0 and r.generator == "wrk" for r in results)
    assert "load generator: wrk" in capsys.readouterr().out
