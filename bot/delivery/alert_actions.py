"""People acting on a failure alert: Retry sends its failed rows again, Discard gives them
up (with the later rows of their lanes that need them); the CLI does the same row by row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.delivery import outbox
from bot.delivery.alert_summary import dependents
from bot.delivery.alerts import PAUSED, AlertNotFound, _bump, refresh_state, resume_workspace
from storage.models import AlertState, DeliveryAlert, OutboxRow, OutboxStatus, utcnow


@dataclass(frozen=True)
class AlertActionResult:
    alert_id: int
    rows: int  # rows that changed
    message: str  # what to tell the person
    # Nothing was done: the alert no longer says what the person confirmed (it is redrawn).
    stale: bool = False


def _alert_for(session: Session, team_id: str, alert_id: int) -> DeliveryAlert:
    alert = session.get(DeliveryAlert, alert_id, with_for_update=True)
    if alert is None or alert.team_id != team_id:
        raise AlertNotFound()
    return alert


def retry_alert(
    session: Session, *, team_id: str, alert_id: int, user_id: str, now: datetime | None = None
) -> AlertActionResult:
    """Retry: the alert's failed rows are sent again with fresh attempts (or, for a pause,
    the workspace resumes)."""
    now = now or utcnow()
    alert = _alert_for(session, team_id, alert_id)
    if alert.kind == PAUSED:
        resume_workspace(session, team_id=team_id, user_id=user_id, now=now)
        return AlertActionResult(alert_id, 0, "Deliveries resumed; Switchboard is sending again.")
    changed = session.execute(
        update(OutboxRow)
        .where(col(OutboxRow.alert_id) == alert_id, col(OutboxRow.status) == OutboxStatus.failed)
        .values(
            status=OutboxStatus.pending,
            attempts=0,
            next_attempt_at=now,
            retried_at=now,
            retried_by=user_id,
            updated_at=now,
        )
    ).rowcount  # type: ignore[attr-defined]
    alert.action, alert.acted_by, alert.acted_at = "retry", user_id, now
    _bump(alert, now)
    session.add(alert)
    session.flush()
    refresh_state(session, alert_id, now=now)
    if not changed:
        return AlertActionResult(alert_id, 0, "Nothing left to retry in that alert.")
    return AlertActionResult(alert_id, int(changed), f"Retrying {_deliveries(int(changed))}.")


def discard_alert(
    session: Session,
    *,
    team_id: str,
    alert_id: int,
    user_id: str,
    is_admin: bool = False,
    confirmed_dependents: int | None = None,
    now: datetime | None = None,
) -> AlertActionResult:
    """Discard: the alert's failed rows will never be sent; their lanes move on, less the
    later rows that depend on them (`dependents`), which are discarded with them.

    Only a workspace admin, or the person who logged every failed row of the alert, may
    discard: it loses work for good. Checked here, under the alert's lock, so a row that
    someone else logged cannot join the alert between the check and the discard.
    `confirmed_dependents` is how many dependents the person was told of: when that is no
    longer true, nothing is discarded and the alert is redrawn with the new count."""
    now = now or utcnow()
    alert = _alert_for(session, team_id, alert_id)
    if alert.kind == PAUSED:
        raise UserError("A pause is not discarded: fix the credentials, then press Resume.")
    if not is_admin:
        loggers = set(
            session.exec(
                select(OutboxRow.slack_user_id).where(
                    OutboxRow.alert_id == alert_id, OutboxRow.status == OutboxStatus.failed
                )
            )
        )
        if loggers and loggers != {user_id}:
            raise UserError(
                "Only workspace admins and owners, or the person who logged these "
                "deliveries, can discard them. Press Retry, or ask an admin."
            )
    with_them = [r.id for r in dependents(session, alert_id)]
    if confirmed_dependents is not None and confirmed_dependents != len(with_them):
        _bump(alert, now)  # redraw: the Discard confirmation shows the count as it is now
        session.add(alert)
        session.flush()
        return AlertActionResult(
            alert_id,
            0,
            f"Nothing was discarded: {_deliveries(len(with_them))} would now be discarded "
            "with these, not what you confirmed. The alert shows the new count; press "
            "Discard again if you still want to.",
            stale=True,
        )
    changed = session.execute(
        update(OutboxRow)
        .where(col(OutboxRow.alert_id) == alert_id, col(OutboxRow.status) == OutboxStatus.failed)
        .values(status=OutboxStatus.discarded, retried_by=user_id, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if with_them:
        # Who discarded them is kept on each row, as for the alert's own rows.
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id).in_(with_them), col(OutboxRow.status) == OutboxStatus.pending)
            .values(status=OutboxStatus.discarded, retried_by=user_id, updated_at=now)
        )
    alert.action, alert.acted_by, alert.acted_at = "discard", user_id, now
    _bump(alert, now)
    session.add(alert)
    session.flush()
    refresh_state(session, alert_id, now=now)
    if not changed:
        return AlertActionResult(alert_id, 0, "Nothing left to discard in that alert.")
    also = f", and {len(with_them)} later that depended on them" if with_them else ""
    return AlertActionResult(
        alert_id, int(changed), f"Discarded {_deliveries(int(changed))}{also}."
    )


def _deliveries(n: int) -> str:
    return "1 delivery" if n == 1 else f"{n} deliveries"


def retry_one(
    session: Session, *, row_id: int, by: str | None = None
) -> tuple[OutboxRow, list[int]]:
    """`outbox.retry_row`, keeping the row's alert in step; (row, alert ids to refresh)."""
    row = outbox.retry_row(session, row_id=row_id, by=by)
    return row, _restate(session, row, "retry", by)


