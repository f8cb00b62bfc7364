"""What a failure alert says, read in one transaction: counts by state, an example row,
what waits behind the failed rows and what a Discard would take with it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.delivery.alerts import DONE, row_counts
from bot.delivery.outbox import describe_row
from storage.models import DeliveryAlert, OutboxRow, OutboxStatus

_MESSAGE_SYNCS = ("sync_inbound_message", "sync_outbound_message")


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
                col(OutboxRow.status).not_in(DONE),
                col(OutboxRow.status) != OutboxStatus.failed,
            )
        ).one()
    return int(total)


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
