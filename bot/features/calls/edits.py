"""Correcting a call before Front has it: its log form submitted again replaces what the
first one queued, under the same external call id.

Front's Channel API creates a call once and cannot change it, so a call is editable only
while its create-call is `pending`. The call and its requests are locked first, and only
`pending` rows are rewritten: a row being sent (`sending`) is the flusher's, and then the
edit is refused rather than changed underneath it.

The form's statuses are rebuilt only when the story changed (the outcome, its duration or
the start); otherwise the statuses stay as they are (the card's buttons may have set them)
and only what create-call carries changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from bot.core.errors import InvalidFields, UserError
from bot.delivery.outbox import call_lane
from bot.features.calls.legs import CallChanged, get_call, legs_after, root_external_call_id
from bot.features.calls.lifecycle import Status, from_epoch_ms, next_statuses, status_label
from bot.features.calls.posts import queue_card
from bot.features.calls.service import (
    CallDraft,
    create_call_payload,
    enqueue_for,
    follow_form,
)
from bot.features.calls.timeline import Outcome, outcome_of, utc_text
from storage.models import Call, OutboxRow, OutboxStatus, utcnow


class NotEditable(UserError):
    """Front has the call (or is being given it): what create-call said stays."""


def why_not(status: str) -> str:
    match status:
        case OutboxStatus.sending:
            return (
                "This call is being sent to Front right now, and Front cannot change a call "
                "once it has it. Add a status, a summary, a transcript or a recording from "
                "the card instead."
            )
        case OutboxStatus.delivered:
            return (
                "Front has this call now: its number, name, direction, start and teammate "
                "stay as Front received them. Add a status, a summary, a transcript or a "
                "recording from the card."
            )
        case _:
            return (
                "Front refused to create this call: Retry or Discard it from the alert in "
                "the card's thread; it can no longer be edited."
            )


def _locked(session: Session, call: Call) -> tuple[Call, list[OutboxRow]]:
    """The call and its own requests, locked until the edit commits (PostgreSQL: the
    flusher's claim skips locked rows; SQLite: the unit of work holds the write lock)."""
    locked = session.exec(
        select(Call)
        .where(Call.id == call.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    lane = call_lane(root_external_call_id(session, locked))
    rows = session.exec(
        select(OutboxRow)
        .where(OutboxRow.lane == lane)
        .order_by(col(OutboxRow.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    mine = [
        r
        for r in rows
        if (r.path.get("external_call_id") or r.payload.get("external_call_id"))
        == locked.external_call_id
    ]
    return locked, mine


def _seconds(value: timedelta | datetime | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value.timestamp())


def _story_changed(call: Call, draft: CallDraft) -> bool:
    """Whether the form tells another story than the call's statuses do: another outcome,
    or (for a finished call) another start or duration."""
    current = outcome_of(
        call.status, connected=call.connected_at is not None, voicemail=call.voicemail
    )
    if draft.outcome != current:
        return True
    if draft.outcome is None:
        return False
    duration = None
    if call.connected_at is not None and call.ended_at is not None:
        duration = call.ended_at - call.connected_at
    same_duration = _seconds(draft.duration or timedelta(0)) == _seconds(duration or timedelta(0))
    return not same_duration or _seconds(draft.started_at) != _seconds(call.started_at)


def _check_kept(statuses: list[OutboxRow], draft: CallDraft) -> None:
    """Statuses that stay must still follow the new start and the new first status."""
    if not statuses:
        return
    first = Status(str(statuses[0].payload["call_status"]))
    first_at = from_epoch_ms(int(statuses[0].payload["occurred_at"]))
    if draft.started_at > first_at:
        raise InvalidFields(
            {
                "started": f"It became {status_label(first).lower()} at {utc_text(first_at)}: "
                "it started before that."
            }
        )
    if first not in next_statuses(draft.initial_status):
        raise InvalidFields(
            {
                "status": f"It became {status_label(first).lower()} next, which a "
                f"{status_label(draft.initial_status).lower()} call can't."
            }
        )


def edit_call(
    session: Session,
    *,
    team_id: str,
    external_call_id: str,
    expected_version: int,
    draft: CallDraft,
    user_id: str,
) -> Call:
    """Replace what the call's form queued by what `draft` says, while Front has not got it."""
    call, rows = _locked(
        session, get_call(session, team_id=team_id, external_call_id=external_call_id)
    )
    create = next((r for r in rows if r.operation == "create_call"), None)
    if create is None or create.status != OutboxStatus.pending:
        raise NotEditable(why_not(create.status if create is not None else ""))
    if call.version != expected_version:
        raise CallChanged(call)
    rebuild = _story_changed(call, draft)
    if rebuild and legs_after(session, external_call_id=call.external_call_id):
        # Its next leg's create-call waits behind this leg's statuses: they stay in place.
        raise InvalidFields(
            {
                "outcome": "Its next leg is logged, so its outcome, start and duration stay: "
                "correct the rest here, or edit the next leg."
            }
        )
    statuses = [r for r in rows if r.operation == "update_call"]
    if not rebuild:
        _check_kept(statuses, draft)
    summary = next((r for r in rows if r.operation == "add_call_summary"), None)
    gone = [r.id for r in ([summary] if summary else []) + (statuses if rebuild else [])]
    if any(r.status != OutboxStatus.pending for r in rows if r.id in gone):
        raise NotEditable(why_not(OutboxStatus.sending))
    if gone:
        session.execute(
            delete(OutboxRow).where(
                col(OutboxRow.id).in_(gone), col(OutboxRow.status) == OutboxStatus.pending
            )
        )
    call.direction = draft.direction
    call.party_handle, call.party_name = draft.party_handle, draft.party_name
    call.agent_user_id, call.agent_email = draft.agent_user_id, draft.agent_email
    call.started_at, call.updated_at = draft.started_at, utcnow()
    call.version += 1
    if rebuild:
        call.status, call.status_at = draft.initial_status, None
        call.connected_at = call.ended_at = None
    elif not statuses:
        call.status = draft.initial_status
    create.payload = create_call_payload(call, initial_status=draft.initial_status)
    create.updated_at = utcnow()
    session.add_all([call, create])
    if rebuild:
        follow_form(session, call, draft, user_id=user_id)
    elif draft.summary:
        enqueue_for(
            session,
            call,
            operation="add_call_summary",
            payload={"content": draft.summary},
            user_id=user_id,
        )
    if draft.outcome == Outcome.voicemail:
        call.voicemail = True
    queue_card(session, call)
    return call
