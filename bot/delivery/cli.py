"""`switchboard outbox`: look at deliveries and act on them (operators)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

# The rest is imported inside the commands: `switchboard --help` stays quick.
if TYPE_CHECKING:
    from bot.delivery.hooks import DeliveryHooks
    from bot.runtime import Runtime
    from storage.models import OutboxRow


class Wiring(Protocol):
    """What the entry point hands these commands (`ctx.obj`): delivery knows no Slack, so
    the hooks that show alert changes in Slack come from there."""

    def runtime(self) -> Runtime: ...
    def hooks(self) -> DeliveryHooks: ...


app = typer.Typer(
    help="Look at the outbox (deliveries to Front) and retry or discard rows.",
    no_args_is_help=True,
)


class Status(StrEnum):
    pending = "pending"
    sending = "sending"
    delivered = "delivered"
    failed = "failed"
    discarded = "discarded"


def _wiring(ctx: typer.Context) -> Wiring:
    wiring: Wiring = ctx.obj
    return wiring


def _err(line: str) -> None:
    typer.echo(f"switchboard: {line}", err=True)


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _line(row: OutboxRow) -> str:
    from bot.delivery import outbox

    if row.status in ("failed", "pending") and row.last_error:
        note = row.last_error
        if row.status == "pending":
            note = f"next {_when(row.next_attempt_at)} after {note}"
    elif row.status == "delivered":
        note = f"at {_when(row.delivered_at)}"
    elif row.status == "sending":
        note = f"lease {row.lease_owner} until {_when(row.lease_expires_at)}"
    else:
        note = f"since {_when(row.updated_at)}"
    return (
        f"{row.id:>8}  {row.status:<9} {row.attempts:>3}  {_short(row.lane, 34):<34}  "
        f"{_short(outbox.describe_row(row), 36):<36}  {_short(note, 60)}"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(help="Only rows in this state.")] = None,
    lane: Annotated[
        str | None, typer.Option(help="Only this lane, e.g. call:<id> or conversation:<ch>:<id>.")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this Slack workspace (team id).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows, newest first.")] = 50,
) -> None:
    """List rows, newest first."""
    from bot.delivery import outbox
    from storage.engine import session_scope

    runtime = _wiring(ctx).runtime()
    with session_scope(runtime.engine, readonly=True) as session:
        found = outbox.list_rows(
            session, status=status.value if status else None, lane=lane, team_id=team, limit=limit
        )
        if not found:
            typer.echo("no rows")
            return
        typer.echo(
            f"{'ID':>8}  {'STATUS':<9} {'TRY':>3}  {'LANE':<34}  {'WHAT':<36}  NEXT / ERROR / WHEN"
        )
        for row in found:
            typer.echo(_line(row))


@app.command()
def show(
    ctx: typer.Context,
    row_id: Annotated[int, typer.Argument(help="The row's id (from `list`).")],
) -> None:
    """Everything about one row: payload, files, last error, Front's answer."""
    from bot.delivery import outbox
    from storage.engine import session_scope

    runtime = _wiring(ctx).runtime()
    with session_scope(runtime.engine, readonly=True) as session:
        try:
            row = outbox.get_row(session, row_id=row_id)
        except outbox.RowNotFound as exc:
            _err(str(exc))
            raise typer.Exit(1) from None
        files = outbox.files_of(session, row_id=row_id)
    fields: list[tuple[str, Any]] = [
        ("id", row.id),
        ("what", outbox.describe_row(row)),
        ("operation", row.operation),
        ("status", row.status),
        ("attempts", row.attempts),
        ("lane", row.lane),
        ("workspace", row.team_id),
        ("front channel", row.front_channel_id),
        ("path", json.dumps(row.path)),
        ("created", _when(row.created_at)),
        ("next attempt", _when(row.next_attempt_at)),
        (
            "lease",
            f"{row.lease_owner} until {_when(row.lease_expires_at)}" if row.lease_owner else "-",
        ),
        ("last error", row.last_error or "-"),
        ("result", json.dumps(row.result) if row.result else "-"),
        ("delivered", _when(row.delivered_at)),
        (
            "retried",
            f"{_when(row.retried_at)} by {row.retried_by or 'an operator'}"
            if row.retried_at
            else "-",
        ),
        (
            "slack",
            f"channel {row.slack_channel_id} thread {row.slack_thread_ts} user {row.slack_user_id}",
        ),
        ("alert", row.alert_id or "-"),
    ]
    for name, value in fields:
        typer.echo(f"{name + ':':<15}{value}")
    for f in files:
        kept = "kept" if f.data is not None else "dropped after delivery"
        typer.echo(f"{'file:':<15}{f.filename} ({f.content_type}, {f.size} bytes, {kept})")
    typer.echo("payload:")
    typer.echo(json.dumps(row.payload, indent=2, ensure_ascii=False))


