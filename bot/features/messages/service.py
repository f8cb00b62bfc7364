"""Messages logged into Front conversations: ids, threading, payloads and their deliveries.

Ids come from Slack and never change, so logging the same thing twice finds the first
log instead of making a second Front message, and every reply in one Slack thread lands
in one Front conversation:
- a message's external id: team, channel and the ts of the Slack message (for `/logmsg`,
  of the bot's card that stands for the message);
- a conversation's external id: team, channel and the ts of the thread's root, unless
  the thread is already tied (ThreadLink) to a conversation, whose id it keeps;
- `referenced_message_external_id`: the conversation's previous logged message (the one
  with the latest Slack ts before this one), so Front shows explicit replies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from bot.core.errors import UserError
from bot.core.links import get_link, require_link
from bot.core.phones import normalise_handle
from bot.delivery.outbox import FileToSend, SlackContext, conversation_lane, enqueue
from storage.models import LoggedMessage, ThreadKind, ThreadLink, utcnow

MAX_EXTERNAL_ID = 200
# Front refuses a request over 25 MB, files and form fields together; the margin covers
# the form fields beside the body (names, ids, contact).
MAX_REQUEST_BYTES = 25 * 1024 * 1024
_FORM_MARGIN = 16 * 1024
MAX_REASON = 1000
MAX_SUBJECT = 998
_PREVIEW = 1000

SYNC_INBOUND = "sync_inbound_message"
SYNC_OUTBOUND = "sync_outbound_message"
UPDATE_STATUS = "update_external_message_status"
# Path parameters of update_external_message_status, named as the spec (and the client's
# generic `call`) name them.
PATH_CONVERSATION = "conv_ext_id"
PATH_MESSAGE = "message_ext_id"


class Direction(StrEnum):
    inbound = "inbound"  # received from the customer
    outbound = "outbound"  # sent to the customer by one of us


class Source(StrEnum):
    shortcut = "shortcut"  # a Slack message, logged as it is
    logmsg = "logmsg"  # a message from elsewhere; the bot's card stands for it


class DeliveryState(StrEnum):
    queued = "queued"
    delivered = "delivered"
    failed = "failed"


class InvalidFields(UserError):
    """Several fields are wrong; `errors` maps a field name to what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class FilesTooLarge(UserError):
    def __init__(self, total: int) -> None:
        super().__init__(
            f"The files come to {total / 2**20:.1f} MB; Front takes at most "
            f"{MAX_REQUEST_BYTES / 2**20:.0f} MB in one message."
        )
        self.total = total


# Ids ---------------------------------------------------------------------------------


def _bounded(value: str) -> str:
    """`value` if it fits Front's 200 characters, else a stable shortened form of it."""
    if len(value) <= MAX_EXTERNAL_ID:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"{value[: MAX_EXTERNAL_ID - len(digest) - 1]}~{digest}"


def message_external_id(team_id: str, channel_id: str, ts: str) -> str:
    return _bounded(f"slack:{team_id}:{channel_id}:{ts}")


def conversation_external_id(team_id: str, channel_id: str, root_ts: str) -> str:
    return _bounded(f"slack-thread:{team_id}:{channel_id}:{root_ts}")


def ts_value(ts: str) -> Decimal:
    """A Slack ts (`"1700000000.000100"`) as a number that orders messages exactly."""
    try:
        value = Decimal(ts)
    except InvalidOperation:
        raise ValueError(f"not a Slack ts: {ts!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a Slack ts: {ts!r}")
    return value


def delivered_at(ts: str) -> int:
    """Front's `delivered_at`: whole seconds (the ts is seconds with microseconds)."""
    return int(ts_value(ts))


# Contacts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    handle: str
    name: str | None = None
    email: str | None = None

    def as_payload(self) -> dict[str, str]:
        out = {"handle": self.handle}
        if self.name:
            out["name"] = self.name
        if self.email:
            out["email"] = self.email
        return out


