"""Calls logged from Slack: legs, their lifecycle, and the requests that go to Front.

Every function takes the unit of work's `session` and stores the change together with
the outbox row that tells Front about it. All legs of one call (the first leg and the
legs it was transferred to) share one delivery lane, named after the first leg, so Front
always hears about a parent before its transfer and about a status before the next one.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import links
from bot.core.errors import UserError
from bot.delivery.outbox import FileToSend, SlackContext, call_lane, enqueue
from storage.models import (
    Call,
    DeliveryAlertPost,
    OutboxRow,
    OutboxStatus,
    ThreadKind,
    ThreadLink,
    utcnow,
)


class Direction(StrEnum):
    """Front's words; people in Slack see "received" and "placed"."""

    inbound = "inbound"
    outbound = "outbound"


class Status(StrEnum):
    queued = "queued"
    ringing = "ringing"
    connected = "connected"
    hold = "hold"
    hangup = "hangup"
    missed = "missed"
    abandoned = "abandoned"
    transferred = "transferred"


class RecordingType(StrEnum):
    call = "call"
    voicemail = "voicemail"


INITIAL_STATUSES: tuple[Status, ...] = (Status.ringing, Status.queued)

# Front's call lifecycle (its voice channel docs); each tuple is in the order the card
# shows the buttons. A transfer ends the leg: what follows is a new leg (a new call).
LIFECYCLE: dict[Status | None, tuple[Status, ...]] = {
    None: INITIAL_STATUSES,
    Status.queued: (Status.connected, Status.hangup, Status.missed, Status.abandoned),
    Status.ringing: (
        Status.connected,
        Status.queued,
        Status.missed,
        Status.abandoned,
        Status.transferred,
    ),
    Status.connected: (Status.hold, Status.transferred, Status.hangup),
    Status.hold: (Status.connected, Status.transferred, Status.hangup),
    Status.hangup: (),
    Status.missed: (),
    Status.abandoned: (),
    Status.transferred: (),
}


def next_statuses(status: str | None) -> tuple[Status, ...]:
    """The statuses a call in `status` may move to next (none once it has ended)."""
    return LIFECYCLE[Status(status) if status is not None else None]


def is_final(status: str) -> bool:
    return not next_statuses(status)


def new_external_call_id() -> str:
    """Made once per leg, before anything is sent: Front's idempotency key for the call."""
    return f"sb-call-{uuid.uuid4().hex}"


def epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return int(moment.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


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


STATUS_LABELS: dict[str, str] = {
    Status.queued: "Queued",
    Status.ringing: "Ringing",
    Status.connected: "Connected",
    Status.hold: "On hold",
    Status.hangup: "Hung up",
    Status.missed: "Missed",
    Status.abandoned: "Abandoned",
    Status.transferred: "Transferred",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


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


@dataclass(frozen=True)
class Prefill:
    """What `/logcall <text>` typed ahead: the party, their name, the direction."""

    party: str = ""
    name: str = ""
    direction: Direction | None = None


_DIRECTION_WORDS: dict[str, Direction] = {
    **dict.fromkeys(("in", "inbound", "incoming", "received"), Direction.inbound),
    **dict.fromkeys(("out", "outbound", "outgoing", "placed"), Direction.outbound),
}
_PHONE_TOKEN = re.compile(r"^[\d+()./\-]+$")


def parse_logcall_text(text: str) -> Prefill:
    """`+33 6 12 34 56 78 Ada Lovelace out` → the number, the name and outbound.

    The number is the run of phone-like words at the start (people type spaces in
    numbers); failing that, the first word is a handle. What follows is the name; a
    direction word anywhere sets the direction.
    """
    words, direction = [], None
    for word in text.split():
        if word.lower() in _DIRECTION_WORDS:
            direction = _DIRECTION_WORDS[word.lower()]
        else:
            words.append(word)
    count = 0
    while count < len(words) and _PHONE_TOKEN.match(words[count]):
        count += 1
    if count == 0 and words:
        count = 1
    return Prefill(" ".join(words[:count]), " ".join(words[count:]), direction)


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


def create_call(
    session: Session,
    *,
    team_id: str,
    slack_channel_id: str,
    user_id: str,
    external_call_id: str,
    draft: CallDraft,
    card_ts: str,
    parent_external_call_id: str | None = None,
) -> Call:
    """Store a leg, tie its card's thread to it and queue create-call, all at once.

    A first leg's card starts a thread tied to the call. A transfer leg (`parent_…` set)
    is posted in its parent's thread, which stays tied to the first leg.
    """
    if draft.initial_status not in INITIAL_STATUSES:
        raise UserError("A call starts ringing or queued.")
    link = links.require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    thread_ts = card_ts
    if parent_external_call_id is not None:
        parent = get_call(session, team_id=team_id, external_call_id=parent_external_call_id)
        if parent.status != Status.transferred:
            raise UserError("Only a transferred call has a next leg to log.")
        if legs_after(session, external_call_id=parent.external_call_id):
            raise UserError("This transfer is already logged: its next leg is in the thread.")
        thread_ts = parent.thread_ts or parent.card_ts or card_ts
    call = new_leg(
        team_id=team_id,
        slack_channel_id=slack_channel_id,
        front_channel_id=link.front_channel_id,
        user_id=user_id,
        external_call_id=external_call_id,
        draft=draft,
        card_ts=card_ts,
        thread_ts=thread_ts,
        parent_external_call_id=parent_external_call_id,
    )
    session.add(call)
    if parent_external_call_id is None:
        session.add(
            ThreadLink(
                team_id=team_id,
                slack_channel_id=slack_channel_id,
                thread_ts=card_ts,
                kind=ThreadKind.call,
                external_id=external_call_id,
                front_channel_id=link.front_channel_id,
            )
        )
    session.flush()
    _enqueue_for(
        session, call, operation="create_call", payload=create_call_payload(call), user_id=user_id
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


def is_audio(content_type: str | None) -> bool:
    return bool(content_type) and str(content_type).lower().startswith("audio/")


def audio_type(filename: str, content_type: str | None) -> str | None:
    """The audio/* type of a file, from its declared type or else its name; None if not audio.

    Slack sometimes labels audio by container (`video/mp4` for an .m4a, or
    `application/octet-stream`); Front wants `audio/*`.
    """
    if is_audio(content_type):
        return content_type
    guessed, _ = mimetypes.guess_type(filename)
    if is_audio(guessed):
        return guessed
    return None


def check_recording(filename: str, content_type: str | None) -> None:
    if not is_audio(content_type):
        raise UserError(
            f"{filename} is not an audio file ({content_type or 'unknown type'}): "
            "a recording must be audio, such as .mp3, .wav or .m4a."
        )


# The card's view of deliveries ----------------------------------------------------------


class DeliveryState(StrEnum):
    queued = "queued"
    delivered = "delivered"
    failed = "failed"
    discarded = "discarded"


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


def delivery_alert_posted(*, session: Session, row_id: int) -> bool:
    """Whether the failure alert of outbox row `row_id` is in Slack yet (the card links it)."""
    row = session.get(OutboxRow, row_id)
    if row is None or row.alert_id is None:
        return False
    posted = session.exec(
        select(DeliveryAlertPost.id).where(
            DeliveryAlertPost.alert_id == row.alert_id, col(DeliveryAlertPost.ts).is_not(None)
        )
    ).first()
    return posted is not None


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


__all__ = [
    "INITIAL_STATUSES",
    "LIFECYCLE",
    "CallCard",
    "CallChanged",
    "CallDraft",
    "CallNotFound",
    "DeliveryState",
    "Direction",
    "RecordingType",
    "Status",
    "add_recording",
    "audio_type",
    "new_leg",
    "add_summary",
    "add_transcript",
    "call_card",
    "calls_in_thread",
    "check_recording",
    "create_call",
    "create_call_payload",
    "delivery_alert_posted",
    "delivery_state",
    "epoch_ms",
    "from_epoch_ms",
    "get_call",
    "parse_logcall_text",
    "Prefill",
    "is_audio",
    "is_final",
    "legs_after",
    "new_external_call_id",
    "next_statuses",
    "root_external_call_id",
    "set_status",
    "status_label",
    "sync_delivery_state",
]
