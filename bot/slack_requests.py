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
    check_fields(parsed)


# Fields Bolt reads before any listener, without looking at their type (its context
# building, its payload helpers and listener matchers): a wrong type there is a 500 with a
# traceback from inside Bolt. Slack always sends them in these shapes.
_IDS = ("enterprise", "team", "user", "channel")  # an id, or an object with a text `id`
_TEXTS = ("type", "subtype", "callback_id", "command", "action_id", "block_id")
_OBJECTS = ("view", "container", "function_data", "state")
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")
_LISTS = ("authorizations", "actions", "response_urls")
_VIEW_TEXTS = (
    *("id", "callback_id", "hash", "private_metadata", "app_installed_team_id"),
    *("team_id", "root_view_id", "previous_view_id"),
)


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def check_fields(payload: dict[str, object], depth: int = 0) -> None:
    """Refuse (400) a payload whose fields Bolt relies on are not of Slack's types."""
    for key in _IDS:
        value = payload.get(key)
        if isinstance(value, dict):
            value = value.get("id")
        if not _text_or_none(value):
            raise Refused(400, f"`{key}` is not an id")
    for key in _TEXTS:
        if not _text_or_none(payload.get(key)):
            raise Refused(400, f"`{key}` is not text")
    for key in _OBJECTS:
        if payload.get(key) is not None and not isinstance(payload.get(key), dict):
            raise Refused(400, f"`{key}` is not an object")
    for key in (*_LISTS, *_NESTED):
        value = payload.get(key)
        items = value if isinstance(value, list) and key in _LISTS else [value]
        if value is None:
            continue
        if key in _LISTS and not isinstance(value, list):
            raise Refused(400, f"`{key}` is not a list")
        for item in items:
            if not isinstance(item, dict):
                raise Refused(400, f"`{key}` holds something that is not an object")
            if depth < 3:
                check_fields(item, depth + 1)
    view = payload.get("view")
    if isinstance(view, dict) and not all(_text_or_none(view.get(k)) for k in _VIEW_TEXTS):
        raise Refused(400, "`view` has a field of the wrong type")
    if depth == 0:
        _check_required(payload, view)


def _has_id(payload: dict[str, object], key: str) -> bool:
    value = payload.get(key)
    return isinstance(value, dict) and isinstance(value.get("id"), str) and bool(value["id"])


def _check_required(payload: dict[str, object], view: object) -> None:
    """What Slack always sends with each kind of request, and listeners read as given."""
    kind = payload.get("type")
    interactive = kind in ("block_actions", "message_action", "shortcut", "view_submission")
    if interactive and not _has_id(payload, "user"):
        raise Refused(400, f"{kind} without its user")
    if kind in ("block_actions", "message_action", "shortcut"):
        if not isinstance(payload.get("trigger_id"), str):
            raise Refused(400, f"{kind} without a trigger_id")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not actions or not isinstance(actions, list) or "action_id" not in actions[0]:
            raise Refused(400, "block_actions without an action")
        if not all(_text_or_none(a.get("value")) for a in actions):  # a button's is text
            raise Refused(400, "an action's value is not text")
    if kind == "message_action":
        message = payload.get("message")
        has_ts = isinstance(message, dict) and isinstance(message.get("ts"), str)
        if not (has_ts and _has_id(payload, "channel") and _has_id(payload, "team")):
            raise Refused(400, "message_action without its message, channel or team")
    if kind in ("view_submission", "view_closed"):
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            raise Refused(400, f"{kind} without a view")
    if kind == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(payload.get("team_id"), str):
            raise Refused(400, "event_callback without its event or team")


# A slash command always carries these (Slack's form fields), non-empty.
COMMAND_FIELDS = ("command", "team_id", "user_id", "channel_id", "trigger_id")


def _check_command(fields: dict[str, str]) -> None:
    if "command" in fields and not all(fields.get(k) for k in COMMAND_FIELDS):
        raise Refused(400, "slash command without its team, user, channel or trigger")


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
    else:
        fields = dict(parse_qsl(text, keep_blank_values=True))
        payload = fields.get("payload") if "payload" in text else None
        if payload is not None:
            _json_object(payload)
        else:
            _check_command(fields)


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
