"""Calls logged from Slack: legs, their lifecycle, and the requests that go to Front.

Every function takes the unit of work's `session` and stores the change together with
the outbox row that tells Front about it. All legs of one call (the first leg and the
legs it was transferred to) share one delivery lane, named after the first leg, so Front
always hears about a parent before its transfer and about a status before the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import links, slack_posts
from bot.core.errors import UserError
from bot.delivery.outbox import FileToSend, SlackContext, call_lane, enqueue
from bot.features.calls.lifecycle import (
    INITIAL_STATUSES,
    RecordingType,
    Status,
    check_recording,
    epoch_ms,
    next_statuses,
    status_label,
)
from storage.models import (
    Call,
    DeliveryState,
    Direction,
    OutboxRow,
    ThreadKind,
    ThreadLink,
    utcnow,
)


class CallNotFound(UserError):
    def __init__(self) -> None:
        super().__init__("I can't find this call any more; it may have been logged elsewhere.")


class CallChanged(UserError):
    """Someone else changed the call first: the person's click was based on an old card."""

    def __init__(self, call: Call) -> None:
        super().__init__(
            f"Someone changed this call to *{status_label(call.status)}* just before you, so "
            "your click was not applied. The card now shows what can happen next."
        )
        self.call = call


@dataclass(frozen=True)
class CallDraft:
    """A leg as the person described it, already checked (numbers in E.164)."""

    direction: Direction
    party_handle: str
    initial_status: Status
    started_at: datetime
    party_name: str | None = None
    agent_user_id: str | None = None
    agent_email: str | None = None


def get_call(session: Session, *, team_id: str, external_call_id: str) -> Call:
    call = session.exec(select(Call).where(Call.external_call_id == external_call_id)).first()
    if call is None or call.team_id != team_id:
        raise CallNotFound()
    return call


def root_external_call_id(session: Session, call: Call) -> str:
    """The first leg of `call`'s chain of transfers (a first leg is its own parent)."""
    seen = {call.external_call_id}
    current = call
    while current.parent_external_call_id not in seen:
        parent = session.exec(
            select(Call).where(Call.external_call_id == current.parent_external_call_id)
        ).first()
        if parent is None:
            break
        seen.add(parent.external_call_id)
        current = parent
    return current.external_call_id


def legs_after(session: Session, *, external_call_id: str) -> list[Call]:
    """The legs a call was transferred to."""
    return list(
        session.exec(
            select(Call).where(
                Call.parent_external_call_id == external_call_id,
                Call.external_call_id != external_call_id,
            )
        )
    )


def create_call_payload(call: Call) -> dict[str, Any]:
    """The create-call body, exactly as the spec wants it."""
    party: dict[str, Any] = {"handle": call.party_handle}
    if call.party_name:
        party["name"] = call.party_name
    payload: dict[str, Any] = {
        "external_call_id": call.external_call_id,
        "initial_status": call.status,
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


# Slack posts of the calls feature (sent by `bot.features.calls.cards`).
CARD = "call.card"
TRANSCRIPT = "call.transcript"
RECORDING = "call.recording"


def slack_lane(session: Session, call: Call) -> str:
    """The Slack lane of a call: its card comes before what is said in its thread."""
    return f"call:{root_external_call_id(session, call)}"


def queue_card(session: Session, call: Call, *, lane: str | None = None) -> None:
    """Have the call's card show the call as it is now: posted if it is not yet, else
    updated; queued once (a pending card post renders whatever is true when it goes).
    In another `lane` (a failure alert's), only an update, after what that lane holds."""
    if lane is None:
        slack_posts.enqueue(
            session,
            team_id=call.team_id,
            lane=slack_lane(session, call),
            kind=CARD,
            args={"external_call_id": call.external_call_id},
            key=f"card:{call.external_call_id}",
        )
        return
    slack_posts.enqueue(
        session,
        team_id=call.team_id,
        lane=lane,
        kind=CARD,
        args={"external_call_id": call.external_call_id, "update_only": True},
        key=f"card:{call.external_call_id}:{lane}",
    )


def tell_about(session: Session, call: Call, *, user: str, text: str) -> None:
    """A word to `user` in the call's thread, after its card (in the call's Slack lane)."""
    slack_posts.tell(
        session,
        team_id=call.team_id,
        user=user,
        text=text,
        channel=call.slack_channel_id,
        thread_ts=call.thread_ts or call.card_ts,
        lane=slack_lane(session, call),
    )


def card_posted(session: Session, *, external_call_id: str, ts: str) -> None:
    """The card is in Slack: a first leg's card starts the thread tied to the call, and
    the call's deliveries learn the thread (a failure alert goes there)."""
    call = session.exec(select(Call).where(Call.external_call_id == external_call_id)).first()
    if call is None or call.card_ts == ts:
        return
    call.card_ts = ts
    if call.parent_external_call_id == call.external_call_id:
        call.thread_ts = ts
        session.add(
            ThreadLink(
                team_id=call.team_id,
                slack_channel_id=call.slack_channel_id,
                thread_ts=ts,
                kind=ThreadKind.call,
                external_id=call.external_call_id,
                front_channel_id=call.front_channel_id,
            )
        )
    session.add(call)
    session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.lane) == call_lane(root_external_call_id(session, call)),
            col(OutboxRow.slack_thread_ts).is_(None),
        )
        .values(slack_thread_ts=call.thread_ts)
    )


def _enqueue_for(
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
    _enqueue_for(
        session, call, operation="create_call", payload=create_call_payload(call), user_id=user_id
    )
    if parent_external_call_id is not None:  # its card drops the "Log transfer" button
        queue_card(
            session, get_call(session, team_id=team_id, external_call_id=parent_external_call_id)
        )
    return call


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
    result = session.execute(
        update(Call)
        .where(col(Call.id) == call.id, col(Call.version) == expected_version)
        .values(status=new.value, version=expected_version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(call)
        raise CallChanged(call)
    session.refresh(call)
    # Front refuses a status before the call's start (a start picked a minute ahead).
    occurred_at = max(occurred_at, call.started_at)
    payload: dict[str, Any] = {"call_status": new.value, "occurred_at": epoch_ms(occurred_at)}
    if email:
        payload["agent_email_address"] = email
    _enqueue_for(session, call, operation="update_call", payload=payload, user_id=user_id)
    return call


def add_summary(
    session: Session, *, team_id: str, external_call_id: str, content: str, user_id: str
) -> Call:
    text = content.strip()
    if not text:
        raise UserError("The summary is empty.")
    call = get_call(session, team_id=team_id, external_call_id=external_call_id)
    _enqueue_for(
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
    _enqueue_for(
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
    _enqueue_for(
        session,
        call,
        operation="add_call_recording",
        payload={"recording_type": RecordingType(recording_type).value},
        user_id=user_id,
        files=[file],
    )
    return call
