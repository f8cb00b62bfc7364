"""Messages logged into Front conversations: threading, storing, queueing, and what
became of their deliveries. Ids and payloads are built in `drafts`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import front_channels, slack_posts
from bot.core.errors import UserError
from bot.core.links import get_link, require_link, thread_link, tie_thread
from bot.core.mrkdwn import escape
from bot.delivery.outbox import SlackContext, conversation_lane, enqueue
from bot.features.messages.drafts import (
    MAX_REASON,
    PATH_CONVERSATION,
    PATH_MESSAGE,
    PREVIEW,
    SYNC_INBOUND,
    SYNC_OUTBOUND,
    UPDATE_STATUS,
    Contact,
    MessageDraft,
    build_payload,
    check_size,
    conversation_external_id,
    logged_external_id,
    message_external_id,
    ts_value,
)
from storage.models import (
    DeliveryState,
    Direction,
    LoggedMessage,
    OutboxRow,
    ThreadKind,
    utcnow,
)

# Lookups -----------------------------------------------------------------------------


def find(session: Session, *, external_id: str) -> LoggedMessage | None:
    return session.exec(
        select(LoggedMessage).where(LoggedMessage.external_id == external_id)
    ).first()


def find_slack_message(
    session: Session, *, team_id: str, channel_id: str, ts: str
) -> LoggedMessage | None:
    return find(session, external_id=message_external_id(team_id, channel_id, ts))


def find_card(session: Session, *, team_id: str, channel_id: str, ts: str) -> LoggedMessage | None:
    """The message a bot's card (/logmsg) stands for."""
    return session.exec(
        select(LoggedMessage).where(
            LoggedMessage.team_id == team_id,
            LoggedMessage.slack_channel_id == channel_id,
            LoggedMessage.card_ts == ts,
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
        already = already or find_card(session, team_id=team_id, channel_id=channel_id, ts=ts)
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
class LogOutcome:
    message: LoggedMessage
    created: bool  # False: it had been logged before; nothing new was queued
    outbox_id: int | None = None


def log_message(session: Session, *, draft: MessageDraft) -> LogOutcome:
    """Store the message, tie its thread to a conversation, and queue it for Front.

    Logging a message twice returns the first log (`created=False`) and queues nothing.
    Two people logging the same message at once: one insert wins, the other raises
    IntegrityError; the caller runs this again and gets `created=False`.
    """
    external_id = draft.external_id or message_external_id(
        draft.team_id, draft.channel_id, draft.ts
    )
    existing = find(session, external_id=external_id)
    if existing is not None:
        return LogOutcome(existing, created=False)
    check_size(sum(len(f.data) for f in draft.files), draft.body_html)

    link = None
    if draft.root_ts is not None:
        link = thread_link(
            session, team_id=draft.team_id, channel_id=draft.channel_id, thread_ts=draft.root_ts
        )
    if link is not None and link.kind == ThreadKind.conversation:
        conversation_id, front_channel_id = link.external_id, link.front_channel_id
    else:
        front_channel_id = require_link(
            session, team_id=draft.team_id, slack_channel_id=draft.channel_id
        ).front_channel_id
        conversation_id = draft.conversation_id or conversation_external_id(
            draft.team_id, draft.channel_id, draft.root_ts or draft.ts
        )
        if link is None and draft.root_ts is not None:
            tie_thread(
                session,
                team_id=draft.team_id,
                channel_id=draft.channel_id,
                thread_ts=draft.root_ts,
                kind=ThreadKind.conversation,
                external_id=conversation_id,
                front_channel_id=front_channel_id,
            )
        # A call's thread stays tied to its call: messages logged in it still share one
        # conversation (derived from the thread), without a second link.
    if front_channels.is_removed(session, front_channel_id=front_channel_id):
        raise UserError(
            f"Front removed the channel `{escape(front_channel_id)}` this conversation was in: "
            "nothing was logged."
        )

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
        front_channel_id=front_channel_id,
        direction=draft.direction,
        handle=draft.contact.handle,
        name=draft.contact.name,
        email=draft.contact.email,
        subject=draft.subject,
        logged_by=draft.logged_by,
        delivery_state=DeliveryState.queued,
        source=draft.source,
        body_text=draft.body_text[:PREVIEW],
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
    session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.lane)
            == conversation_lane(message.front_channel_id, message.external_conversation_id),
            col(OutboxRow.slack_thread_ts).is_(None),
        )
        .values(slack_thread_ts=message.thread_ts)
    )
    return message


# Slack posts of the messages feature (sent by `bot.features.messages.cards` and `submit`).
LOG = "message.log"
CARD = "message.card"
REACT = "message.react"


def slack_lane(team_id: str, channel_id: str, root: str) -> str:
    """The Slack lane of a thread (or of a /logmsg conversation not yet posted)."""
    return f"thread:{team_id}:{channel_id}:{root}"


def queue_card(session: Session, message: LoggedMessage) -> None:
    """Have a /logmsg message's card show it as it is now (posted if it is not yet)."""
    root = message.thread_ts or message.external_id
    slack_posts.enqueue(
        session,
        team_id=message.team_id,
        lane=slack_lane(message.team_id, message.slack_channel_id, root),
        kind=CARD,
        args={"external_id": message.external_id},
        key=f"card:{message.external_id}",
    )


def queue_reaction(session: Session, message: LoggedMessage) -> None:
    """Front has a message logged with the shortcut: everyone sees it on the message."""
    slack_posts.enqueue(
        session,
        team_id=message.team_id,
        lane=slack_lane(message.team_id, message.slack_channel_id, message.thread_ts or "-"),
        kind=REACT,
        args={"external_id": message.external_id},
        key=f"react:{message.external_id}",
    )


def card_posted(session: Session, *, external_id: str, ts: str) -> LoggedMessage | None:
    """The bot's card for a /logmsg message is in Slack: a new conversation's card becomes
    its thread's root, tied to the conversation (Add message continues it there)."""
    message = find(session, external_id=external_id)
    if message is None or message.card_ts == ts:
        return message
    message.card_ts = ts
    if message.thread_ts is None:
        message.thread_ts = ts
        tie_thread(
            session,
            team_id=message.team_id,
            channel_id=message.slack_channel_id,
            thread_ts=ts,
            kind=ThreadKind.conversation,
            external_id=message.external_conversation_id,
            front_channel_id=message.front_channel_id,
        )
    session.add(message)
    return message
