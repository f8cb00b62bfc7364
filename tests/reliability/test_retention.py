"""Retention: delivered and discarded rows (with their files) and Slack event ids go after
RETENTION_DAYS; failed rows stay for a person; alerts survive their rows going."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.delivery import alert_actions
from bot.delivery.alert_summary import summarize
from bot.delivery.flusher import Flusher
from bot.delivery.outbox import FileToSend
from bot.delivery.retention import prune
from bot.delivery.scheduler import PRUNE_EVERY, PRUNE_JOB_ID, DeliveryScheduler
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import (
    AlertState,
    DeliveryAlert,
    OutboxFile,
    OutboxRow,
    OutboxStatus,
    SlackEvent,
    SlackPost,
    utcnow,
)
from tests.delivery.conftest import add_messages
from tests.helpers.fake_slack import BOT_TOKEN
from tests.helpers.slack_signing import SIGNING_SECRET

NOW = utcnow()
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)
FILE = FileToSend(filename="a.txt", content_type="text/plain", data=b"hello")


def set_row(rt: Runtime, row_id: int, status: str, when: datetime, **more: object) -> None:
    with session_scope(rt.engine) as s:
        s.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id) == row_id)
            .values(
                status=status,
                updated_at=when,
                delivered_at=when if status == OutboxStatus.delivered else None,
                **more,
            )
        )


def alert(rt: Runtime, state: str, cause: str) -> int:
    with session_scope(rt.engine) as s:
        a = DeliveryAlert(team_id="T1", cause=cause, kind="failed", state=state, title="x")
        s.add(a)
        s.flush()
        assert a.id is not None
        return a.id


def remaining(rt: Runtime) -> dict[int, str]:
    with session_scope(rt.engine, readonly=True) as s:
        return {r.id: r.status for r in s.exec(select(OutboxRow)) if r.id is not None}


def count(rt: Runtime, model: type) -> int:
    with session_scope(rt.engine, readonly=True) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def rows(runtime: Runtime) -> dict[str, int]:
    """One row of each kind that matters, in lanes of their own."""
    names = [
        "delivered_old",
        "delivered_recent",
        "discarded_old",
        "discarded_recent",
        "failed_old",
        "pending_old",
        "delivered_old_open_alert",
        "delivered_old_resolved_alert",
    ]
    ids = {n: add_messages(runtime, n, 1, files=(FILE,))[0] for n in names}
    open_alert = alert(runtime, AlertState.open, "open")
    resolved = alert(runtime, AlertState.resolved, "resolved")
    set_row(runtime, ids["delivered_old"], OutboxStatus.delivered, OLD)
    set_row(runtime, ids["delivered_recent"], OutboxStatus.delivered, RECENT)
    set_row(runtime, ids["discarded_old"], OutboxStatus.discarded, OLD)
    set_row(runtime, ids["discarded_recent"], OutboxStatus.discarded, RECENT)
    set_row(runtime, ids["failed_old"], OutboxStatus.failed, OLD)
    set_row(runtime, ids["pending_old"], OutboxStatus.pending, OLD)
    set_row(
        runtime,
        ids["delivered_old_open_alert"],
        OutboxStatus.delivered,
        OLD,
        alert_id=open_alert,
    )
    set_row(
        runtime,
        ids["delivered_old_resolved_alert"],
        OutboxStatus.delivered,
        OLD,
        alert_id=resolved,
    )
    with session_scope(runtime.engine) as s:
        s.add(SlackEvent(event_id="EvOld", received_at=OLD))
        s.add(SlackEvent(event_id="EvRecent", received_at=RECENT))
        # Slack posts: done long ago (goes), done lately, given up long ago (goes), and one
        # still waiting since long ago (stays: it has not been shown yet).
        for status, done_at in (
            ("done", OLD),
            ("done", RECENT),
            ("failed", OLD),
            ("pending", None),
        ):
            s.add(
                SlackPost(
                    team_id="T1",
                    lane="l",
                    kind="tell",
                    args={},
                    status=status,
                    done_at=done_at,
                    created_at=OLD,
                )
            )
        a = s.get(DeliveryAlert, resolved)
        assert a is not None
        a.first_row_id = ids["delivered_old_resolved_alert"]
        s.add(a)
    ids["open_alert"], ids["resolved_alert"] = open_alert, resolved
    return ids


KEPT = {
    "delivered_recent",
    "discarded_recent",
    "failed_old",
    "pending_old",
    "delivered_old_open_alert",
}


def test_prune_keeps_what_people_need_and_drops_the_rest(
    runtime: Runtime, rows: dict[str, int]
) -> None:
    pruned = prune(runtime.engine, days=30, now=NOW, batch=2)  # small batches: several rounds
    assert (pruned.outbox, pruned.files, pruned.slack_events) == (3, 3, 1)
    assert set(remaining(runtime)) == {rows[n] for n in KEPT}
    assert count(runtime, OutboxFile) == len(KEPT)
    with session_scope(runtime.engine, readonly=True) as s:
        assert [e.event_id for e in s.exec(select(SlackEvent))] == ["EvRecent"]
    # Again: nothing more to do.
    assert not prune(runtime.engine, days=30, now=NOW)


def test_an_alert_whose_rows_were_pruned_still_works(
    runtime: Runtime, rows: dict[str, int]
) -> None:
    prune(runtime.engine, days=30, now=NOW)
    with session_scope(runtime.engine) as s:
        summary = summarize(s, rows["resolved_alert"])
        assert summary is not None and summary.rows == 0 and summary.example == "a delivery"
        result = alert_actions.retry_alert(
            s, team_id="T1", alert_id=rows["resolved_alert"], user_id="U1"
        )
        assert result.rows == 0
    with session_scope(runtime.engine) as s:
        result = alert_actions.discard_alert(
            s, team_id="T1", alert_id=rows["resolved_alert"], user_id="U1", is_admin=True
        )
        assert result.rows == 0


def test_outbox_prune_command(
    runtime: Runtime,
    rows: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("RETENTION_DAYS", "40")
    result = CliRunner().invoke(cli, ["outbox", "prune"])  # RETENTION_DAYS: 40, none older
    assert result.exit_code == 0, result.output
    assert "pruned 0 delivered or discarded rows" in result.output
    assert len(remaining(runtime)) == len(rows) - 2
    result = CliRunner().invoke(cli, ["outbox", "prune", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert (
        "pruned 3 delivered or discarded rows (3 files) and 1 Slack event ids, 2 Slack posts"
        in (result.output)
    )
    with session_scope(runtime.engine, readonly=True) as s:
        left = sorted((p.status, p.done_at is not None) for p in s.exec(select(SlackPost)))
    assert left == [("done", True), ("pending", False)]
    assert set(remaining(runtime)) == {rows[n] for n in KEPT}
    assert CliRunner().invoke(cli, ["outbox", "prune", "--days", "0"]).exit_code == 2


@pytest.mark.anyio
async def test_the_scheduler_prunes_hourly(
    runtime: Runtime, rows: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery.scheduler")
    scheduler = DeliveryScheduler(Flusher(runtime), interval=60)
    await scheduler.start()
    try:
        job = scheduler._scheduler.get_job(PRUNE_JOB_ID)  # type: ignore[union-attr]
        assert job is not None and job.trigger.interval == PRUNE_EVERY
        await scheduler.prune()  # what the job runs
    finally:
        await scheduler.stop()
    assert set(remaining(runtime)) == {rows[n] for n in KEPT}
    assert any("pruned 3 outbox rows" in r.getMessage() for r in caplog.records)
