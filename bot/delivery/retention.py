"""Retention: what the database keeps, and for how long (`RETENTION_DAYS`, default 30).

- Delivered outbox rows, with their `outbox_file` rows, go once delivered longer ago than
  that; discarded rows once discarded (last updated) longer ago. Rows of an alert that is
  not resolved yet stay, so what the alert counts stays true.
- Failed rows are never pruned: they wait for a person (Retry or Discard), then age out
  as delivered or discarded rows do.
- Slack event ids (kept so Slack's retries do nothing twice; Slack retries within
  minutes) go after the same period, as do Slack posts that are done or given up.

Nothing points at an outbox row (`outbox.alert_id` points at the alert, and an alert's
`first_row_id` is a plain number that its summary does without), so deleting rows breaks
no alert. Deletes go in batches, each its own short transaction: on SQLite, writers wait
for one batch at most, not for the whole prune.

The scheduler prunes hourly; `switchboard outbox prune [--days N]` does it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, or_
from sqlmodel import Session, col, select

from storage.engine import session_scope
from storage.models import (
    AlertState,
    DeliveryAlert,
    OutboxFile,
    OutboxRow,
    OutboxStatus,
    SlackEvent,
    SlackPost,
    SlackPostStatus,
    utcnow,
)

BATCH = 1000


@dataclass
class Pruned:
    outbox: int = 0
    files: int = 0
    slack_events: int = 0
    slack_posts: int = 0

    def __iadd__(self, other: Pruned) -> Pruned:
        self.outbox += other.outbox
        self.files += other.files
        self.slack_events += other.slack_events
        self.slack_posts += other.slack_posts
        return self

    def __bool__(self) -> bool:
        return bool(self.outbox or self.slack_events or self.slack_posts)


def prune_batch(session: Session, *, before: datetime, limit: int) -> Pruned:
    """At most `limit` outbox rows and `limit` event ids older than `before`, in one
    transaction (the caller's)."""
    resolved = select(DeliveryAlert.id).where(DeliveryAlert.state == AlertState.resolved)
    ids = list(
        session.exec(
            select(OutboxRow.id)
            .where(
                or_(
                    (col(OutboxRow.status) == OutboxStatus.delivered)
                    & (func.coalesce(OutboxRow.delivered_at, OutboxRow.updated_at) < before),
                    (col(OutboxRow.status) == OutboxStatus.discarded)
                    & (col(OutboxRow.updated_at) < before),
                ),
                or_(col(OutboxRow.alert_id).is_(None), col(OutboxRow.alert_id).in_(resolved)),
            )
            .order_by(col(OutboxRow.id))
            .limit(limit)
        )
    )
    pruned = Pruned()
    if ids:
        # Explicitly, not through ON DELETE CASCADE: the same on both databases.
        files = delete(OutboxFile).where(col(OutboxFile.outbox_id).in_(ids))
        pruned.files = _count(session.execute(files))
        pruned.outbox = _count(session.execute(delete(OutboxRow).where(col(OutboxRow.id).in_(ids))))
    old_events = (
        select(SlackEvent.event_id).where(col(SlackEvent.received_at) < before).limit(limit)
    )
    pruned.slack_events = _count(
        session.execute(delete(SlackEvent).where(col(SlackEvent.event_id).in_(old_events)))
    )
    finished = (SlackPostStatus.done, SlackPostStatus.failed)
    old_posts = (
        select(SlackPost.id)
        .where(col(SlackPost.status).in_(finished), col(SlackPost.done_at) < before)
        .limit(limit)
    )
    pruned.slack_posts = _count(
        session.execute(delete(SlackPost).where(col(SlackPost.id).in_(old_posts)))
    )
    return pruned


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def prune(engine: Engine, *, days: int, now: datetime | None = None, batch: int = BATCH) -> Pruned:
    """Everything `days` old or more (see the module's docstring), batch after batch."""
    before = (now or utcnow()) - timedelta(days=days)
    total = Pruned()
    while True:
        with session_scope(engine) as session:
            got = prune_batch(session, before=before, limit=batch)
        total += got
        if got.outbox < batch and got.slack_events < batch and got.slack_posts < batch:
            return total
