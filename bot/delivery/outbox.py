"""Putting Channel API requests into the outbox.

Services call `enqueue` inside the same session (transaction) as the change that caused the
request, so the change and its delivery are stored together or not at all. Nothing here
talks to Front: the flusher does, later, in order per lane.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from storage.models import OutboxFile, OutboxRow, OutboxStatus, utcnow


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
    """Add one request to the outbox in the caller's transaction and return its row."""
    row = OutboxRow(
        operation=operation,
        front_channel_id=front_channel_id,
        path=dict(path or {}),
        payload=dict(payload),
        lane=lane,
        status=OutboxStatus.pending,
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
