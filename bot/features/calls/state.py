"""A call as its card shows it: the delivery state of its requests, its leg number, the
alert to link when one failed. Reads (and one write that keeps the stored state in step)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.delivery.outbox import call_lane
from bot.features.calls.service import CallNotFound, legs_after, root_external_call_id
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


def _rows_of(session: Session, call: Call) -> list[OutboxRow]:
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


def _call_by_id(session: Session, external_call_id: str) -> Call:
    call = session.exec(select(Call).where(Call.external_call_id == external_call_id)).first()
    if call is None:
        raise CallNotFound()
    return call


def sync_delivery_state(*, session: Session, external_call_id: str) -> DeliveryState:
    """Store the call's delivery state as its requests now stand (a write; `call_card` reads)."""
    call = _call_by_id(session, external_call_id)
    state = delivery_state(_rows_of(session, call))
    if call.delivery_state != state:
        call.delivery_state = state
        session.add(call)
    return state


def call_card(session: Session, *, external_call_id: str) -> CallCard:
    """The card's content, read only: `delivery` may differ from the stored
    `call.delivery_state` until `sync_delivery_state` runs."""
    call = _call_by_id(session, external_call_id)
    rows = _rows_of(session, call)
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
