"""Calls logged from Slack: legs, their lifecycle, and the requests that go to Front.

Every function takes the unit of work's `session` and stores the change together with
the outbox row that tells Front about it. All legs of one call (the first leg and the
legs it was transferred to) share one delivery lane, named after the first leg, so Front
always hears about a parent before its transfer and about a status before the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from bot.core import links
from bot.core.errors import UserError
from bot.delivery.outbox import FileToSend, SlackContext, call_lane, enqueue
from bot.features.calls.legs import (
    CallChanged,
    get_call,
    legs_after,
    root_external_call_id,
)
from bot.features.calls.lifecycle import (
    INITIAL_STATUSES,
    RecordingType,
    Status,
    check_recording,
    epoch_ms,
    is_final,
    next_statuses,
    status_label,
)
from bot.features.calls.posts import queue_card, queue_reminder
from bot.features.calls.timeline import Outcome, check_status_time, statuses_for
from storage.models import Call, DeliveryState, Direction, OutboxRow, utcnow


@dataclass(frozen=True)
class CallDraft:
    """A leg as the person described it, already checked (numbers in E.164). A finished
    call has an `outcome` (and, answered or transferred, the `duration` it was connected);
    without one it is still going, and the card's buttons move it on."""

    direction: Direction
    party_handle: str
    initial_status: Status
    started_at: datetime
    party_name: str | None = None
    agent_user_id: str | None = None
    agent_email: str | None = None
    outcome: Outcome | None = None
    duration: timedelta | None = None
    summary: str | None = None


def create_call_payload(call: Call, *, initial_status: Status | None = None) -> dict[str, Any]:
    """The create-call body, exactly as the spec wants it (by default the call starts in
    its status now: a call just stored)."""
    party: dict[str, Any] = {"handle": call.party_handle}
    if call.party_name:
        party["name"] = call.party_name
    payload: dict[str, Any] = {
        "external_call_id": call.external_call_id,
        "initial_status": initial_status or call.status,
        "direction": call.direction,
        "from" if call.direction == Direction.inbound else "to": party,
        "parent_external_call_id": call.parent_external_call_id,
        "started_at": epoch_ms(call.started_at),
    }
    if call.agent_email:
        payload["agent_email_address"] = call.agent_email
    return payload


def _context(call: Call, user_id: str) -> SlackContext:
    return SlackContext(
        team_id=call.team_id,
        channel_id=call.slack_channel_id,
        thread_ts=call.thread_ts,
        user_id=user_id,
    )


def enqueue_for(
    session: Session,
    call: Call,
    *,
    operation: str,
    payload: dict[str, Any],
    user_id: str,
    files: Sequence[FileToSend] = (),
) -> OutboxRow:
    path = {} if operation == "create_call" else {"external_call_id": call.external_call_id}
    call.delivery_state = DeliveryState.queued
    session.add(call)
    queue_card(session, call)  # it shows "queued for Front"
    return enqueue(
        session,
        operation=operation,
        front_channel_id=call.front_channel_id,
        lane=call_lane(root_external_call_id(session, call)),
        payload=payload,
        context=_context(call, user_id),
        path=path,
        files=files,
    )


def new_leg(
    *,
    team_id: str,
    slack_channel_id: str,
    user_id: str,
    external_call_id: str,
    draft: CallDraft,
    front_channel_id: str = "",
    card_ts: str | None = None,
    thread_ts: str | None = None,
    parent_external_call_id: str | None = None,
) -> Call:
    """A leg as `create_call` stores it (unsaved): also what its first card shows."""
    return Call(
        external_call_id=external_call_id,
        parent_external_call_id=parent_external_call_id or external_call_id,
        team_id=team_id,
        slack_channel_id=slack_channel_id,
        front_channel_id=front_channel_id,
        card_ts=card_ts,
        thread_ts=thread_ts,
        direction=draft.direction,
        party_handle=draft.party_handle,
        party_name=draft.party_name,
        status=draft.initial_status,
        agent_user_id=draft.agent_user_id,
        agent_email=draft.agent_email,
        started_at=draft.started_at,
        created_by=user_id,
    )


def log_call(
    session: Session,
    *,
    team_id: str,
    slack_channel_id: str,
    user_id: str,
    external_call_id: str,
    draft: CallDraft,
    parent_external_call_id: str | None = None,
) -> Call:
    """Store a leg, queue create-call and queue its card, all at once.

    A first leg's card starts a thread tied to the call once it is posted. A transfer leg
    (`parent_…` set) is posted in its parent's thread and goes to the parent's Front
    channel (the Slack channel may have been linked elsewhere since).
    """
    if draft.initial_status not in INITIAL_STATUSES:
        raise UserError("A call starts ringing or queued.")
    thread_ts: str | None = None
    if parent_external_call_id is not None:
        parent = get_call(session, team_id=team_id, external_call_id=parent_external_call_id)
        if parent.status != Status.transferred:
            raise UserError("Only a transferred call has a next leg to log.")
        if legs_after(session, external_call_id=parent.external_call_id):
            raise UserError("This transfer is already logged: its next leg is in the thread.")
        thread_ts = parent.thread_ts or parent.card_ts
        front_channel_id = parent.front_channel_id
        slack_channel_id = parent.slack_channel_id
    else:
        link = links.require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
        front_channel_id = link.front_channel_id
    call = new_leg(
        team_id=team_id,
        slack_channel_id=slack_channel_id,
        front_channel_id=front_channel_id,
        user_id=user_id,
        external_call_id=external_call_id,
        draft=draft,
        thread_ts=thread_ts,
        parent_external_call_id=parent_external_call_id,
    )
    session.add(call)
    session.flush()
    enqueue_for(
        session, call, operation="create_call", payload=create_call_payload(call), user_id=user_id
    )
    follow_form(session, call, draft, user_id=user_id)
    if parent_external_call_id is not None:  # its card drops the "Log transfer" button
        queue_card(
            session, get_call(session, team_id=team_id, external_call_id=parent_external_call_id)
        )
    return call


