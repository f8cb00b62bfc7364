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
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.delivery import outbox
from bot.delivery.claim import insert_ignore, lock_paces
from bot.delivery.outbox import describe_row
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

_DONE = (OutboxStatus.delivered, OutboxStatus.discarded)


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


@dataclass(frozen=True)
class AlertSummary:
    """Everything an alert message shows, read in one transaction."""

    id: int
    team_id: str
    kind: str
    state: str
    version: int
    status_code: int | None
    title: str
    message: str
    action: str | None
    acted_by: str | None
    rows: int
    failed: int
    delivered: int
    discarded: int
    in_progress: int
    waiting_behind: int
    dependents: int  # of those, the ones a Discard discards too
    example: str  # the first failed (or first) row, in words
    example_attempts: int
    logged_by: str | None


def waiting_behind(session: Session, alert_id: int) -> int:
    """Unfinished rows queued after this alert's failed rows, in their lanes."""
    failed = session.exec(
        select(OutboxRow.lane, func.min(OutboxRow.id))
        .where(OutboxRow.alert_id == alert_id, OutboxRow.status == OutboxStatus.failed)
        .group_by(OutboxRow.lane)
    ).all()
    total = 0
    for lane, first_id in failed:
        total += session.exec(
            select(func.count())
            .select_from(OutboxRow)
            .where(
                OutboxRow.lane == lane,
                col(OutboxRow.id) > first_id,
                col(OutboxRow.status).not_in(_DONE),
                col(OutboxRow.status) != OutboxStatus.failed,
            )
        ).one()
    return int(total)


# What a row makes exist in Front, and what it needs to exist there: a call (made by
# create_call; updated by the later rows of its leg, and the parent of a transferred
# leg's create_call) or a logged message (whose status a later row sets).
_MESSAGE_SYNCS = ("sync_inbound_message", "sync_outbound_message")


def _makes(row: OutboxRow) -> str | None:
    payload = row.payload or {}
    if row.operation == "create_call" and payload.get("external_call_id"):
        return f"call:{payload['external_call_id']}"
    metadata = payload.get("metadata")
    if row.operation in _MESSAGE_SYNCS and isinstance(metadata, dict):
        return f"message:{metadata['external_id']}" if metadata.get("external_id") else None
    return None


def _needs(row: OutboxRow) -> set[str]:
    payload, path = row.payload or {}, row.path or {}
    needs: set[str] = set()
    if row.operation == "create_call":
        parent = payload.get("parent_external_call_id")
        if parent and parent != payload.get("external_call_id"):
            needs.add(f"call:{parent}")
    elif path.get("external_call_id"):
        needs.add(f"call:{path['external_call_id']}")
    if path.get("message_ext_id"):
        needs.add(f"message:{path['message_ext_id']}")
    return needs


def dependents(session: Session, alert_id: int) -> list[OutboxRow]:
    """Waiting rows of the lanes of this alert's failed rows that need what a failed row
    makes in Front (directly or through another dependent): without it they can only
    fail (404), so discarding the failed rows discards them too."""
    failed = list(
        session.exec(
            select(OutboxRow).where(
                OutboxRow.alert_id == alert_id, OutboxRow.status == OutboxStatus.failed
            )
        )
    )
    found: list[OutboxRow] = []
    for lane in sorted({r.lane for r in failed}):
        mine = [r for r in failed if r.lane == lane]
        missing = {m for m in map(_makes, mine) if m}
        if not missing:
            continue
        later = session.exec(
            select(OutboxRow)
            .where(
                OutboxRow.lane == lane,
                col(OutboxRow.id) > min(r.id or 0 for r in mine),
                OutboxRow.status == OutboxStatus.pending,
            )
            .order_by(col(OutboxRow.id))
        )
        for row in later:
            if _needs(row) & missing:
                found.append(row)
                made = _makes(row)
                if made:
                    missing.add(made)
    return found


def summarize(session: Session, alert_id: int) -> AlertSummary | None:
    alert = session.get(DeliveryAlert, alert_id)
    if alert is None:
        return None
    assert alert.id is not None
    counts = row_counts(session, alert.id)
    example_row = session.exec(
        select(OutboxRow)
        .where(OutboxRow.alert_id == alert.id)
        .order_by(col(OutboxRow.status) != OutboxStatus.failed, col(OutboxRow.id))
        .limit(1)
    ).first()
    if example_row is None and alert.first_row_id is not None:
        example_row = session.get(OutboxRow, alert.first_row_id)
    return AlertSummary(
        id=alert.id,
        team_id=alert.team_id,
        kind=alert.kind,
        state=alert.state,
        version=alert.version,
        status_code=alert.status_code,
        title=alert.title,
        message=alert.message,
        action=alert.action,
        acted_by=alert.acted_by,
        rows=sum(counts.values()),
        failed=counts.get(OutboxStatus.failed, 0),
        delivered=counts.get(OutboxStatus.delivered, 0),
        discarded=counts.get(OutboxStatus.discarded, 0),
        in_progress=counts.get(OutboxStatus.pending, 0) + counts.get(OutboxStatus.sending, 0),
        waiting_behind=waiting_behind(session, alert.id),
        dependents=len(dependents(session, alert.id)),
        example=describe_row(example_row) if example_row is not None else "a delivery",
        example_attempts=example_row.attempts if example_row is not None else 0,
        logged_by=example_row.slack_user_id if example_row is not None else None,
    )


# Operators acting on single rows (CLI) -------------------------------------------------


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
