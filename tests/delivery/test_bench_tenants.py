"""The many-workspaces benchmark still runs end to end (tiny size; figures not asserted):
a calm run and a run with a flooding, a failing and a refused workspace, after which
every row of the other workspaces was delivered."""

from __future__ import annotations

import math

import pytest

from benchmarks.bench_tenants import RunFigures, main
from tests.helpers.databases import PG_SKIP_REASON, postgres_admin_url

TINY = ["--workspaces", "5", "--flood", "40", "--seconds", "8", "--per-minute", "30"]
TINY += ["--warmup", "3", "--drain", "120", "--flush-interval", "0.5"]


def check(results: list[RunFigures], db: str, out: str) -> None:
    assert [(r.db, r.run) for r in results] == [(db, "calm"), (db, "faults")]
    for r in results:
        assert r.others_rows > 0 and r.undelivered == 0, r
        assert len(r.delays) == r.others_rows and all(d >= 0 for d in r.delays)
        assert not math.isnan(r.p99)
    faults = results[1]
    # A's window (after --warmup) may be empty at this size: only its report line is checked.
    assert faults.a_limit and "503s" in faults.notes and "401s" in faults.notes
    assert f"{db:<9} faults" in out and f"{db}: A:" in out and "p99 x" in out


@pytest.mark.benchmark
def test_bench_tenants_on_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    results = main([*TINY, "--dbs", "sqlite"])
    check(results, "sqlite", capsys.readouterr().out)


@pytest.mark.benchmark
@pytest.mark.postgres
def test_bench_tenants_on_postgres_with_two_workers(capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres_admin_url()
    if url is None:
        pytest.skip(PG_SKIP_REASON)
    results = main([*TINY, "--dbs", "postgres", "--pg", url])
    check(results, "postgres", capsys.readouterr().out)