def normalise_email(text: str | None) -> str | None:
    """A syntactically valid address, or None when empty; UserError says what is wrong."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        # No DNS lookup: this runs inside Slack's 3 s, and the address is only a hint.
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise UserError(f"`{value[:60]}` is not an email address ({exc}).") from None


def check_contact(
    *, handle: str | None, name: str | None, email: str | None, region: str
) -> Contact:
    """The contact typed in a modal, normalised; InvalidFields names each bad field."""
    errors: dict[str, str] = {}
    clean_handle = ""
    clean_email: str | None = None
    try:
        clean_email = normalise_email(email)
    except UserError as exc:
        errors["email"] = str(exc)
    raw = (handle or "").strip() or (clean_email or "")
    try:
        clean_handle = normalise_handle(raw, region)
    except UserError as exc:
        errors["handle"] = str(exc)
    if errors:
        raise InvalidFields(errors)
    return Contact(handle=clean_handle, name=(name or "").strip()[:255] or None, email=clean_email)


def check_size(files_total: int, body: str) -> None:
    """Raise FilesTooLarge unless the files and the body fit in one request to Front."""
    if files_total and files_total + len(body.encode()) + _FORM_MARGIN > MAX_REQUEST_BYTES:
        raise FilesTooLarge(files_total)


# Lookups -----------------------------------------------------------------------------


def find(session: Session, *, external_id: str) -> LoggedMessage | None:
    return session.exec(
        select(LoggedMessage).where(LoggedMessage.external_id == external_id)
    ).first()


def find_slack_message(
    session: Session, *, team_id: str, channel_id: str, ts: str
) -> LoggedMessage | None:
    return find(session, external_id=message_external_id(team_id, channel_id, ts))


def thread_link(
    session: Session, *, team_id: str, channel_id: str, thread_ts: str
) -> ThreadLink | None:
    return session.exec(
        select(ThreadLink).where(
            ThreadLink.team_id == team_id,
            ThreadLink.slack_channel_id == channel_id,
            ThreadLink.thread_ts == thread_ts,
        )
    ).first()


def conversation_messages(
    session: Session, *, external_conversation_id: str
) -> list[LoggedMessage]:
    return list(
        session.exec(
            select(LoggedMessage)
            .where(LoggedMessage.external_conversation_id == external_conversation_id)
            .order_by(LoggedMessage.id)  # type: ignore[arg-type]
        )
    )


@dataclass(frozen=True)
class ThreadInfo:
    """What a Slack thread already is in Front, for pre-filling a modal."""

    can_log: bool  # the channel is connected to Front, or the thread is a conversation
    external_conversation_id: str | None = None  # set when the thread is a conversation
    contact: Contact | None = None  # the customer of its last logged message
    already: LoggedMessage | None = None  # the message itself, when it was logged


def thread_info(
    session: Session, *, team_id: str, channel_id: str, root_ts: str, ts: str | None = None
) -> ThreadInfo:
    linked = get_link(session, team_id=team_id, slack_channel_id=channel_id) is not None
    already = None
    if ts is not None:
        already = find_slack_message(session, team_id=team_id, channel_id=channel_id, ts=ts)
    link = thread_link(session, team_id=team_id, channel_id=channel_id, thread_ts=root_ts)
    if link is None or link.kind != ThreadKind.conversation:
        return ThreadInfo(can_log=linked, already=already)
    logged = conversation_messages(session, external_conversation_id=link.external_id)
    contact = None
    if logged:
        last = logged[-1]
        contact = Contact(handle=last.handle, name=last.name, email=last.email)
    return ThreadInfo(
        # A conversation keeps its Front channel even if the Slack channel was unlinked since.
        can_log=True,
        external_conversation_id=link.external_id,
        contact=contact,
        already=already,
    )


def _previous(session: Session, *, external_conversation_id: str, ts: str) -> LoggedMessage | None:
    """The conversation's logged message with the latest Slack ts before `ts`."""
    here = ts_value(ts)
    best: LoggedMessage | None = None
    for msg in conversation_messages(session, external_conversation_id=external_conversation_id):
        if msg.slack_ts is None or ts_value(msg.slack_ts) >= here:
            continue
        if best is None or ts_value(msg.slack_ts) > ts_value(best.slack_ts or "0"):
            best = msg
    return best


