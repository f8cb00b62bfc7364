"""Auto-capture, as Slack's events arrive (`/switchboard capture on|emoji`).

In a channel that captures, a root message from someone of another organisation (Slack
Connect) is logged as received and its thread becomes the conversation: the customer's
replies follow as received, teammates' as sent. In `emoji` mode a reaction with the
channel's emoji logs the message it is on, as the shortcut would. Edits and deletions
are not synced (Front has no such operation): a logged message's first edit gets a note.

What an event means is decided and stored before Slack gets its ack: these listeners'
middleware runs before Bolt acks an event, and stores the event's key with a
`message.capture` post (in the thread's lane, so a thread keeps its order) in one
transaction. A database that does not answer is a 500: Slack sends the event again. An
event that is not ours goes on to the next listener (calls' file_share, the catch-all).
The post, sent after, gathers what Slack knows (the author, mentions, files) and logs
the message: `capture_posts`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.core import slack_posts
from bot.core.errors import AlreadyHandled
from bot.core.events import key_of, remember
from bot.core.links import CaptureMode, get_link, thread_link
from bot.core.uow import in_transaction, read
from bot.features.messages import service
from bot.features.messages.drafts import ts_value
from bot.runtime import Runtime
from storage.models import CaptureThread, utcnow

log = logging.getLogger(__name__)

CAPTURE = "message.capture"
EDIT_NOTE = "message.edit_note"
# Plain messages, with files, and replies also sent to the channel. Never joins, topics,
# bots' messages or anything else Slack reports as a message.
CAPTURED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
# What a capture post carries of the event's message (the rest is asked of Slack).
FIELDS = ("user", "user_team", "source_team", "team", "ts", "thread_ts", "text", "files")

Next = Callable[[], Awaitable[None]]


def is_person_message(message: dict[str, Any], bot_user_id: str | None = None) -> bool:
    """A message a person wrote (not a bot's, not the app's own, not a join or a topic)."""
    if message.get("subtype") not in CAPTURED_SUBTYPES or message.get("hidden"):
        return False
    if message.get("bot_id") or message.get("bot_profile"):
        return False
    user = message.get("user")
    return bool(user) and user != bot_user_id and bool(message.get("ts"))


def author_is_us(team_id: str, message: dict[str, Any]) -> bool:
    """Slack says the author is of this workspace (else: ask Slack, in the post)."""
    author_team = message.get("user_team") or message.get("team")
    return bool(author_team) and author_team == team_id


def _thread(session: Session, team_id: str, channel: str, root: str) -> CaptureThread | None:
    return session.get(CaptureThread, (team_id, channel, root))


def decide_thread(
    session: Session, *, team_id: str, channel: str, root: str, captured: bool | None
) -> None:
    """Record (or complete) what a thread is; a decision is never undone."""
    row = _thread(session, team_id, channel, root)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    CaptureThread(
                        team_id=team_id, slack_channel_id=channel, thread_ts=root, captured=captured
                    )
                )
                session.flush()
            return
        except IntegrityError:
            row = _thread(session, team_id, channel, root)
            assert row is not None
    if row.captured is None and captured is not None:
        row.captured = captured
        session.add(row)


def _queue(
    session: Session, *, team_id: str, channel: str, root: str, args: dict[str, Any]
) -> None:
    slack_posts.enqueue(
        session,
        team_id=team_id,
        lane=service.slack_lane(team_id, channel, root),
        kind=CAPTURE,
        args={"team_id": team_id, "channel": channel, "root": root, **args},
    )


def store_message(
    session: Session, *, key: str, team_id: str, event: dict[str, Any], enterprise: str | None
) -> bool:
    """A person's message in a channel: queue its capture when the channel captures and
    the message starts or continues a captured thread. False: not ours."""
    channel, ts = str(event["channel"]), str(event["ts"])
    root = str(event.get("thread_ts") or ts)
    link = get_link(session, team_id=team_id, slack_channel_id=channel)
    if link is None or link.capture != CaptureMode.on:
        return False
    if root != ts:
        thread = _thread(session, team_id, channel, root)
        if thread is None:
            # Tied otherwise (a call's thread, a conversation logged by hand), or older
            # than capture: not captured. Else its root was not seen (its event comes
            # later, or was lost): the post reads it from Slack and decides.
            tied = thread_link(session, team_id=team_id, channel_id=channel, thread_ts=root)
            since = link.capture_since.timestamp() if link.capture_since else 0.0
            if tied is not None or ts_value(root) < since:
                return False
        elif thread.captured is False:
            remember(session, key)
            return True
    remember(session, key)
    if root == ts and author_is_us(team_id, event):
        decide_thread(session, team_id=team_id, channel=channel, root=root, captured=False)
        return True
    decide_thread(session, team_id=team_id, channel=channel, root=root, captured=None)
    message = {k: event[k] for k in FIELDS if event.get(k) is not None}
    _queue(
        session,
        team_id=team_id,
        channel=channel,
        root=root,
        args={
            "mode": "auto",
            "ts": ts,
            "message": message,
            "enterprise": enterprise,
            "logged_by": link.capture_by or "capture",
        },
    )
    return True


def store_edit(session: Session, *, key: str, team_id: str, event: dict[str, Any]) -> bool:
    """A logged message was edited: a note in its thread, the first time only."""
    channel = str(event.get("channel") or "")
    inner, before = event.get("message") or {}, event.get("previous_message") or {}
    if not channel or not inner.get("ts") or not inner.get("edited"):
        return False
    if inner.get("text") == before.get("text"):
        return False  # an unfurl, a reply count: not an edit
    link = get_link(session, team_id=team_id, slack_channel_id=channel)
    if link is None or link.capture == CaptureMode.off:
        return False
    message = service.find_slack_message(
        session, team_id=team_id, channel_id=channel, ts=str(inner["ts"])
    )
    if message is None or message.edit_noted_at is not None:
        return False
    remember(session, key)
    message.edit_noted_at = utcnow()
    session.add(message)
    root = str(inner.get("thread_ts") or inner["ts"])
    slack_posts.enqueue(
        session,
        team_id=team_id,
        lane=service.slack_lane(team_id, channel, root),
        kind=EDIT_NOTE,
        args={"channel": channel, "thread_ts": root},
    )
    return True


def _emoji_name(reaction: str) -> str:
    return reaction.split("::", 1)[0]  # `thumbsup::skin-tone-2`


def store_reaction(session: Session, *, key: str, team_id: str, event: dict[str, Any]) -> bool:
    """A reaction with the channel's emoji (`capture emoji`): log the message it is on."""
    item = event.get("item") or {}
    if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
        return False
    channel, ts = str(item["channel"]), str(item["ts"])
    link = get_link(session, team_id=team_id, slack_channel_id=channel)
    if link is None or link.capture != CaptureMode.emoji:
        return False
    if _emoji_name(str(event.get("reaction") or "")) != link.capture_emoji:
        return False
    remember(session, key)
    _queue(
        session,
        team_id=team_id,
        channel=channel,
        root=ts,
        args={"mode": "emoji", "ts": ts, "reactor": str(event.get("user") or "")},
    )
    return True