def status_payload(status: Status, at: datetime, email: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"call_status": status.value, "occurred_at": epoch_ms(at)}
    if email:
        payload["agent_email_address"] = email
    return payload


def _moved(call: Call, status: Status, at: datetime) -> dict[str, Any]:
    """The columns a status changes: the status, its time, the first connection, the end."""
    return {
        "status": status.value,
        "status_at": at,
        "connected_at": call.connected_at or (at if status == Status.connected else None),
        "ended_at": at if is_final(status) else None,
    }


def follow_form(session: Session, call: Call, draft: CallDraft, *, user_id: str) -> None:
    """What the form said happened after the start, queued after its create-call: a
    finished call's statuses at their own times (said by the teammate on it), then its
    summary. A call still going gets its four-hour reminder instead."""
    for status, at in statuses_for(draft.outcome, draft.started_at, draft.duration):
        for name, value in _moved(call, status, at).items():
            setattr(call, name, value)
        call.version += 1
        enqueue_for(
            session,
            call,
            operation="update_call",
            payload=status_payload(status, at, call.agent_email),
            user_id=user_id,
        )
    call.voicemail = draft.outcome == Outcome.voicemail
    session.add(call)
    if draft.summary:
        enqueue_for(
            session,
            call,
            operation="add_call_summary",
            payload={"content": draft.summary},
            user_id=user_id,
        )
    if draft.outcome is None:
        queue_reminder(session, call)


def set_status(
    session: Session,
    *,
    team_id: str,
    external_call_id: str,
    status: str,
    expected_version: int,
    occurred_at: datetime,
    user_id: str,
    email: str | None,
) -> Call:
    """Move the call to `status` if nobody moved it since the card the person clicked on.

    The compare-and-set on `version` makes two clicks on the same card serialise: the
    first wins, the second raises `CallChanged` (its card was out of date), so a call can
    never be pushed through two transitions that each looked valid on their own.
    """
    call = get_call(session, team_id=team_id, external_call_id=external_call_id)
    if call.version != expected_version:
        raise CallChanged(call)
    new = Status(status)
    if new not in next_statuses(call.status):
        raise UserError(
            f"A call that is {status_label(call.status).lower()} can't become "
            f"{status_label(new).lower()}."
        )
    now = utcnow()
    # The form checked the time the person entered; this guard holds for every caller (a
    # button's "now" included), so Front never gets a timeline that runs backwards.
    check_status_time(
        occurred_at,
        started_at=call.started_at,
        previous=Status(call.status),
        previous_at=call.status_at,
        now=now,
    )
    result = session.execute(
        update(Call)
        .where(col(Call.id) == call.id, col(Call.version) == expected_version)
        .values(version=expected_version + 1, updated_at=now, **_moved(call, new, occurred_at))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(call)
        raise CallChanged(call)
    session.refresh(call)
    payload = status_payload(new, occurred_at, email)
    enqueue_for(session, call, operation="update_call", payload=payload, user_id=user_id)
    return call


def add_summary(
    session: Session, *, team_id: str, external_call_id: str, content: str, user_id: str
) -> Call:
    text = content.strip()
    if not text:
        raise UserError("The summary is empty.")
    call = get_call(session, team_id=team_id, external_call_id=external_call_id)
    enqueue_for(
        session, call, operation="add_call_summary", payload={"content": text}, user_id=user_id
    )
    return call


def add_transcript(
    session: Session,
    *,
    team_id: str,
    external_call_id: str,
    lines: Sequence[dict[str, Any]],
    user_id: str,
) -> Call:
    if not lines:
        raise UserError("The transcript has no lines.")
    call = get_call(session, team_id=team_id, external_call_id=external_call_id)
    enqueue_for(
        session,
        call,
        operation="add_call_transcript",
        payload={"lines": [dict(line) for line in lines]},
        user_id=user_id,
    )
    return call


def add_recording(
    session: Session,
    *,
    team_id: str,
    external_call_id: str,
    recording_type: str,
    file: FileToSend,
    user_id: str,
) -> Call:
    check_recording(file.filename, file.content_type)
    call = get_call(session, team_id=team_id, external_call_id=external_call_id)
    if recording_type == RecordingType.voicemail and call.status == Status.missed:
        call.voicemail = True  # its outcome reads "Voicemail left"
    enqueue_for(
        session,
        call,
        operation="add_call_recording",
        payload={"recording_type": RecordingType(recording_type).value},
        user_id=user_id,
        files=[file],
    )
    return call
