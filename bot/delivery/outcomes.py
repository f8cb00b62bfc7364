"""What an answer from Front means for a row, recorded in one transaction.

- delivered: row `delivered`, Front's ids kept, file bytes dropped; a probe that
  gets through resumes its paused workspace.
- rate limited (429): row `pending` again, due after `retry-after`; not a failed
  attempt; the workspace's pacing bucket waits too.
- retryable (5xx, timeout, connection): row `pending` after an exponential backoff with
  jitter, or `failed` once it used its attempts or is too old (the policy).
- rejected (Front refused the request, or it broke the spec): `failed` at once.
- unauthorized (401/403): row `pending`, not a failed attempt; the workspace pauses
  and admins get one alert (see `alerts.pause_workspace`).
- A failed row joins its cause's alert.

Every write is fenced by the lease: if this process's lease was lost (it expired and
another process claimed the row), the row is left to its new owner.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.delivery import alerts, pacing
from bot.delivery.claim import ClaimedRow, lock_paces
from bot.delivery.hooks import OutboxRowSnapshot
from bot.delivery.policy import DeliveryPolicy
from bot.front import (
    FrontError,
    FrontRateLimited,
    FrontRejected,
    FrontResult,
    FrontUnauthorized,
    InvalidRequest,
    RateLimitInfo,
)
from storage.models import OutboxFile, OutboxPace, OutboxRow, OutboxStatus, utcnow

log = logging.getLogger(__name__)


class OutcomeKind(StrEnum):
    delivered = "delivered"
    rate_limited = "rate_limited"
    retryable = "retryable"
    rejected = "rejected"
    unauthorized = "unauthorized"


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    status_code: int | None = None
    title: str = ""
    message: str = ""
    retry_after: float | None = None
    message_uid: str | None = None
    template_id: str | None = None
    rate_limit: RateLimitInfo | None = None

    @classmethod
    def of_result(cls, result: FrontResult) -> Outcome:
        return cls(
            OutcomeKind.delivered,
            status_code=result.status_code,
            message_uid=result.message_uid,
            template_id=result.template_id,
            rate_limit=result.rate_limit,
        )

    @classmethod
    def of_error(cls, exc: BaseException) -> Outcome:
        if not isinstance(exc, FrontError):
            # A bug or an unforeseen failure on our side: worth retrying, and visible.
            return cls(OutcomeKind.retryable, title="Unexpected error", message=type(exc).__name__)
        kind: OutcomeKind
        retry_after = None
        if isinstance(exc, FrontRateLimited):
            kind, retry_after = OutcomeKind.rate_limited, exc.retry_after
        elif isinstance(exc, FrontUnauthorized):
            kind = OutcomeKind.unauthorized
        elif isinstance(exc, FrontRejected | InvalidRequest) or not exc.retryable:
            kind = OutcomeKind.rejected
        else:
            kind = OutcomeKind.retryable
        return cls(
            kind,
            status_code=exc.status_code,
            title=exc.title,
            message=exc.message,
            retry_after=retry_after,
            rate_limit=exc.rate_limit,
        )

    @property
    def error_text(self) -> str:
        """Front's words, as stored in `last_error` and shown in alerts."""
        head = " ".join(p for p in (str(self.status_code or ""), self.title) if p)
        return f"{head}: {self.message}" if head and self.message else head or self.message


@dataclass(frozen=True)
class Recorded:
    """What recording an outcome did: the row's new status ("lost" if the lease was),
    the row as committed (for hooks), and alerts whose Slack posts need refreshing."""

    status: str
    snapshot: OutboxRowSnapshot | None = None
    alert_ids: tuple[int, ...] = ()
    resumed: bool = False


def _sending_per_team(session: Session, teams: list[str]) -> dict[str, int]:
    """Requests out right now per workspace (a dead process's count until its lease ends)."""
    found = session.exec(
        select(OutboxRow.team_id, func.count())
        .where(OutboxRow.status == OutboxStatus.sending, col(OutboxRow.team_id).in_(teams))
        .group_by(OutboxRow.team_id)
    )
    return {str(team): int(n) for team, n in found}