def _act(
    wiring: Wiring,
    ids: list[int],
    lane: str | None,
    action: Callable[..., tuple[OutboxRow, list[int]]],
    done: Callable[[OutboxRow], str],
) -> None:
    from bot.delivery import outbox
    from storage.engine import session_scope

    if not ids and not lane:
        _err("give row ids, or --lane to act on the failed rows of one lane")
        raise typer.Exit(2)
    runtime = wiring.runtime()
    if lane:
        with session_scope(runtime.engine, readonly=True) as session:
            ids = ids + [
                r.id
                for r in outbox.list_rows(session, status="failed", lane=lane, limit=10_000)
                if r.id is not None
            ]
        if not ids:
            typer.echo(f"no failed rows in lane {lane}")
            return
    problems = 0
    hooks = wiring.hooks()
    for row_id in ids:
        try:
            with session_scope(runtime.engine) as session:
                row, alert_ids = action(session, row_id=row_id)
                # The Slack alerts follow: their posts are queued with the change, and a
                # running `serve` or `worker` sends them.
                hooks.alerts_changed(session, alert_ids)
        except (outbox.RowNotFound, outbox.RowStateError) as exc:
            _err(str(exc))
            problems += 1
            continue
        typer.echo(done(row))
    runtime.engine.dispose()
    if problems:
        raise typer.Exit(1)


@app.command()
def retry(
    ctx: typer.Context,
    row_ids: Annotated[list[int] | None, typer.Argument(help="Row ids.")] = None,
    lane: Annotated[str | None, typer.Option(help="Retry every failed row of this lane.")] = None,
) -> None:
    """Send failed rows again with fresh attempts (or a waiting row now)."""
    from bot.delivery import alert_actions

    _act(
        _wiring(ctx),
        row_ids or [],
        lane,
        alert_actions.retry_one,
        lambda r: f"row {r.id}: pending; the next flush sends it",
    )


@app.command()
def discard(
    ctx: typer.Context,
    row_ids: Annotated[list[int] | None, typer.Argument(help="Row ids.")] = None,
    lane: Annotated[str | None, typer.Option(help="Discard every failed row of this lane.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Never send these rows (kept for the record); later rows of their lanes go ahead."""
    from bot.delivery import alert_actions

    if not yes:
        what = f"rows {', '.join(map(str, row_ids))}" if row_ids else f"failed rows of {lane}"
        typer.confirm(f"Discard {what}? They will never reach Front", abort=True)
    _act(
        _wiring(ctx),
        row_ids or [],
        lane,
        alert_actions.discard_one,
        lambda r: f"row {r.id}: discarded",
    )


@app.command()
def resume(
    ctx: typer.Context,
    team: Annotated[str, typer.Argument(help="The paused workspace's team id.")],
) -> None:
    """Resume a workspace paused because Front refused the credentials."""
    from bot.delivery import alerts
    from storage.engine import session_scope
    from storage.models import Workspace

    wiring = _wiring(ctx)
    runtime = wiring.runtime()
    with session_scope(runtime.engine) as session:
        ws = session.get(Workspace, team)
        if ws is None or ws.paused_at is None:
            typer.echo(f"workspace {team} is not paused")
            return
        alert_ids = alerts.resume_workspace(session, team_id=team)
        wiring.hooks().alerts_changed(session, alert_ids)
    typer.echo(f"workspace {team}: deliveries resumed")


@app.command()
def prune(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Keep this many days [default: RETENTION_DAYS, else 30]."),
    ] = None,
) -> None:
    """Delete delivered and discarded rows (with their files) and seen Slack event ids
    older than the retention period; failed rows are kept. The scheduler does it hourly."""
    from bot.delivery import retention

    runtime = _wiring(ctx).runtime()
    days = days or runtime.settings.retention_days
    pruned = retention.prune(runtime.engine, days=days)
    runtime.engine.dispose()
    typer.echo(
        f"pruned {pruned.outbox} delivered or discarded rows ({pruned.files} files) and "
        f"{pruned.slack_events} Slack event ids, {pruned.slack_posts} Slack posts older than "
        f"{days} days"
    )
