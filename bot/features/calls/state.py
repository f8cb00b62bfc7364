"""A call as Slack shows it: on its card (the delivery state of its requests, its leg
number, the alert to link when one failed, whether its details can still change), in its
Edit form, and in a person's last calls. Reads (and one write that keeps the stored state
in step)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.delivery.outbox import call_lane
from bot.features.calls.legs import CallNotFound, legs_after, root_external_call_id
from storage.models import (
    Call,
    DeliveryAlertPost,
    DeliveryState,
    OutboxRow,
    OutboxStatus,
    ThreadKind,
    ThreadLink,
)


@dataclass(frozen=True)
class CallCard:
    """What the call card shows, read in one go."""

    call: Call
    delivery: DeliveryState
    leg: int
    has_next_leg: bool
    last_changed_by: str | None = None
    failure: str | None = None
    alert_channel_id: str | None = None
    alert_ts: str | None = None
    # Where its create-call stands: while `pending`, the form's details can still change.
    create_status: str | None = None

    @property
    def editable(self) -> bool:
        return self.create_status == OutboxStatus.pending

    @property
    def in_front(self) -> bool:
        return self.create_status == OutboxStatus.delivered


def rows_of(session: Session, call: Call) -> list[OutboxRow]:
    """The call's own requests (not its other legs'), in the order they go."""
    lane = call_lane(root_external_call_id(session, call))
    rows = session.exec(select(OutboxRow).where(OutboxRow.lane == lane).order_by(col(OutboxRow.id)))
    mine: list[OutboxRow] = []
    for row in rows:
        target = row.path.get("external_call_id") or row.payload.get("external_call_id")
        if target == call.external_call_id:
            mine.append(row)
    return mine


def delivery_state(rows: Sequence[OutboxRow]) -> DeliveryState:
    statuses = {row.status for row in rows}
    if OutboxStatus.failed in statuses:
        return DeliveryState.failed
    if statuses & {OutboxStatus.pending, OutboxStatus.sending}:
        return DeliveryState.queued
    if OutboxStatus.discarded in statuses:
        return DeliveryState.discarded
    return DeliveryState.delivered


def _leg_number(session: Session, call: Call) -> int:
    leg, current = 1, call
    while current.parent_external_call_id != current.external_call_id and leg < 100:
        parent = session.exec(
            select(Call).where(Call.external_call_id == current.parent_external_call_id)
        ).first()
        if parent is None:
            break
        leg, current = leg + 1, parent
    return leg


def call_by_id(session: Session, *, external_call_id: str) -> Call:
    call = session.exec(select(Call).where(Call.external_call_id == external_call_id)).first()
    if call is None:
        raise CallNotFound()
    return call


def sync_delivery_state(*, session: Session, external_call_id: str) -> DeliveryState:
    """Store the call's delivery state as its requests now stand (a write; `call_card` reads)."""
    call = call_by_id(session, external_call_id=external_call_id)
    state = delivery_state(rows_of(session, call))
    if call.delivery_state != state:
        call.delivery_state = state
        session.add(call)
    return state


def call_card(session: Session, *, external_call_id: str) -> CallCard:
    """The card's content, read only: `delivery` may differ from the stored
    `call.delivery_state` until `sync_delivery_state` runs."""
    call = call_by_id(session, external_call_id=external_call_id)
    rows = rows_of(session, call)
    state = delivery_state(rows)
    changed_by = next(
        (r.slack_user_id for r in reversed(rows) if r.operation == "update_call"), None
    )
    failed = next((r for r in rows if r.status == OutboxStatus.failed), None)
    alert_channel = alert_ts = None
    if failed is not None and failed.alert_id is not None:
        post = session.exec(
            select(DeliveryAlertPost)
            .where(
                DeliveryAlertPost.alert_id == failed.alert_id, col(DeliveryAlertPost.ts).isnot(None)
            )
            .order_by(col(DeliveryAlertPost.thread_ts), col(DeliveryAlertPost.id))
        ).first()
        if post is not None:
            alert_channel, alert_ts = post.channel_id, post.ts
    return CallCard(
        call=call,
        delivery=state,
        leg=_leg_number(session, call),
        has_next_leg=bool(legs_after(session, external_call_id=call.external_call_id)),
        last_changed_by=changed_by,
        failure=(failed.last_error if failed is not None else None),
        alert_channel_id=alert_channel,
        alert_ts=alert_ts,
        create_status=next((r.status for r in rows if r.operation == "create_call"), None),
    )


def calls_in_thread(
    session: Session, *, team_id: str, slack_channel_id: str, thread_ts: str
) -> list[Call]:
    """The legs shown in a thread tied to a call, first leg first; [] for other threads."""
    link = session.exec(
        select(ThreadLink).where(
            ThreadLink.team_id == team_id,
            ThreadLink.slack_channel_id == slack_channel_id,
            ThreadLink.thread_ts == thread_ts,
            ThreadLink.kind == ThreadKind.call,
        )
    ).first()
    if link is None:
        return []
    return list(
        session.exec(
            select(Call)
            .where(
                Call.team_id == team_id,
                Call.slack_channel_id == slack_channel_id,
                Call.thread_ts == thread_ts,
            )
            .order_by(col(Call.id))
        )
    )


# What the calls feature reads for a form or a list ---------------------------------------


@dataclass(frozen=True)
class EditSnapshot:
    """A call as its Edit form opens: what create-call says, and the summary queued with it."""

    call: Call
    create_status: str | None
    initial_status: str
    summary: str


def edit_snapshot(session: Session, *, team_id: str, external_call_id: str) -> EditSnapshot:
    call = call_by_id(session, external_call_id=external_call_id)
    if call.team_id != team_id:
        raise CallNotFound()
    rows = rows_of(session, call)
    create = next((r for r in rows if r.operation == "create_call"), None)
    summary = next(
        (r for r in rows if r.operation == "add_call_summary" and r.status == OutboxStatus.pending),
        None,
    )
    return EditSnapshot(
        call=call,
        create_status=create.status if create is not None else None,
        initial_status=str(create.payload.get("initial_status")) if create else call.status,
        summary=str(summary.payload.get("content") or "") if summary else "",
    )


RECENT_CALLS = 10


def recent_calls(
    session: Session, *, team_id: str, user_id: str, limit: int = RECENT_CALLS
) -> list[Call]:
    """A person's last calls in a workspace, latest first: those they logged or took."""
    return list(
        session.exec(
            select(Call)
            .where(
                Call.team_id == team_id,
                or_(col(Call.created_by) == user_id, col(Call.agent_user_id) == user_id),
            )
            .order_by(col(Call.started_at).desc(), col(Call.id).desc())
            .limit(limit)
        )
    )
