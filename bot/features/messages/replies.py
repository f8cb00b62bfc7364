"""Callbacks from Front (the two-way bridge): a teammate answered from Front.

Front POSTs to our webhook; we check its signature, answer quickly and idempotently
(how long Front waits, and whether it retries, is not documented): a reply is stored
with the answer and posted into its Slack thread from the database (`front.reply`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bot.core import slack_posts
from bot.core.mrkdwn import escape
from bot.core.slack_posts import PostJob
from bot.slack.poster import PostContext, PostKinds
from storage.models import FrontCallback, ThreadKind, ThreadLink, utcnow

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 300


class CallbackRefused(Exception):
    """The request is not one we accept; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def verify_signature(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
) -> None:
    """base64(HMAC-SHA256(secret, "<timestamp>:<body>")), timestamp within 5 minutes of
    now, either side (a callback dated ahead is as suspect as an old one)."""
    if not timestamp or not signature:
        raise CallbackRefused(401, "missing X-Front-Signature or X-Front-Request-Timestamp")
    # Plain ASCII digits only: float() takes "nan" (no comparison with it is true, so it
    # would pass any age check), "inf", "1e9", "+1", "1_0".
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 16):
        raise CallbackRefused(401, "bad X-Front-Request-Timestamp")
    ts = float(int(timestamp))
    if ts > 1e11:  # the unit is not documented: accept milliseconds too
        ts /= 1000
    now = time.time() if now is None else now
    if not abs(now - ts) <= MAX_AGE_SECONDS:  # written to fail closed, should a NaN get here
        raise CallbackRefused(401, "stale request timestamp")
    expected = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).digest()
    )
    # As bytes: compare_digest refuses str with non-ASCII characters (a header can carry them).
    if not hmac.compare_digest(expected, signature.encode()):
        raise CallbackRefused(401, "bad signature")


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    """What Front sends in X-Front-Signature (used by the simulator and tests)."""
    return base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).digest()
    ).decode()


REPLY = "front.reply"


@dataclass(frozen=True)
class CallbackAnswer:
    body: dict[str, Any]


def handle(session: Session, *, data: Any, webhook_url: str | None) -> CallbackAnswer:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise CallbackRefused(400, "expected a JSON object with a `type`")
    kind = data["type"]
    payload = data.get("payload") or {}
    if kind == "authorization":
        log.info("Front connected channel %s", payload.get("channel_id"))
        answer: dict[str, Any] = {"type": "success"}
        if webhook_url:
            answer["webhook_url"] = webhook_url
        return CallbackAnswer(answer)
    if kind in ("message", "message_autoreply"):
        return _message(session, data, payload, autoreply=kind == "message_autoreply")
    if kind == "message_imported":
        return CallbackAnswer({})
    if kind == "delete":
        log.info("Front removed channel %s", payload.get("channel_id"))
        return CallbackAnswer({"type": "success"})
    raise CallbackRefused(400, f"unknown callback type {kind!r}")


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
    answer = {
        "type": "success",
        "external_id": external_id,
        "external_conversation_id": conversation_id,
    }
    if session.get(FrontCallback, front_id) is not None:
        return CallbackAnswer(answer)  # a repeat: its post is queued or done
    seen = FrontCallback(
        front_message_id=front_id,
        external_id=external_id,
        external_conversation_id=conversation_id,
    )
    session.add(seen)
    link = session.exec(
        select(ThreadLink).where(
            ThreadLink.kind == ThreadKind.conversation, ThreadLink.external_id == conversation_id
        )
    ).first()
    if link is None:
        log.warning("Front message for a conversation with no Slack thread: %s", conversation_id)
        seen.posted_at = utcnow()  # nowhere to post it, now or on a retry
        return CallbackAnswer(answer)
    # Front's words are shown as typed: a `<!channel>` or `<@U…>` in them pings nobody.
    text = escape((payload.get("text") or payload.get("body") or "").strip())
    files = [
        escape(str(a["filename"])) for a in payload.get("attachments") or [] if a.get("filename")
    ]
    who = "Auto-reply" if autoreply else f"*{escape(_author(payload))}*"
    lines = [f":outbox_tray: {who} replied from Front:", text or "_(no text)_"]
    if files:
        lines.append("Attachments (in Front): " + ", ".join(files))
    # Stored with the callback's answer: posted from the database, retried until Slack has it.
    slack_posts.enqueue(
        session,
        team_id=link.team_id,
        lane=f"thread:{link.team_id}:{link.slack_channel_id}:{link.thread_ts}",
        kind=REPLY,
        args={
            "channel": link.slack_channel_id,
            "thread_ts": link.thread_ts,
            "text": "\n".join(lines),
            "front_message_id": front_id,
        },
    )
    return CallbackAnswer(answer)


async def send_reply(ctx: PostContext) -> None:
    args = ctx.args
    await ctx.client.chat_postMessage(
        channel=args["channel"], thread_ts=args["thread_ts"], text=args["text"]
    )


def record_reply(session: Session, job: PostJob, _result: None) -> None:
    """The reply is in Slack (a repeat of the callback posted nothing more)."""
    seen = session.get(FrontCallback, str(job.args["front_message_id"]))
    if seen is not None:
        seen.posted_at = utcnow()
        session.add(seen)


def register_posts(kinds: PostKinds) -> None:
    kinds.add(REPLY, send_reply, record_reply)
