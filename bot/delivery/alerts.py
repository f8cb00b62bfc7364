"""Failure alerts, as data: which alert a failed row joins, Retry, Discard, resume.

Plain functions over storage (keyword-only `session`, no Slack types); the Slack side
(posting and updating messages) is `bot.features.alerts.posts`, the blocks
`bot.features.alerts.views`.

One alert per workspace and *cause*, while unresolved (a partial unique index holds
this): when Front is down, the 40 rows that give up make one alert that counts 40, not
40 alerts. A cause is the kind of failure and Front's status (plus, for refusals, the
operation and Front's message, since each refusal is its own problem).

An alert's state follows its rows: `open` while any is `failed`, `retrying` while some
wait to be sent again after a Retry, `resolved` when all are delivered or discarded.
A `paused` alert (Front refused our credentials) follows the workspace instead.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.delivery.claim import insert_ignore, lock_paces
from storage.models import (
    AlertState,
    DeliveryAlert,
    OutboxRow,
    OutboxStatus,
    Workspace,
    utcnow,
)

FAILED = "failed"
PAUSED = "paused"
UNAUTHORIZED_CAUSE = "unauthorized"

DONE = (OutboxStatus.delivered, OutboxStatus.discarded)


class AlertNotFound(UserError):
    def __init__(self) -> None:
        super().__init__("That alert no longer exists in this workspace.")


def failure_cause(
    *, kind: str, status_code: int | None, title: str, operation: str, message: str
) -> str:
    """The grouping key of a failure: an outage groups broadly, a refusal narrowly."""
    if kind == "retryable":
        return f"retryable:{status_code or title or 'error'}"[:255]
    digest = hashlib.sha256(message.encode()).hexdigest()[:12]
    return f"{kind}:{status_code or '-'}:{operation}:{digest}"[:255]


def _unresolved(session: Session, team_id: str, cause: str) -> DeliveryAlert | None:
    return session.exec(
        select(DeliveryAlert)
        .where(
            DeliveryAlert.team_id == team_id,
            DeliveryAlert.cause == cause,
            DeliveryAlert.state != AlertState.resolved,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _open_alert(
    session: Session,
    *,
    team_id: str,
    cause: str,
    kind: str,
    first_row_id: int | None,
    now: datetime,
) -> DeliveryAlert:
    """The unresolved alert for this cause, created if none."""
    alert = _unresolved(session, team_id, cause)
    if alert is not None:
        return alert
    fresh = DeliveryAlert(
        team_id=team_id,
        cause=cause,
        kind=kind,
        first_row_id=first_row_id,
        created_at=now,
        updated_at=now,
    )
    # Another process may create it at the same moment: the unique index decides.
    insert_ignore(session, DeliveryAlert, [fresh.model_dump(exclude={"id"})])
    alert = _unresolved(session, team_id, cause)
    assert alert is not None
    return alert


def _bump(alert: DeliveryAlert, now: datetime) -> None:
    alert.version += 1
    alert.updated_at = now


def attach_failure(
    session: Session,
    row: OutboxRow,
    *,
    kind: str,
    status_code: int | None,
    title: str,
    message: str,
    now: datetime,
) -> list[int]:
    """Put a row that just failed into its cause's alert; the alert ids to refresh."""
    assert row.id is not None
    cause = failure_cause(
        kind=kind, status_code=status_code, title=title, operation=row.operation, message=message
    )
    alert = _open_alert(
        session, team_id=row.team_id, cause=cause, kind=FAILED, first_row_id=row.id, now=now
    )
    assert alert.id is not None
    previous = row.alert_id
    row.alert_id = alert.id
    session.add(row)
    alert.status_code, alert.title, alert.message = status_code, title[:255], message
    alert.state = AlertState.open
    _bump(alert, now)
    session.add(alert)
    session.flush()
    touched = [alert.id]
    if previous is not None and previous != alert.id:
        refresh_state(session, previous, now=now)
        touched.append(previous)
    return touched


