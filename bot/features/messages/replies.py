"""Front's `message` callbacks: a teammate answered from Front, in a conversation that
began in Slack (a message card, a captured thread, a call's thread…).

The reply is stored with the callback's answer: as a message of its conversation (the
next message logged there references it) and as the `front.reply` Slack post, which
brings its text and files into the conversation's Slack thread, once, retried until
Slack (and Front, for the files) answers. The post's sending is in `reply_files`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core import slack_posts
from bot.core.callbacks import CallbackRefused, sign, verify_signature
from bot.core.mrkdwn import escape
from bot.core.slack_posts import PostJob
from bot.features.messages import reply_files, service
from bot.features.messages.drafts import PREVIEW
from bot.slack.poster import PostKinds
from storage.models import (
    DeliveryState,
    Direction,
    FrontCallback,
    LoggedMessage,
    ThreadKind,
    ThreadLink,
    utcnow,
)

__all__ = ["REPLY", "CallbackAnswer", "CallbackRefused", "handle", "sign", "verify_signature"]

log = logging.getLogger(__name__)

REPLY = "front.reply"
FRONT = "front"  # `logged_by` and `source` of a message written in Front
MESSAGE_TYPES = frozenset({"message", "message_autoreply", "message_imported"})


@dataclass(frozen=True)
class CallbackAnswer:
    body: dict[str, Any]


def handle(session: Session, *, kind: str, data: dict[str, Any]) -> CallbackAnswer:
    if kind == "message_imported":
        return CallbackAnswer({})
    payload = data.get("payload") or {}
    return _message(session, data, payload, autoreply=kind == "message_autoreply")


def _conversation_id(data: dict[str, Any]) -> str | None:
    metadata = data.get("metadata") or {}
    if metadata.get("external_conversation_id"):
        return str(metadata["external_conversation_id"])
    ids = metadata.get("external_conversation_ids") or []
    return str(ids[0]) if ids else None


def _author(payload: dict[str, Any]) -> str:
    author = payload.get("author") or {}
    name = " ".join(p for p in (author.get("first_name"), author.get("last_name")) if p)
    return name or author.get("email") or author.get("username") or "A teammate"


@dataclass(frozen=True)
class Thread:
    """Where a conversation is in Slack."""

    team_id: str
    channel_id: str
    thread_ts: str
    front_channel_id: str


def thread_of(session: Session, *, conversation_id: str) -> Thread | None:
    """The Slack thread a conversation began in: the thread tied to it, else the thread of
    its first logged message (a conversation inside a call's thread has no tie of its own:
    that thread is tied to the call)."""
    link = session.exec(
        select(ThreadLink).where(
            ThreadLink.kind == ThreadKind.conversation, ThreadLink.external_id == conversation_id
        )
    ).first()
    if link is not None:
        return Thread(link.team_id, link.slack_channel_id, link.thread_ts, link.front_channel_id)
    first = session.exec(
        select(LoggedMessage)
        .where(
            LoggedMessage.external_conversation_id == conversation_id,
            col(LoggedMessage.thread_ts).is_not(None),
        )
        .order_by(col(LoggedMessage.id))
    ).first()
    if first is None or first.thread_ts is None:
        return None
    return Thread(first.team_id, first.slack_channel_id, first.thread_ts, first.front_channel_id)


def _attachments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for raw in payload.get("attachments") or []:
        if not isinstance(raw, dict) or not raw.get("filename"):
            continue
        size = raw.get("size")
        out.append(
            {
                "filename": str(raw["filename"])[:255],
                "url": str(raw.get("url") or ""),
                "content_type": str(raw.get("content_type") or "application/octet-stream"),
                "size": size if isinstance(size, int) and size >= 0 else None,
            }
        )
    return out


def _message(
    session: Session, data: dict[str, Any], payload: dict[str, Any], *, autoreply: bool
) -> CallbackAnswer:
    conversation_id = _conversation_id(data)
    if not conversation_id:
        raise CallbackRefused(400, "metadata.external_conversation_id is missing")
    # Auto-replies may come without an id: derive a stable one from what they carry.
    front_id = str(
        payload.get("id")
        or "auto:"
        + hashlib.sha256(
            f"{conversation_id}:{payload.get('created_at')}:{payload.get('body')}".encode()
        ).hexdigest()[:40]
    )
    external_id = f"front:{front_id}"[:200]
    answer = CallbackAnswer(
        {
            "type": "success",
            "external_id": external_id,
            "external_conversation_id": conversation_id,
        }
    )
    if session.get(FrontCallback, front_id) is not None:
        return answer  # a repeat: its post is queued or done
    seen = FrontCallback(
        front_message_id=front_id,
        external_id=external_id,
        external_conversation_id=conversation_id,
    )
    try:
        with session.begin_nested():
            session.add(seen)
            session.flush()
    except IntegrityError:
        return answer  # the same callback, twice at once: the other one posts it
    thread = thread_of(session, conversation_id=conversation_id)
    if thread is None:
        log.warning("Front message for a conversation with no Slack thread: %s", conversation_id)
        seen.posted_at = utcnow()  # nowhere to post it, now or on a retry
        return answer
    # Front's words are shown as typed: a `<!channel>` or `<@U…>` in them pings nobody.
    plain = (payload.get("text") or payload.get("body") or "").strip()
    who = "Auto-reply" if autoreply else f"*{escape(_author(payload))}*"
    text = f":outbox_tray: {who} replied from Front:\n{escape(plain) or '_(no text)_'}"
    files = _attachments(payload)
    _store(session, thread, conversation_id, external_id, plain, len(files), payload)
    # Posted from the database, retried until Slack has it (and Front gave its files).
    slack_posts.enqueue(
        session,
        team_id=thread.team_id,
        lane=service.slack_lane(thread.team_id, thread.channel_id, thread.thread_ts),
        kind=REPLY,
        args={
            "channel": thread.channel_id,
            "thread_ts": thread.thread_ts,
            "text": text,
            "front_message_id": front_id,
            "front_channel_id": thread.front_channel_id,
            "external_id": external_id,
            "attachments": files,
        },
    )
    return answer


def _store(
    session: Session,
    thread: Thread,
    conversation_id: str,
    external_id: str,
    text: str,
    file_count: int,
    payload: dict[str, Any],
) -> None:
    """The reply as a message of its conversation, sent to its customer: the next message
    logged there references it. Its Slack time is now, until it is posted."""
    if service.find(session, external_id=external_id) is not None:
        return
    logged = service.conversation_messages(session, external_conversation_id=conversation_id)
    last = logged[-1] if logged else None
    to = next(
        (
            r
            for r in payload.get("recipients") or []
            if isinstance(r, dict) and r.get("role") == "to"
        ),
        {},
    )
    session.add(
        LoggedMessage(
            external_id=external_id,
            external_conversation_id=conversation_id,
            referenced_external_id=last.external_id if last else None,
            team_id=thread.team_id,
            slack_channel_id=thread.channel_id,
            slack_ts=f"{time.time():.6f}",
            thread_ts=thread.thread_ts,
            front_channel_id=thread.front_channel_id,
            direction=Direction.outbound,
            handle=(last.handle if last else str(to.get("handle") or "unknown"))[:255],
            name=last.name if last else to.get("name"),
            email=last.email if last else None,
            subject=(str(payload["subject"])[:998] if payload.get("subject") else None),
            logged_by=FRONT,
            delivery_state=DeliveryState.delivered,
            source=FRONT,
            body_text=text[:PREVIEW],
            file_count=file_count,
        )
    )


def record_reply(session: Session, job: PostJob, result: dict[str, Any] | None) -> None:
    """The reply is in Slack (a repeat of the callback posted nothing more); its message
    keeps where it is, so the shortcut on it says it came from Front."""
    seen = session.get(FrontCallback, str(job.args["front_message_id"]))
    if seen is not None:
        seen.posted_at = utcnow()
        session.add(seen)
    ts = (result or {}).get("ts")
    external_id = job.args.get("external_id")
    message = service.find(session, external_id=str(external_id)) if external_id else None
    if message is not None and ts:
        message.card_ts = message.slack_ts = str(ts)
        session.add(message)


def register_posts(kinds: PostKinds) -> None:
    kinds.add(REPLY, reply_files.send_reply, record_reply)