def discard_one(
    session: Session, *, row_id: int, by: str | None = None
) -> tuple[OutboxRow, list[int]]:
    row = outbox.discard_row(session, row_id=row_id, by=by)
    return row, _restate(session, row, "discard", by)


def _restate(session: Session, row: OutboxRow, action: str, by: str | None) -> list[int]:
    if row.alert_id is None:
        return []
    alert = session.get(DeliveryAlert, row.alert_id, with_for_update=True)
    if alert is not None and alert.state != AlertState.resolved:
        alert.action, alert.acted_by, alert.acted_at = action, by, utcnow()
        _bump(alert, utcnow())
        session.add(alert)
        session.flush()
        refresh_state(session, row.alert_id, now=utcnow())
    return [row.alert_id]


@dataclass(frozen=True)
class ChannelDiscarded:
    rows: int  # rows that will never be sent
    alert_ids: list[int]  # alerts whose rows changed (they are redrawn, resolved)


def discard_channel(
    session: Session, *, front_channel_id: str, reason: str = outbox.CHANNEL_REMOVED
) -> ChannelDiscarded:
    """Front removed the channel: nothing queued for it can ever go. Its rows that wait
    (pending, sending, failed) are discarded with `reason`, not failed: nobody is alerted.
    A row being sent right now loses its lease: its answer, when it comes, is not recorded
    (the flusher logs "lease lost")."""
    now = utcnow()
    waiting = (OutboxStatus.pending, OutboxStatus.sending, OutboxStatus.failed)
    alerted = set(
        session.exec(
            select(OutboxRow.alert_id).where(
                col(OutboxRow.front_channel_id) == front_channel_id,
                col(OutboxRow.status).in_(waiting),
                col(OutboxRow.alert_id).is_not(None),
            )
        )
    )
    changed = session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.front_channel_id) == front_channel_id,
            col(OutboxRow.status).in_(waiting),
        )
        .values(
            status=OutboxStatus.discarded,
            last_error=reason,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    ).rowcount  # type: ignore[attr-defined]
    alert_ids = sorted(a for a in alerted if a is not None)
    for alert_id in alert_ids:
        refresh_state(session, alert_id, now=now)
    return ChannelDiscarded(int(changed or 0), alert_ids)
