"""The soak benchmark still runs end to end (tiny size; RSS figures not asserted): every
kind of request was sent and answered 200, and everything it queued was delivered."""

from __future__ import annotations

import pytest

from benchmarks.bench_soak import KINDS, main


@pytest.mark.benchmark
def test_bench_soak_runs_every_kind_and_reports_rss(capsys: pytest.CaptureFixture[str]) -> None:
    result = main(
        ["--requests", "180", "--every", "60", "--concurrency", "2", "--idle", "1"]
        + ["--drain", "120"]
    )
    assert sum(result.kinds.values()) == 180 and result.errors == 0
    assert set(result.kinds) == set(KINDS), result.kinds
    assert [n for n, _ in result.samples] == [60, 120, 180]
    assert all(0 < mb < 2000 for _, mb in result.samples) and result.idle_mb > 0
    assert result.delivered > 0 and result.front_open == 0 and result.slack_open == 0
    out = capsys.readouterr().out
    assert "idle RSS" in out and "growth" in out