def row_counts(session: Session, alert_id: int) -> dict[str, int]:
    rows = session.exec(
        select(OutboxRow.status, func.count())
        .where(OutboxRow.alert_id == alert_id)
        .group_by(OutboxRow.status)
    )
    return {str(status): int(n) for status, n in rows}


def refresh_state(session: Session, alert_id: int, *, now: datetime) -> bool:
    """Derive a failure alert's state from its rows; True when it changed."""
    alert = session.get(DeliveryAlert, alert_id, with_for_update=True)
    if alert is None or alert.kind != FAILED:
        return False
    counts = row_counts(session, alert_id)
    if counts.get(OutboxStatus.failed):
        state = AlertState.open
    elif counts.get(OutboxStatus.pending) or counts.get(OutboxStatus.sending):
        state = AlertState.retrying
    else:
        state = AlertState.resolved
    if state == alert.state:
        return False
    alert.state = state
    _bump(alert, now)
    session.add(alert)
    session.flush()
    return True


# Pause ---------------------------------------------------------------------------------


def pause_workspace(
    session: Session,
    *,
    team_id: str,
    row: OutboxRow,
    status_code: int | None,
    title: str,
    message: str,
    probe_first_seconds: float,
    now: datetime,
) -> list[int]:
    """Front refused our credentials: pause the workspace once, open one alert for it."""
    from bot.delivery import pacing

    insert_ignore(session, Workspace, [Workspace(team_id=team_id, created_at=now).model_dump()])
    paused = session.execute(
        update(Workspace)
        .where(col(Workspace.team_id) == team_id, col(Workspace.paused_at).is_(None))
        .values(paused_at=now, paused_reason=f"{title}: {message}"[:2000])
    )
    if paused.rowcount != 1:  # type: ignore[attr-defined]
        return []  # already paused: admins were told when it began
    pace = lock_paces(session, [team_id], now)[team_id]
    pace.probes = 0
    pacing.schedule_probe(pace, now, first=probe_first_seconds)
    session.add(pace)
    alert = _open_alert(
        session,
        team_id=team_id,
        cause=UNAUTHORIZED_CAUSE,
        kind=PAUSED,
        first_row_id=row.id,
        now=now,
    )
    alert.status_code, alert.title, alert.message = status_code, title[:255], message
    alert.action = alert.acted_by = None
    _bump(alert, now)
    session.add(alert)
    session.flush()
    assert alert.id is not None
    return [alert.id]


def resume_workspace(
    session: Session, *, team_id: str, user_id: str | None = None, now: datetime | None = None
) -> list[int]:
    """Let a paused workspace's deliveries go again; the alert ids to refresh."""
    now = now or utcnow()
    ws = session.get(Workspace, team_id, with_for_update=True)
    if ws is None or ws.paused_at is None:
        return []
    ws.paused_at = None
    ws.paused_reason = None
    session.add(ws)
    pace = lock_paces(session, [team_id], now)[team_id]
    pace.probe_at, pace.probes = None, 0
    session.add(pace)
    alert = _unresolved(session, team_id, UNAUTHORIZED_CAUSE)
    if alert is None:
        session.flush()
        return []
    alert.state = AlertState.resolved
    alert.action, alert.acted_by, alert.acted_at = "resume", user_id, now
    _bump(alert, now)
    session.add(alert)
    session.flush()
    assert alert.id is not None
    return [alert.id]


# People acting on an alert -------------------------------------------------------------


def set_alerts_channel(session: Session, *, team_id: str, channel_id: str | None) -> Workspace:
    """Where failure alerts go besides the thread (None: the thread alone)."""
    insert_ignore(session, Workspace, [Workspace(team_id=team_id).model_dump()])
    ws = session.get(Workspace, team_id, with_for_update=True)
    assert ws is not None
    ws.alerts_channel_id = channel_id
    session.add(ws)
    session.flush()
    return ws


# What an alert says --------------------------------------------------------------------


# What a row makes exist in Front, and what it needs to exist there: a call (made by
# create_call; updated by the later rows of its leg, and the parent of a transferred
# leg's create_call) or a logged message (whose status a later row sets).


# Operators acting on single rows (CLI) -------------------------------------------------