# Logging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageDraft:
    """A message to log, as the person confirmed it in the modal."""

    team_id: str
    channel_id: str
    ts: str  # the Slack message, or the bot's card standing for it
    root_ts: str  # the thread's root (== ts for a message that starts a thread)
    direction: Direction
    contact: Contact
    body_html: str
    body_text: str  # plain text for cards
    logged_by: str  # Slack user id
    source: Source
    subject: str | None = None
    # Outbound only: who sent it. `author_email` becomes `author_id` (see `_author_id`).
    sender_name: str | None = None
    author_email: str | None = None
    card_ts: str | None = None
    files: Sequence[FileToSend] = field(default=())


@dataclass(frozen=True)
class LogOutcome:
    message: LoggedMessage
    created: bool  # False: it had been logged before; nothing new was queued
    outbox_id: int | None = None


def _author_id(email: str | None) -> str | None:
    """Front's teammate alias for the sender.

    The Channel API cannot list Front's teammates, so we cannot check that an address
    belongs to one: we rely on teams using the same work email in Slack and Front, and
    send the Slack profile's email as `alt:email:<email>`.
    """
    return f"alt:email:{email}" if email else None


def build_payload(
    draft: MessageDraft, *, external_id: str, conversation_id: str, referenced: str | None
) -> dict[str, Any]:
    """The request body exactly as the spec's InboundMessage / OutboundMessage want it."""
    metadata: dict[str, str] = {
        "external_id": external_id,
        "external_conversation_id": conversation_id,
    }
    if referenced:
        metadata["referenced_message_external_id"] = referenced
    payload: dict[str, Any] = {}
    if draft.direction == Direction.inbound:
        payload["sender"] = draft.contact.as_payload()
    else:
        payload["to"] = [draft.contact.as_payload()]
        if draft.sender_name:
            payload["sender_name"] = draft.sender_name
        author = _author_id(draft.author_email)
        if author:
            payload["author_id"] = author
    if draft.subject:
        payload["subject"] = draft.subject
    payload["body"] = draft.body_html
    payload["metadata"] = metadata
    payload["delivered_at"] = delivered_at(draft.ts)
    return payload


def log_message(session: Session, *, draft: MessageDraft) -> LogOutcome:
    """Store the message, tie its thread to a conversation, and queue it for Front.

    Logging a message twice returns the first log (`created=False`) and queues nothing.
    Two people logging the same message at once: one insert wins, the other raises
    IntegrityError; the caller runs this again and gets `created=False`.
    """
    external_id = message_external_id(draft.team_id, draft.channel_id, draft.ts)
    existing = find(session, external_id=external_id)
    if existing is not None:
        return LogOutcome(existing, created=False)
    check_size(sum(len(f.data) for f in draft.files), draft.body_html)

    link = thread_link(
        session, team_id=draft.team_id, channel_id=draft.channel_id, thread_ts=draft.root_ts
    )
    if link is not None and link.kind == ThreadKind.conversation:
        conversation_id, front_channel_id = link.external_id, link.front_channel_id
    else:
        front_channel_id = require_link(
            session, team_id=draft.team_id, slack_channel_id=draft.channel_id
        ).front_channel_id
        conversation_id = conversation_external_id(draft.team_id, draft.channel_id, draft.root_ts)
        if link is None:
            session.add(
                ThreadLink(
                    team_id=draft.team_id,
                    slack_channel_id=draft.channel_id,
                    thread_ts=draft.root_ts,
                    kind=ThreadKind.conversation,
                    external_id=conversation_id,
                    front_channel_id=front_channel_id,
                )
            )
        # A call's thread stays tied to its call: messages logged in it still share one
        # conversation (derived from the thread), without a second link.

    previous = _previous(session, external_conversation_id=conversation_id, ts=draft.ts)
    referenced = previous.external_id if previous else None
    payload = build_payload(
        draft, external_id=external_id, conversation_id=conversation_id, referenced=referenced
    )
    message = LoggedMessage(
        external_id=external_id,
        external_conversation_id=conversation_id,
        referenced_external_id=referenced,
        team_id=draft.team_id,
        slack_channel_id=draft.channel_id,
        slack_ts=draft.ts,
        thread_ts=draft.root_ts,
        card_ts=draft.card_ts,
        front_channel_id=front_channel_id,
        direction=draft.direction,
        handle=draft.contact.handle,
        name=draft.contact.name,
        email=draft.contact.email,
        subject=draft.subject,
        logged_by=draft.logged_by,
        delivery_state=DeliveryState.queued,
        source=draft.source,
        body_text=draft.body_text[:_PREVIEW],
        file_count=len(draft.files),
    )
    session.add(message)
    session.flush()  # the unique external id is checked here, before anything is queued
    row = enqueue(
        session,
        operation=SYNC_INBOUND if draft.direction == Direction.inbound else SYNC_OUTBOUND,
        front_channel_id=front_channel_id,
        lane=conversation_lane(front_channel_id, conversation_id),
        payload=payload,
        context=SlackContext(
            team_id=draft.team_id,
            channel_id=draft.channel_id,
            thread_ts=draft.root_ts,
            user_id=draft.logged_by,
        ),
        files=draft.files,
    )
    return LogOutcome(message, created=True, outbox_id=row.id)