_LOCK = (
    sa_select(
        col(OutboxRow.id),
        col(OutboxRow.status),
        col(OutboxRow.lease_owner),
        col(OutboxRow.alert_id),
        col(OutboxRow.last_error_status),
        col(OutboxRow.last_error),
    )
    .where(col(OutboxRow.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(OutboxRow.id))
    .with_for_update()
)

# The common case, written for many rows at once without loading them.
_DELIVERED = (
    update(OutboxRow)
    .where(col(OutboxRow.id) == bindparam("row_id"))
    .values(
        status=OutboxStatus.delivered,
        delivered_at=bindparam("now"),
        updated_at=bindparam("now"),
        result=bindparam("result"),
        lease_owner=None,
        lease_expires_at=None,
    )
    .execution_options(synchronize_session=False)
)

_DROP_FILES = (
    update(OutboxFile)
    .where(col(OutboxFile.outbox_id).in_(bindparam("ids", expanding=True)))
    .values(data=None)
    .execution_options(synchronize_session=False)
)


def record_outcomes(
    session: Session,
    answers: Sequence[tuple[ClaimedRow, Outcome]],
    *,
    policy: DeliveryPolicy,
    now: datetime | None = None,
    rng: random.Random | None = None,
    paces: dict[str, OutboxPace] | None = None,
) -> list[Recorded]:
    """Record several answers in the caller's transaction (rows locked, then buckets;
    the buckets locked are added to `paces`, for a claim in the same transaction)."""
    if not answers:
        return []
    now = now or utcnow()
    locked = {r.id: r for r in session.execute(_LOCK, {"ids": [c.id for c, _ in answers]})}
    teams = sorted({c.team_id for c, _ in answers})
    paces = lock_paces(session, teams, now, paces)
    # Other requests still out when each answer is used: those not answered yet.
    out = _sending_per_team(session, teams)
    recorded: list[Recorded] = []
    delivered: list[dict[str, Any]] = []
    for claimed, outcome in answers:
        row = locked.get(claimed.id)
        owned = (
            row is not None
            and row.status == OutboxStatus.sending
            and row.lease_owner == claimed.lease_owner
        )
        pace = paces[claimed.team_id]
        if owned:
            out[claimed.team_id] = out.get(claimed.team_id, 1) - 1
        if outcome.rate_limit is not None:
            pacing.calibrate(
                pace,
                outcome.rate_limit,
                claimed.pace_seq,
                now,
                in_flight=out.get(claimed.team_id, 0),
                rate_limited=outcome.kind == OutcomeKind.rate_limited,
            )
        if outcome.kind == OutcomeKind.rate_limited:
            pacing.rate_limited(pace, outcome.retry_after or 0.0, now)
        if not owned or row is None:
            log.warning("outbox row %s: lease lost before its answer was recorded", claimed.id)
            recorded.append(Recorded("lost"))
        elif outcome.kind == OutcomeKind.delivered and not claimed.probe and row.alert_id is None:
            result = {"message_uid": outcome.message_uid, "template_id": outcome.template_id}
            result = {k: v for k, v in result.items() if v is not None}
            delivered.append({"row_id": claimed.id, "now": now, "result": result})
            recorded.append(
                Recorded(
                    OutboxStatus.delivered,
                    _snapshot(claimed, now, outcome, row.last_error_status, row.last_error),
                )
            )
        else:
            full = session.get(OutboxRow, claimed.id, populate_existing=True)
            assert full is not None
            recorded.append(_apply(session, full, claimed, outcome, policy, now, rng))
    if delivered:
        # executemany on the connection: the ORM would read a list as "bulk by key".
        session.connection().execute(_DELIVERED, delivered)
    with_files = {c.id for c, _ in answers if c.files}
    done = [
        r.snapshot.id
        for r in recorded
        if r.snapshot and r.status == "delivered" and r.snapshot.id in with_files
    ]
    if done:
        # Files are kept until Front has them, not longer.
        session.execute(_DROP_FILES, {"ids": done})
    for team in teams:
        session.add(paces[team])
    session.flush()
    return recorded


def _snapshot(
    c: ClaimedRow,
    now: datetime,
    outcome: Outcome,
    last_error_status: int | None,
    last_error: str | None,
) -> OutboxRowSnapshot:
    return OutboxRowSnapshot(
        id=c.id,
        operation=c.operation,
        front_channel_id=c.front_channel_id,
        path=dict(c.path),
        payload=dict(c.payload),
        lane=c.lane,
        status=OutboxStatus.delivered,
        attempts=c.attempts,
        team_id=c.team_id,
        slack_channel_id=c.slack_channel_id,
        slack_thread_ts=c.slack_thread_ts,
        slack_user_id=c.slack_user_id,
        message_uid=outcome.message_uid,
        template_id=outcome.template_id,
        last_error_status=last_error_status,
        last_error=last_error,
        created_at=c.created_at,
        delivered_at=now,
    )


def _apply(
    session: Session,
    row: OutboxRow,
    claimed: ClaimedRow,
    outcome: Outcome,
    policy: DeliveryPolicy,
    now: datetime,
    rng: random.Random | None,
) -> Recorded:
    row.lease_owner = None
    row.lease_expires_at = None
    row.updated_at = now
    alert_ids: list[int] = []
    resumed = False
    kind = outcome.kind

    if kind == OutcomeKind.delivered:
        row.status = OutboxStatus.delivered
        row.delivered_at = now
        result = {"message_uid": outcome.message_uid, "template_id": outcome.template_id}
        row.result = {k: v for k, v in result.items() if v is not None}
        if claimed.probe:
            alert_ids += alerts.resume_workspace(session, team_id=row.team_id, now=now)
            resumed = True
    elif kind == OutcomeKind.rate_limited:
        row.status = OutboxStatus.pending
        row.attempts = max(0, row.attempts - 1)
        row.next_attempt_at = now + timedelta(seconds=outcome.retry_after or 0.0)
        row.last_error_status, row.last_error = outcome.status_code, outcome.error_text
    elif kind == OutcomeKind.unauthorized:
        row.status = OutboxStatus.pending
        row.attempts = max(0, row.attempts - 1)
        row.next_attempt_at = now
        row.last_error_status, row.last_error = outcome.status_code, outcome.error_text
        alert_ids += alerts.pause_workspace(
            session,
            team_id=row.team_id,
            row=row,
            status_code=outcome.status_code,
            title=outcome.title,
            message=outcome.message,
            probe_first_seconds=policy.probe_first_seconds,
            now=now,
        )
    else:
        row.last_error_status, row.last_error = outcome.status_code, outcome.error_text
        since = row.retried_at or row.created_at
        if kind == OutcomeKind.retryable and not policy.gives_up(
            attempts=row.attempts, since=since, now=now
        ):
            row.status = OutboxStatus.pending
            row.next_attempt_at = now + timedelta(seconds=policy.backoff(row.attempts, rng))
        else:
            row.status = OutboxStatus.failed
            alert_ids += alerts.attach_failure(
                session,
                row,
                kind=str(kind),
                status_code=outcome.status_code,
                title=outcome.title,
                message=outcome.message,
                now=now,
            )
    if kind == OutcomeKind.rejected and claimed.probe:
        # Front judged the request itself, so it took our credentials: resume.
        alert_ids += alerts.resume_workspace(session, team_id=row.team_id, now=now)
        resumed = True
    session.add(row)
    if kind == OutcomeKind.delivered and row.alert_id is not None:
        if alerts.refresh_state(session, row.alert_id, now=now):
            alert_ids.append(row.alert_id)
    return Recorded(
        row.status,
        OutboxRowSnapshot.of(row),
        tuple(dict.fromkeys(alert_ids)),
        resumed,
    )
