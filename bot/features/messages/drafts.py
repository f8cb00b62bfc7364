"""A message as it goes to Front: its stable ids, its contact (checked), and the request
body the spec wants. Pure functions: no session, no Slack.

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
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email

from bot.core.errors import InvalidFields, UserError
from bot.core.phones import normalise_handle
from bot.delivery.outbox import FileToSend
from storage.models import Direction

MAX_EXTERNAL_ID = 200
# Front refuses a request over 25 MB, files and form fields together; the margin covers
# the form fields beside the body (names, ids, contact).
MAX_REQUEST_BYTES = 25 * 1024 * 1024
_FORM_MARGIN = 16 * 1024
MAX_REASON = 1000
MAX_SUBJECT = 998
PREVIEW = 1000

SYNC_INBOUND = "sync_inbound_message"
SYNC_OUTBOUND = "sync_outbound_message"
UPDATE_STATUS = "update_external_message_status"
# Path parameters of update_external_message_status, named as the spec (and the client's
# generic `call`) name them.
PATH_CONVERSATION = "conv_ext_id"
PATH_MESSAGE = "message_ext_id"


class Source(StrEnum):
    shortcut = "shortcut"  # a Slack message, logged as it is
    logmsg = "logmsg"  # a message from elsewhere; the bot's card stands for it
    capture = "capture"  # a Slack message logged by auto-capture (no reaction, no card)


class FilesTooLarge(UserError):
    def __init__(self, total: int) -> None:
        super().__init__(
            f"The files come to {total / 2**20:.1f} MB; Front takes at most "
            f"{MAX_REQUEST_BYTES / 2**20:.0f} MB in one message."
        )
        self.total = total


def _bounded(value: str) -> str:
    """`value` if it fits Front's 200 characters, else a stable shortened form of it."""
    if len(value) <= MAX_EXTERNAL_ID:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"{value[: MAX_EXTERNAL_ID - len(digest) - 1]}~{digest}"


def message_external_id(team_id: str, channel_id: str, ts: str) -> str:
    return _bounded(f"slack:{team_id}:{channel_id}:{ts}")


def new_logmsg_ids(team_id: str, channel_id: str) -> tuple[str, str]:
    """(message, conversation) external ids for a message logged with /logmsg, made once
    when it is submitted: stored with it, they make its delivery idempotent."""
    token = f"logmsg-{uuid.uuid4().hex[:16]}"
    return (
        message_external_id(team_id, channel_id, token),
        conversation_external_id(team_id, channel_id, token),
    )


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


@dataclass(frozen=True)
class MessageDraft:
    """A message to log, as the person confirmed it in the modal."""

    team_id: str
    channel_id: str
    # The Slack message's ts; for /logmsg (the bot's card stands for the message, posted
    # after it is stored), when it was logged, in the same form: it orders the thread.
    ts: str
    # The thread's root (== ts for a message that starts a thread); None for /logmsg's new
    # conversation, whose card becomes its root once posted.
    root_ts: str | None
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
    files: Sequence[FileToSend] = field(default=())
    # /logmsg: ids made when it was submitted (a Slack message's come from its ts).
    external_id: str | None = None
    conversation_id: str | None = None


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


def logged_external_id(operation: str, payload: dict[str, Any], path: dict[str, Any]) -> str | None:
    """The logged message an outbox row is about, or None for other rows."""
    if operation in (SYNC_INBOUND, SYNC_OUTBOUND):
        value = (payload.get("metadata") or {}).get("external_id")
        return str(value) if value else None
    if operation == UPDATE_STATUS:
        value = path.get(PATH_MESSAGE)
        return str(value) if value else None
    return None