def mark_failed(
    session: Session, *, team_id: str, external_id: str, reason: str, user_id: str
) -> LoggedMessage:
    """Tell Front an outbound message never reached the customer (Front reopens the
    conversation), after the message itself, in its conversation's lane."""
    # Locked: two clicks at once (PostgreSQL) would both see it unmarked and queue twice.
    message = session.exec(
        select(LoggedMessage).where(LoggedMessage.external_id == external_id).with_for_update()
    ).first()
    if message is None or message.team_id != team_id:
        raise UserError("Switchboard has no record of this message any more.")
    if message.direction != Direction.outbound:
        raise UserError("Only messages sent to a customer can be marked as failed.")
    if message.marked_failed_at is not None:
        raise UserError(f"<@{message.marked_failed_by}> already marked this message as failed.")
    text = reason.strip()[:MAX_REASON]
    message.marked_failed_at = utcnow()
    message.marked_failed_by = user_id
    message.failed_reason = text or None
    session.add(message)
    payload: dict[str, str] = {"status": "failed"}
    if text:
        payload["reason"] = text
    enqueue(
        session,
        operation=UPDATE_STATUS,
        front_channel_id=message.front_channel_id,
        lane=conversation_lane(message.front_channel_id, message.external_conversation_id),
        payload=payload,
        path={PATH_CONVERSATION: message.external_conversation_id, PATH_MESSAGE: external_id},
        context=SlackContext(
            team_id=team_id,
            channel_id=message.slack_channel_id,
            thread_ts=message.thread_ts,
            user_id=user_id,
        ),
    )
    return message


def logged_external_id(operation: str, payload: dict[str, Any], path: dict[str, Any]) -> str | None:
    """The logged message an outbox row is about, or None for other rows."""
    if operation in (SYNC_INBOUND, SYNC_OUTBOUND):
        value = (payload.get("metadata") or {}).get("external_id")
        return str(value) if value else None
    if operation == UPDATE_STATUS:
        value = path.get(PATH_MESSAGE)
        return str(value) if value else None
    return None


def record_delivery(
    session: Session,
    *,
    operation: str,
    payload: dict[str, Any],
    path: dict[str, Any],
    delivered: bool,
    message_uid: str | None = None,
) -> LoggedMessage | None:
    """Note what became of a message's delivery; returns the message (None: not ours)."""
    external_id = logged_external_id(operation, payload, path)
    if external_id is None:
        return None
    message = find(session, external_id=external_id)
    if message is None:
        return None
    if operation in (SYNC_INBOUND, SYNC_OUTBOUND):
        message.delivery_state = DeliveryState.delivered if delivered else DeliveryState.failed
        if message_uid:
            message.message_uid = message_uid
        session.add(message)
    return message


__all__ = [
    "Contact",
    "DeliveryState",
    "Direction",
    "FilesTooLarge",
    "InvalidFields",
    "LogOutcome",
    "MessageDraft",
    "Source",
    "ThreadInfo",
    "build_payload",
    "check_contact",
    "check_size",
    "conversation_external_id",
    "delivered_at",
    "find",
    "find_slack_message",
    "log_message",
    "logged_external_id",
    "mark_failed",
    "message_external_id",
    "normalise_email",
    "record_delivery",
    "thread_info",
    "thread_link",
]
