"""Telling the features when a delivery ends: `DeliveryHooks`, the only way delivery
outcomes reach Slack (delivery itself imports nothing from `bot.slack` or `bot.features`).

Each feature registers its handlers in its `register_hooks(hooks)`, which
`bot/server.py` calls once at start-up:

```
def register_hooks(hooks: DeliveryHooks) -> None:
    hooks.on_delivered("sync_inbound_message", mark_message_delivered)
    hooks.on_failed("create_call", show_call_failed)
    hooks.on_delivered("*", log_everything)      # "*" matches every operation
    hooks.on_alerts(queue_alert_posts)          # failure alerts changed

def mark_message_delivered(session: Session, row: OutboxRowSnapshot) -> None:
    ...  # store what it means, queue the Slack posts that show it (bot.core.slack_posts)
```

A handler is `(session, OutboxRowSnapshot) -> None` and runs INSIDE the transaction that
records the outcome: what it stores, and the Slack posts it queues, commit with the
outcome or not at all, so a crash between a delivery and its card loses nothing. It must
be quick and must not call Slack or Front: it queues posts, which are sent afterwards
and retried. `on_delivered` runs when Front accepted the request (`row.message_uid` /
`row.template_id` hold what it answered), `on_failed` when the row became `failed` (it
waits for a person: Retry or Discard; a later success runs `on_delivered`). Delivery is
at-least-once, so a handler may, rarely, run twice for one row: make it idempotent. A
handler that raises is rolled back alone (a savepoint) and logged; the outcome stands.
`on_alerts` handlers get the ids of the failure alerts a change touched (new failures, a
pause, a Retry or Discard from the command line).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import OutboxRow

log = logging.getLogger(__name__)

ANY_OPERATION = "*"


@dataclass(frozen=True)
class OutboxRowSnapshot:
    """A row as it was committed when its delivery ended (plain values, no session)."""

    id: int
    operation: str
    front_channel_id: str
    path: dict[str, Any]
    payload: dict[str, Any]
    lane: str
    status: str
    attempts: int
    team_id: str
    slack_channel_id: str | None
    slack_thread_ts: str | None
    slack_user_id: str | None
    message_uid: str | None
    template_id: str | None
    last_error_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    alert_id: int | None = None

    @classmethod
    def of(cls, row: OutboxRow) -> OutboxRowSnapshot:
        assert row.id is not None
        result = row.result or {}
        return cls(
            id=row.id,
            operation=row.operation,
            front_channel_id=row.front_channel_id,
            path=dict(row.path),
            payload=dict(row.payload),
            lane=row.lane,
            status=row.status,
            attempts=row.attempts,
            team_id=row.team_id,
            slack_channel_id=row.slack_channel_id,
            slack_thread_ts=row.slack_thread_ts,
            slack_user_id=row.slack_user_id,
            message_uid=result.get("message_uid"),
            template_id=result.get("template_id"),
            last_error_status=row.last_error_status,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            alert_id=row.alert_id,
        )


Handler = Callable[[Session, OutboxRowSnapshot], None]
AlertsHandler = Callable[[Session, Sequence[int]], None]


class DeliveryHooks:
    """Handlers per operation for the end of a delivery; see the module docstring."""

    def __init__(self) -> None:
        self._delivered: dict[str, list[Handler]] = {}
        self._failed: dict[str, list[Handler]] = {}
        self._alerts: list[AlertsHandler] = []

    def on_delivered(self, operation: str, handler: Handler) -> Handler:
        self._delivered.setdefault(str(operation), []).append(handler)
        return handler

    def on_failed(self, operation: str, handler: Handler) -> Handler:
        self._failed.setdefault(str(operation), []).append(handler)
        return handler

    def on_alerts(self, handler: AlertsHandler) -> AlertsHandler:
        self._alerts.append(handler)
        return handler

    def _handlers(self, table: dict[str, list[Handler]], operation: str) -> list[Handler]:
        return [*table.get(operation, ()), *table.get(ANY_OPERATION, ())]

    def has_handlers(self, row: OutboxRowSnapshot) -> bool:
        table = self._delivered if row.status == "delivered" else self._failed
        return bool(self._handlers(table, row.operation))

    def run(self, session: Session, row: OutboxRowSnapshot) -> None:
        """Run the handlers for how `row` ended, each in a savepoint; never raises."""
        if row.status not in ("delivered", "failed"):
            return
        table = self._delivered if row.status == "delivered" else self._failed
        for handler in self._handlers(table, row.operation):
            self._safely(session, handler, row, f"outbox row {row.id} ({row.operation})")

    def alerts_changed(self, session: Session, alert_ids: Sequence[int]) -> None:
        """Run the alert handlers for `alert_ids`, each in a savepoint; never raises."""
        if not alert_ids:
            return
        for handler in self._alerts:
            self._safely(session, handler, list(dict.fromkeys(alert_ids)), "alerts")

    @staticmethod
    def _safely(
        session: Session, handler: Callable[[Session, Any], None], arg: Any, what: str
    ) -> None:
        try:
            with session.begin_nested():
                handler(session, arg)
        except Exception:
            log.exception(
                "delivery hook %s failed for %s", getattr(handler, "__qualname__", handler), what
            )
