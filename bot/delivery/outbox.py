"""Putting Channel API requests into the outbox.

Services call `enqueue` inside the same session (transaction) as the change that caused the
request, so the change and its delivery are stored together or not at all. Nothing here
talks to Front: the flusher does, later, in order per lane.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from bot.core import front_channels
from storage.models import OutboxFile, OutboxRow, OutboxStatus, utcnow

CHANNEL_REMOVED = "channel removed in Front"


@dataclass(frozen=True)
class SlackContext:
    """Where to report back about a delivery: the thread it was logged in, and by whom."""

    team_id: str
    channel_id: str | None = None
    thread_ts: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class FileToSend:
    filename: str
    content_type: str
    data: bytes


def call_lane(external_call_id: str) -> str:
    return f"call:{external_call_id}"


def conversation_lane(front_channel_id: str, external_conversation_id: str) -> str:
    return f"conversation:{front_channel_id}:{external_conversation_id}"


def channel_lane(front_channel_id: str) -> str:
    return f"channel:{front_channel_id}"


def enqueue(
    session: Session,
    *,
    operation: str,
    front_channel_id: str,
    lane: str,
    payload: Mapping[str, Any],
    context: SlackContext,
    path: Mapping[str, str] | None = None,
    files: Sequence[FileToSend] = (),
) -> OutboxRow:
    """Add one request to the outbox in the caller's transaction and return its row.

    For a channel Front removed, the row is stored discarded: it could only fail."""
    removed = front_channels.is_removed(session, front_channel_id=front_channel_id)
    row = OutboxRow(
        operation=operation,
        front_channel_id=front_channel_id,
        path=dict(path or {}),
        payload=dict(payload),
        lane=lane,
        status=OutboxStatus.discarded if removed else OutboxStatus.pending,
        last_error=CHANNEL_REMOVED if removed else None,
        next_attempt_at=utcnow(),
        team_id=context.team_id,
        slack_channel_id=context.channel_id,
        slack_thread_ts=context.thread_ts,
        slack_user_id=context.user_id,
    )
    session.add(row)
    session.flush()  # assigns row.id, which orders the lane
    assert row.id is not None
    for position, f in enumerate(files):
        session.add(
            OutboxFile(
                outbox_id=row.id,
                position=position,
                filename=f.filename,
                content_type=f.content_type,
                size=len(f.data),
                data=f.data,
            )
        )
    return row


# Reading and acting on rows (operators' CLI, alerts) -----------------------------------

OPERATION_LABELS: dict[str, str] = {
    "create_call": "New call",
    "update_call": "Call status",
    "add_call_recording": "Call recording",
    "add_call_summary": "Call summary",
    "add_call_transcript": "Call transcript",
    "sync_inbound_message": "Inbound message",
    "sync_outbound_message": "Outbound message",
    "update_external_message_status": "Message status",
    "update_channel": "Channel status",
    "sync_application_message_template": "Message template",
    "update_application_message_template": "Message template update",
}


def describe_row(row: OutboxRow) -> str:
    """A row in a few words for people: `Call status hangup (call ext-1)`."""
    label = OPERATION_LABELS.get(row.operation, row.operation)
    payload, path = row.payload or {}, row.path or {}
    call_id = path.get("external_call_id") or payload.get("external_call_id")
    metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
    if row.operation == "update_call" and payload.get("call_status"):
        return f"{label} {payload['call_status']} (call {call_id})"
    if call_id:
        return f"{label} (call {call_id})"
    if metadata and metadata.get("external_id"):
        return f"{label} {metadata['external_id']}"
    if path.get("message_ext_id"):
        return f"{label} (message {path['message_ext_id']})"
    name = payload.get("name") or path.get("external_id") or payload.get("external_id")
    if name:
        return f"{label} {name}"
    return f"{label} in {row.front_channel_id}"


class RowNotFound(LookupError):
    def __init__(self, row_id: int) -> None:
        super().__init__(f"no outbox row {row_id}")
        self.row_id = row_id


class RowStateError(ValueError):
    """The row is not in a state that allows the action (message says why)."""


def list_rows(
    session: Session,
    *,
    status: str | None = None,
    lane: str | None = None,
    team_id: str | None = None,
    limit: int = 50,
) -> list[OutboxRow]:
    """Most recent first, filtered by status and lane."""
    query = select(OutboxRow)
    if status:
        query = query.where(OutboxRow.status == status)
    if lane:
        query = query.where(OutboxRow.lane == lane)
    if team_id:
        query = query.where(OutboxRow.team_id == team_id)
    return list(session.exec(query.order_by(col(OutboxRow.id).desc()).limit(limit)))


def get_row(session: Session, *, row_id: int) -> OutboxRow:
    row = session.get(OutboxRow, row_id)
    if row is None:
        raise RowNotFound(row_id)
    return row


def files_of(session: Session, *, row_id: int) -> list[OutboxFile]:
    return list(
        session.exec(
            select(OutboxFile)
            .where(OutboxFile.outbox_id == row_id)
            .order_by(col(OutboxFile.position))
        )
    )


def retry_row(session: Session, *, row_id: int, by: str | None = None) -> OutboxRow:
    """Send a failed row again with fresh attempts, or a waiting row now."""
    row = session.get(OutboxRow, row_id, with_for_update=True)
    if row is None:
        raise RowNotFound(row_id)
    if row.status not in (OutboxStatus.failed, OutboxStatus.pending):
        raise RowStateError(f"row {row_id} is {row.status}; only failed or pending rows retry")
    now = utcnow()
    if row.status == OutboxStatus.failed:
        row.attempts = 0
        row.retried_at, row.retried_by = now, by
    row.status = OutboxStatus.pending
    row.next_attempt_at = now
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def discard_row(session: Session, *, row_id: int, by: str | None = None) -> OutboxRow:
    """Never send this row; later rows of its lane may go."""
    row = session.get(OutboxRow, row_id, with_for_update=True)
    if row is None:
        raise RowNotFound(row_id)
    if row.status not in (OutboxStatus.failed, OutboxStatus.pending):
        raise RowStateError(
            f"row {row_id} is {row.status}; only failed or pending rows can be discarded"
            + (" (it is being sent right now)" if row.status == OutboxStatus.sending else "")
        )
    row.status = OutboxStatus.discarded
    row.retried_by = by
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row