# Bolt listener middleware: runs before Bolt acks the event ---------------------------


def _event_key(body: dict[str, Any]) -> str | None:
    event_id = body.get("event_id")
    return key_of("event", event_id) if isinstance(event_id, str) and event_id else None


def _enterprise(body: dict[str, Any]) -> str | None:
    value = body.get("enterprise_id")
    return value if isinstance(value, str) and value else None


def capture_mode(session: Session, *, team_id: str, channel: str) -> str:
    link = get_link(session, team_id=team_id, slack_channel_id=channel)
    return link.capture if link is not None else CaptureMode.off


async def _store(runtime: Runtime, fn: Callable[..., bool], *, channel: str, **kwargs: Any) -> bool:
    # Most message events are in channels that do not capture: a read says so without
    # taking SQLite's write lock (every unit of work that may write takes it up front).
    mode = await read(runtime, capture_mode, team_id=kwargs["team_id"], channel=channel)
    if mode == CaptureMode.off:
        return False
    try:
        return await in_transaction(runtime, fn, wake=True, **kwargs)
    except AlreadyHandled:
        return True  # Slack's retry of an event stored before: acked, nothing more


async def take_message(
    body: dict[str, Any], event: dict[str, Any], context: dict[str, Any], next: Next
) -> BoltResponse | None:
    """Ours (stored, then acked by the listener), or on to the next listener."""
    key, team_id = _event_key(body), context.get("team_id")
    if key is None or not isinstance(team_id, str) or not event.get("channel"):
        return None
    runtime: Runtime = context["runtime"]
    channel = str(event["channel"])
    if event.get("subtype") == "message_changed":
        ours = await _store(
            runtime, store_edit, channel=channel, key=key, team_id=team_id, event=event
        )
    elif is_person_message(event, context.get("bot_user_id")):
        ours = await _store(
            runtime,
            store_message,
            channel=channel,
            key=key,
            team_id=team_id,
            event=event,
            enterprise=_enterprise(body),
        )
    else:
        ours = False
    if ours:
        await next()
    return None


async def take_reaction(
    body: dict[str, Any], event: dict[str, Any], context: dict[str, Any], next: Next
) -> BoltResponse | None:
    """Every reaction_added is acked here (nothing else listens to them)."""
    key, team_id = _event_key(body), context.get("team_id")
    channel = (event.get("item") or {}).get("channel")
    if key is not None and isinstance(team_id, str) and isinstance(channel, str):
        await _store(
            context["runtime"],
            store_reaction,
            channel=channel,
            key=key,
            team_id=team_id,
            event=event,
        )
    await next()
    return None


async def stored() -> None:
    """The listener behind the middleware: Bolt acks the event; the work is stored."""
