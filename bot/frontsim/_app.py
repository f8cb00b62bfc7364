"""The simulator's HTTP surface: the 11 Channel API operations and a `/_sim/` control API.

Each API request goes through the same checks, in the order a gateway would apply
them: route, the company's latency, rate limits (the company's, then the channel's),
credentials, injected fault, body (size, content type, schema), then the state rules
(a call must exist before it is updated, the call lifecycle).

The control API also makes the simulator speak first, as Front does: signed callbacks
to the app's webhook (`/_sim/authorize`, `/_sim/reply`, `/_sim/delete`), and the files
of a reply served at `/download/<id>` to a caller holding the app's credentials.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import anyio
import jwt
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._callbacks import message_callback, post_callback
from ._config import SimConfig
from ._spec import BodyError, SpecOperation, match_route, rebuild_form
from ._state import SimState, StaleRequest

__all__ = ["create_app", "get_state"]

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}
_ATTACHMENT_FIELD = re.compile(r"^attachments\[(\d+)\]$")
# Room for form field names, boundaries and the JSON fields themselves.
_FORM_OVERHEAD = 1024 * 1024


class _TooLarge(Exception):
    pass


def get_state(app: Starlette) -> SimState:
    """The in-process handle on a simulator app, for tests in the same process."""
    state: SimState = app.state.sim
    return state


def _error(
    state: SimState,
    status: int,
    message: str,
    headers: dict[str, str],
    operation: str = "",
    title: str = "",
    channel_id: str | None = None,
) -> JSONResponse:
    title = title or _TITLES.get(status, "Error")
    state.count_answer(status, operation, message, channel_id)
    return JSONResponse(
        {"_error": {"status": status, "title": title, "message": message}},
        status_code=status,
        headers=headers,
    )


def _check_auth(request: Request, config: SimConfig, state: SimState, channel_id: str) -> str:
    """Why the credentials are refused, or "" when they pass. Never echoes them."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return "missing Authorization: Bearer credentials"
    if not config.api_token and not config.app_secret:
        return ""
    if config.api_token and hmac.compare_digest(token.encode(), config.api_token.encode()):
        return ""
    if not config.app_secret:
        return "invalid API token"
    required = ["exp", "iss", "sub"] + (["jti"] if config.reject_reused_jti else [])
    try:
        claims = jwt.decode(
            token,
            config.app_secret,
            algorithms=["HS256"],
            issuer=config.app_uid,
            leeway=config.jwt_leeway_seconds,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        return "token expired"
    except jwt.InvalidIssuerError:
        return "token iss is not this app's uid"
    except jwt.MissingRequiredClaimError as exc:
        return f"token lacks the {exc.claim} claim"
    except jwt.InvalidSignatureError:
        return "token signature does not match the app secret"
    except jwt.DecodeError:
        return "not a valid token" if config.api_token else "not a valid JWT"
    except jwt.InvalidTokenError as exc:
        return f"invalid token ({type(exc).__name__})"
    if claims.get("sub") != channel_id:
        return "token sub is not the channel id in the path"
    if config.reject_reused_jti and not state.check_jti(str(claims["jti"]), claims["exp"]):
        return "token already used (jti seen before)"
    return ""


async def _read_body(
    request: Request, op: SpecOperation, config: SimConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(body, file descriptions) after checking size, content type and the schema."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > config.max_upload_bytes + _FORM_OVERHEAD:
        raise _TooLarge(f"request of {declared} bytes is over {config.max_upload_bytes}")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()

    if media == "application/json" and "application/json" in op.content_types:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise BodyError("body: not valid JSON") from None
        op.validate(body)
        return body, []
    if media == "multipart/form-data" and op.accepts_multipart:
        return await _read_form(request, op, config)
    accepted = " or ".join(
        ["application/json"] * ("application/json" in op.content_types)
        + ["multipart/form-data"] * op.accepts_multipart
    )
    raise BodyError(f"Content-Type: must be {accepted}, not {media or 'missing'}")


async def _read_form(
    request: Request, op: SpecOperation, config: SimConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, UploadFile]] = []
    described: list[dict[str, Any]] = []
    try:
        form_context = request.form(
            max_files=1000, max_fields=1000, max_part_size=config.max_upload_bytes
        )
        async with form_context as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files.append((name, value))
                else:
                    fields.append((name, value))
            total = 0
            for name, upload in files:
                data = await upload.read()
                total += len(data)
                described.append(
                    {
                        "field": name,
                        "filename": upload.filename or "",
                        "content_type": upload.content_type or "",
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
                )
    except HTTPException as exc:
        raise BodyError(f"body: malformed multipart ({exc.detail})") from None
    if total > config.max_upload_bytes:
        raise _TooLarge(f"attachments: {total} bytes in all, over {config.max_upload_bytes}")

    for name, _ in fields:
        if name == "attachments" or name.startswith("attachments["):
            raise BodyError(f"{name}: must be a file, not a text field")
    body = op.coerce_form(rebuild_form(fields))
    check = dict(body)
    if op.name == "add_call_recording":
        # The spec names the one file field plainly `attachments`.
        names = [d["field"] for d in described]
        if names != ["attachments"]:
            raise BodyError(
                "attachments: exactly one file in the `attachments` field is required"
                + (f" (got {', '.join(names)})" if names else "")
            )
        if not described[0]["content_type"].lower().startswith("audio/"):
            raise BodyError(
                f"attachments: must be audio/*, not {described[0]['content_type'] or 'missing'}"
            )
        check["attachments"] = described[0]["filename"]
    else:
        for d in described:
            if not _ATTACHMENT_FIELD.match(d["field"]):
                raise BodyError(f"{d['field']}: unexpected file field, use attachments[N]")
        described.sort(key=lambda d: int(d["field"][len("attachments[") : -1]))
        if described:
            check["attachments"] = [d["filename"] for d in described]
    op.validate(check)
    return body, described


async def _api(request: Request) -> Response:
    state = get_state(request.app)
    try:
        return await _handle(request, state, state.generation)
    except StaleRequest:
        return JSONResponse(
            {"_error": {"status": 503, "title": _TITLES[503], "message": "simulator was reset"}},
            status_code=503,
        )


def _path_channel(raw_path: str) -> str | None:
    # An unknown route under /channels/<id> still belongs to that channel's company.
    parts = raw_path.strip("/").split("/")
    return unquote(parts[1]) if len(parts) > 1 and parts[0] == "channels" and parts[1] else None


async def _handle(request: Request, state: SimState, generation: int) -> Response:
    config = state.config
    raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    op, params, path_known = match_route(request.method, raw_path)
    channel_id = params.pop("channel_id") if op is not None else _path_channel(raw_path)

    latency = state.latency_ms(channel_id)
    if latency > 0:
        await anyio.sleep(latency / 1000.0)

    if op is None:
        _, _, headers = state.take_token(generation, channel_id)
        if path_known:
            return _error(
                state, 405, f"{request.method} is not allowed here", headers, channel_id=channel_id
            )
        return _error(
            state,
            404,
            f"no route for {request.method} {request.url.path}",
            headers,
            channel_id=channel_id,
        )
    assert channel_id is not None  # every operation's path names a channel

    admission = state.admit(channel_id, generation)
    headers = admission.headers
    if not admission.allowed:
        wait = admission.wait
        seconds = max(1, math.ceil(wait))
        # A millisecond value at or under 1000 would read as seconds to a client that
        # guesses the unit, so never send one.
        value = seconds if config.retry_after_unit == "s" else max(1001, math.ceil(wait * 1000))
        scope = (
            "Rate limit exceeded"
            if admission.scope == "company"
            else f"Rate limit exceeded on this channel ({config.resource_rate_per_second:g} "
            "requests per second per resource)"
        )
        return _error(
            state,
            429,
            f"{scope}. Retry in {value} "
            f"{'seconds' if config.retry_after_unit == 's' else 'milliseconds'}",
            {**headers, "retry-after": str(value)},
            op.name,
            channel_id=channel_id,
        )

    if state.refuses_credentials(channel_id):
        # The company no longer accepts this app (uninstalled, secret rotated...).
        return _error(
            state,
            401,
            "credentials refused for this company",
            headers,
            op.name,
            channel_id=channel_id,
        )
    problem = _check_auth(request, config, state, channel_id)
    if problem:
        return _error(state, 401, problem, headers, op.name, channel_id=channel_id)

    fault = state.draw_fault(generation, channel_id)
    if fault is not None and config.error_mode == "before":
        return _error(state, fault, "injected fault", headers, op.name, channel_id=channel_id)

    try:
        body, files = await _read_body(request, op, config)
    except ClientDisconnect:
        # The client gave up (a timeout, typically); nobody is left to answer.
        return Response(status_code=499)
    except BodyError as exc:
        return _error(state, 400, str(exc), headers, op.name, channel_id=channel_id)
    except _TooLarge as exc:
        return _error(state, 413, str(exc), headers, op.name, channel_id=channel_id)

    outcome, seq = state.apply(op.name, channel_id, params, body, files, generation)
    if outcome.status >= 400:
        return _error(
            state,
            outcome.status,
            outcome.message,
            headers,
            op.name,
            outcome.title,
            channel_id=channel_id,
        )
    if fault is not None:
        state.mark_answer(seq, fault)
        return _error(
            state,
            fault,
            "injected fault after processing",
            headers,
            op.name,
            channel_id=channel_id,
        )
    state.count_answer(outcome.status, op.name, channel_id=channel_id)
    if outcome.body is not None:
        return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
    return Response(status_code=outcome.status, headers=headers)


# Control API -----------------------------------------------------------------------------


async def _sim_requests(request: Request) -> Response:
    operation = request.query_params.get("operation")
    return JSONResponse(get_state(request.app).requests(operation))


async def _sim_rejections(request: Request) -> Response:
    return JSONResponse(get_state(request.app).rejections())


async def _sim_stats(request: Request) -> Response:
    return JSONResponse(get_state(request.app).stats())


async def _sim_config(request: Request) -> Response:
    state = get_state(request.app)
    if request.method == "POST":
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of settings")
            state.configure_from(changes)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(state.config.public())


async def _sim_reset(request: Request) -> Response:
    get_state(request.app).reset()
    return Response(status_code=204)


async def _sim_callbacks(request: Request) -> Response:
    return JSONResponse(get_state(request.app).callbacks())


class _ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _control_body(request: Request, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise _ControlError(400, "expected a JSON object") from None
    if not isinstance(data, dict):
        raise _ControlError(400, "expected a JSON object")
    for name in required:
        if not isinstance(data.get(name), str) or not data[name]:
            raise _ControlError(400, f"{name}: a non-empty string is required")
    return data


def _optional_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise _ControlError(400, f"{name}: must be a string")
    return value


async def _send_callback(state: SimState, data: dict[str, Any]) -> Response:
    """POST the callback to the webhook; answer with what the webhook answered."""
    config = state.config
    if not config.webhook_url:
        raise _ControlError(409, "no webhook_url: set one with POST /_sim/config or --webhook-url")
    if not config.app_secret:
        raise _ControlError(409, "no app_secret: Front signs callbacks with the app's secret")
    result = await post_callback(
        config.webhook_url,
        config.app_secret,
        data,
        timestamp_unit=config.callback_timestamp_unit,
        timeout=config.callback_timeout_seconds,
    )
    state.record_callback({"sent_at": time.time(), "callback": data, **result.to_dict()})
    if result.status is None:
        return JSONResponse(
            {"error": f"the webhook did not answer ({result.error})", "callback": data},
            status_code=502,
        )
    answer: dict[str, Any] = {"status": result.status, "body": result.body, "callback": data}
    if result.body is None:
        answer["text"] = result.text
    return JSONResponse(answer)


def _control(
    handler: Callable[[Request, SimState], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A control route whose refusals (`_ControlError`) answer `{"error": ...}`."""

    async def route(request: Request) -> Response:
        try:
            response: Response = await handler(request, get_state(request.app))
        except _ControlError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return response

    return route


async def _sim_authorize(request: Request, state: SimState) -> Response:
    data = await _control_body(request, ("channel_id",))
    callback = {"type": "authorization", "payload": {"channel_id": data["channel_id"]}}
    return await _send_callback(state, callback)


async def _sim_delete(request: Request, state: SimState) -> Response:
    data = await _control_body(request, ("channel_id",))
    callback = {"type": "delete", "payload": {"channel_id": data["channel_id"]}}
    return await _send_callback(state, callback)


async def _sim_reply(request: Request, state: SimState) -> Response:
    data = await _control_body(
        request, ("channel_id", "external_conversation_id", "body", "author_email")
    )
    channel_id, conversation_id = data["channel_id"], data["external_conversation_id"]
    files = data.get("attachments") or []
    if not isinstance(files, list):
        raise _ControlError(400, "attachments: must be a list")
    decoded: list[tuple[str, str, bytes]] = []
    for i, item in enumerate(files):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("filename", "content_type", "content")
        ):
            raise _ControlError(
                400, f"attachments[{i}]: needs filename, content_type and content (base64)"
            )
        try:
            content = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError):
            raise _ControlError(400, f"attachments[{i}].content: not valid base64") from None
        decoded.append((item["filename"], item["content_type"], content))
    autoreply = data.get("autoreply", False)
    if not isinstance(autoreply, bool):
        raise _ControlError(400, "autoreply: must be true or false")
    text = _optional_str(data, "text")
    subject = _optional_str(data, "subject")
    first, last = _optional_str(data, "author_first_name"), _optional_str(data, "author_last_name")

    base = str(request.base_url).rstrip("/")
    attachments = []
    for filename, content_type, content in decoded:
        stored = state.store_attachment(channel_id, filename, content_type, content)
        attachments.append(
            {
                "id": stored.id,
                "url": f"{base}/download/{stored.id}",
                "filename": filename,
                "content_type": content_type,
                "size": len(content),
                "metadata": {"is_inline": False},
            }
        )
    callback = message_callback(
        message_id=None if autoreply else state.next_front_message_id(),
        conversation_id=conversation_id,
        body=data["body"],
        text=text,
        subject=subject,
        author_email=data["author_email"],
        author_first_name=first,
        author_last_name=last,
        contact=state.conversation_contact(channel_id, conversation_id),
        attachments=attachments,
        autoreply=autoreply,
    )
    return await _send_callback(state, callback)


async def _download(request: Request) -> Response:
    """A reply's file, for a caller holding the app's credentials (as Front's are)."""
    state = get_state(request.app)
    stored = state.attachment(request.path_params["attachment_id"])
    channel_id = stored.channel_id if stored is not None else None
    _, _, headers = state.take_token(None, channel_id)
    if stored is None:
        return _error(state, 404, "no such attachment", headers)
    problem = _check_auth(request, state.config, state, stored.channel_id)
    if problem:
        return _error(state, 401, problem, headers, "download", channel_id=channel_id)
    state.count_answer(200, "download", channel_id=channel_id)
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            **headers,
            "content-disposition": f'attachment; filename="{stored.filename}"',
        },
    )


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def create_app(config: SimConfig | None = None) -> Starlette:
    """A Starlette app simulating Front's Channel API; see `SimConfig` for the knobs."""
    app = Starlette(
        routes=[
            Route("/_sim/requests", _sim_requests, methods=["GET"]),
            Route("/_sim/rejections", _sim_rejections, methods=["GET"]),
            Route("/_sim/stats", _sim_stats, methods=["GET"]),
            Route("/_sim/config", _sim_config, methods=["GET", "POST"]),
            Route("/_sim/reset", _sim_reset, methods=["POST"]),
            Route("/_sim/callbacks", _sim_callbacks, methods=["GET"]),
            Route("/_sim/authorize", _control(_sim_authorize), methods=["POST"]),
            Route("/_sim/reply", _control(_sim_reply), methods=["POST"]),
            Route("/_sim/delete", _control(_sim_delete), methods=["POST"]),
            Route("/download/{attachment_id}", _download, methods=["GET"]),
            Route("/{path:path}", _api, methods=_METHODS),
        ]
    )
    app.state.sim = SimState(config or SimConfig())
    return app
