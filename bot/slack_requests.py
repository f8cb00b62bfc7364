"""Slack's requests checked at the door, before Bolt (or anything of ours) sees them.

Nothing unverified acts: a request reaches Bolt only once its signature is verified
here (Bolt's own check is turned off), so no listener, middleware or error handler runs
for it and nothing of its body is logged. The checks, in order:

- the headers: `X-Slack-Request-Timestamp` is plain ASCII digits within 5 minutes of
  now (either way), `X-Slack-Signature` is `v0=` and 64 hex digits (401 otherwise);
- the body: at most `MAX_BODY_BYTES`, counted as it arrives (413 above);
- the signature: HMAC-SHA256 of `v0:{timestamp}:{body}`, compared in constant time (401);
- the shape: parseable the way Bolt will parse it, as Slack sends it (form-encoded,
  `payload=<JSON object>`, or a JSON object), else 400.

Refusals are logged as one short line of our own words, never the request's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message

log = logging.getLogger(__name__)

# Slack's largest payloads (a modal's state, a message with its blocks) are far below this.
MAX_BODY_BYTES = 1024 * 1024
MAX_AGE_SECONDS = 300
# `int()` would take " 1", "+1", "1_0" and other scripts' digits: only ASCII digits pass.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class Refused(Exception):
    """The request goes no further; `reason` is our own words, safe to log and answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_headers(
    timestamp: str | None, signature: str | None, *, now: float | None = None
) -> None:
    """Before reading the body: both headers present, well formed, and the time recent."""
    if timestamp is None or signature is None:
        raise Refused(401, "missing signature headers")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "malformed request timestamp")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise Refused(401, "stale request timestamp")
    if not _SIGNATURE.fullmatch(signature):
        raise Refused(401, "malformed signature")


def check_signature(*, secret: str, timestamp: str, signature: str, body: bytes) -> None:
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused(401, "bad signature")


# Slack's payloads nest a dozen levels at most; far deeper is refused before parsing.
MAX_DEPTH = 128


def _too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than `limit`. Checked by a scan, not
    by catching the parser's RecursionError (which can leave CPython's AST state broken)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _json_object(text: str) -> None:
    if _too_deep(text):
        raise Refused(400, "body nests too deep")
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, "body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise Refused(400, "body is not a JSON object")


def check_shape(body: bytes, content_type: str | None) -> None:
    """Refuse what Bolt's `parse_body` would fail on (it would answer 500 with a traceback):
    the same decisions, made here first."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    if not text:
        return
    media_type = content_type.split(";")[0] if content_type else None
    if media_type == "application/json" or text.startswith("{"):
        _json_object(text)
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            _json_object(payload)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a lying or absent Content-Length: stop reading at the cap
            raise Refused(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _replaying(request: Request, body: bytes) -> Request:
    """The same request with its body already read (Bolt reads it again)."""
    receive = request.receive
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # disconnect notices, as before
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, replay)


async def verified(
    request: Request, *, secret: str, seen: Callable[[bytes], None] | None = None
) -> Request:
    """The request, its body read and every check above passed; raises `Refused`."""
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    check_headers(timestamp, signature)
    assert timestamp is not None and signature is not None  # checked just above
    body = await read_body(request)
    check_signature(secret=secret, timestamp=timestamp, signature=signature, body=body)
    check_shape(body, request.headers.get("content-type"))
    if seen is not None:
        seen(body)
    return _replaying(request, body)


async def handle(
    handler: AsyncSlackRequestHandler,
    request: Request,
    *,
    secret: str,
    seen: Callable[[bytes], None] | None = None,
) -> Response:
    """`POST /slack/events`: verified here, then Bolt (`seen` gets the verified body). The
    OAuth routes (GET) are not signed by Slack and go straight to Bolt, which checks their
    `state`."""
    if request.method == "POST":
        try:
            request = await verified(request, secret=secret, seen=seen)
        except Refused as exc:
            log.info("slack request refused (%s): %s", exc.status, exc.reason)
            return PlainTextResponse(exc.reason, status_code=exc.status)
    try:
        return await handler.handle(request)
    except Exception as exc:
        # One line, no traceback at the usual levels: its text could carry the payload's.
        log.error("slack request failed in Bolt: %s", type(exc).__name__)
        log.debug("slack request failure", exc_info=True)
        return PlainTextResponse("internal error", status_code=500)
