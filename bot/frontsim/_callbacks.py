"""Callbacks: what Front sends to a channel app's webhook, built and signed as Front does.

Front signs each callback with the app secret: `X-Front-Signature` is
base64(HMAC-SHA256(secret, "<X-Front-Request-Timestamp>:<raw body>")). The simulator
computes it here, independently of the app's own check, so that a disagreement between
the two fails a test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx

__all__ = ["CallbackResult", "message_callback", "post_callback", "sign"]

_TAG = re.compile(r"<[^>]+>")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


@dataclass(frozen=True)
class CallbackResult:
    """What the webhook answered: `status` None when it could not be reached."""

    status: int | None
    body: Any = None
    text: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "text": self.text, "error": self.error}


async def post_callback(
    url: str,
    secret: str,
    data: dict[str, Any],
    *,
    timestamp_unit: Literal["s", "ms"] = "ms",
    timeout: float = 10.0,
) -> CallbackResult:
    """POST one signed callback and read the answer (JSON when it parses)."""
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    now = time.time()
    timestamp = str(int(now * 1000) if timestamp_unit == "ms" else int(now))
    headers = {
        "Content-Type": "application/json",
        "X-Front-Request-Timestamp": timestamp,
        "X-Front-Signature": sign(secret, timestamp, raw),
    }
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, content=raw, headers=headers)
    except httpx.HTTPError as exc:
        return CallbackResult(None, error=f"{type(exc).__name__}: {exc}")
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    return CallbackResult(response.status_code, body, response.text)


def message_callback(
    *,
    message_id: str | None,
    conversation_id: str,
    body: str,
    text: str | None,
    subject: str | None,
    author_email: str,
    author_first_name: str | None,
    author_last_name: str | None,
    contact: dict[str, Any] | None,
    attachments: list[dict[str, Any]],
    autoreply: bool,
) -> dict[str, Any]:
    """A `message` (or `message_autoreply`) callback: a teammate wrote from Front.

    `body` is the message's HTML as Front holds it; `text` defaults to it without tags.
    Auto-replies carry no `id`, as Front's sometimes do not."""
    plain = text if text is not None else html.unescape(_TAG.sub("", body)).strip()
    author_name = " ".join(p for p in (author_first_name, author_last_name) if p)
    recipients: list[dict[str, Any]] = [
        {"handle": author_email, "role": "from", "name": author_name or None}
    ]
    if contact is not None:
        recipients.append(
            {"handle": contact.get("handle"), "role": "to", "name": contact.get("name")}
        )
    payload: dict[str, Any] = {
        "type": "custom",
        "is_inbound": False,
        "is_draft": False,
        "created_at": round(time.time(), 3),
        "blurb": plain[:200],
        "subject": subject,
        "body": body,
        "text": plain,
        "author": {
            "id": "tea_" + hashlib.sha256(author_email.lower().encode()).hexdigest()[:8],
            "email": author_email,
            "username": author_email.split("@", 1)[0],
            "first_name": author_first_name,
            "last_name": author_last_name,
            "is_admin": False,
            "is_available": True,
            "is_blocked": False,
        },
        "recipients": recipients,
        "attachments": attachments,
    }
    if message_id is not None:
        payload = {"id": message_id, **payload}
    return {
        "type": "message_autoreply" if autoreply else "message",
        "payload": payload,
        "metadata": {
            "external_conversation_id": conversation_id,
            "external_conversation_ids": [conversation_id],
        },
    }
