"""`switchboard outbox list|show|retry|discard|resume` against a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.delivery.flusher import Flusher
from bot.runtime import Runtime
from bot.server import delivery_hooks
from storage.engine import session_scope
from storage.models import OutboxRow, Workspace, utcnow
from tests.delivery.conftest import APP_SECRET, APP_UID, FAST, Sim, add_call, add_messages
from tests.helpers.delivery import settle, settle_posts
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack
from tests.helpers.slack_signing import SIGNING_SECRET

runner = CliRunner()


@pytest.fixture(autouse=True)
def env(
    runtime: Runtime,
    sim: Sim,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    for name, value in {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": runtime.settings.database_url,
        "FRONT_APP_UID": APP_UID,
        "FRONT_APP_SECRET": APP_SECRET,
        "FRONT_API_URL": sim.url,
    }.items():
        monkeypatch.setenv(name, value)


def status(rt: Runtime, row_id: int) -> tuple[str, int]:
    with session_scope(rt.engine, readonly=True) as s:
        row = s.get(OutboxRow, row_id)
        assert row is not None
        return row.status, row.attempts


def flush(flusher: Flusher) -> None:
    """The flusher runs between CLI calls (the CLI makes its own event loop), then the
    Slack poster posts what its hooks queued (as a running `serve` or `worker` does)."""

    async def run() -> None:
        await flusher.flush()
        await flusher.aclose()
        await settle_posts(flusher.runtime)

    asyncio.run(run())


def test_list_show_retry_and_discard(runtime: Runtime, sim: Sim, fake_slack: FakeSlack) -> None:
    # c1 never reaches Front (its first request is refused), so its lane waits.
    sim.state.configure(error_rate=1.0, error_statuses=[503])
    c1 = add_call(runtime, "c1", ("connected",))
    msgs = add_messages(runtime, "conv", 2)
    policy = FAST.__class__(**{**FAST.__dict__, "max_attempts": 1})
    flush(Flusher(runtime, hooks=delivery_hooks(), policy=policy))
    assert status(runtime, c1[0]) == ("failed", 1)

    listed = runner.invoke(app, ["outbox", "list"])
    assert listed.exit_code == 0, listed.output
    assert "New call (call c1)" in listed.output and "503 Service unavailable" in listed.output
    only_lane = runner.invoke(app, ["outbox", "list", "--lane", "call:c1", "--status", "pending"])
    assert only_lane.output.count("\n") == 2  # the header and c1's waiting status update
    assert "Call status connected" in only_lane.output
    assert (
        runner.invoke(app, ["outbox", "list", "--status", "discarded"]).output.strip() == "no rows"
    )
    bad_status = runner.invoke(app, ["outbox", "list", "--status", "lost"])
    assert bad_status.exit_code == 2

    shown = runner.invoke(app, ["outbox", "show", str(c1[0])])
    assert shown.exit_code == 0
    assert "status:        failed" in shown.output and '"external_call_id": "c1"' in shown.output
    missing = runner.invoke(app, ["outbox", "show", "999999"])
    assert missing.exit_code == 1 and "switchboard: no outbox row 999999" in missing.output
    assert runner.invoke(app, ["outbox", "show", "abc"]).exit_code == 2

    # Front is back: retry the failed row; the flusher sends it, then the waiting one.
    sim.state.configure(error_rate=0.0)
    retried = runner.invoke(app, ["outbox", "retry", str(c1[0]), "424242"])
    assert retried.exit_code == 1
    assert f"row {c1[0]}: pending" in retried.output
    assert "switchboard: no outbox row 424242" in retried.output
    assert status(runtime, c1[0]) == ("pending", 0)
    # The Slack alert says so, in place: the CLI queued its update with the change, and a
    # running `serve` or `worker` posts it.
    assert not any("retrying" in u["text"] for u in fake_slack.called("chat.update"))
    settle(runtime)
    assert any("retrying" in u["text"] for u in fake_slack.called("chat.update"))
    flush(Flusher(runtime, hooks=delivery_hooks(), policy=policy))
    assert status(runtime, c1[1]) == ("delivered", 1)

    again = runner.invoke(app, ["outbox", "retry", str(c1[0])])
    assert again.exit_code == 1
    assert "is delivered; only failed or pending rows retry" in again.output

    # Discard asks first; --yes does not.
    with session_scope(runtime.engine) as s:
        s.execute(update(OutboxRow).where(col(OutboxRow.id) == msgs[0]).values(status="failed"))
    refused = runner.invoke(app, ["outbox", "discard", str(msgs[0])], input="n\n")
    assert refused.exit_code == 1 and status(runtime, msgs[0])[0] == "failed"
    done = runner.invoke(
        app, ["outbox", "discard", "--lane", "conversation:cha_delivery:conv", "-y"]
    )
    assert done.exit_code == 0 and f"row {msgs[0]}: discarded" in done.output
    assert status(runtime, msgs[0])[0] == "discarded"
    nothing = runner.invoke(app, ["outbox", "retry"])
    assert nothing.exit_code == 2 and "give row ids" in nothing.output


def test_resume_a_paused_workspace(runtime: Runtime) -> None:
    with session_scope(runtime.engine) as s:
        s.add(Workspace(team_id="T1", paused_at=utcnow(), paused_reason="401 Unauthorized"))
    assert "is not paused" in runner.invoke(app, ["outbox", "resume", "T9"]).output
    result = runner.invoke(app, ["outbox", "resume", "T1"])
    assert result.exit_code == 0 and "deliveries resumed" in result.output
    with session_scope(runtime.engine, readonly=True) as s:
        ws = s.exec(select(Workspace)).one()
        assert ws.paused_at is None
