"""The simulator's `/_sim/` control API (read what it received, change its settings,
reset it) and the routes where it speaks first, as Front does: signed callbacks to the
app's webhook (`/_sim/authorize`, `/_sim/reply`, `/_sim/delete`) and a reply's files at
`/download/<id>`."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._callbacks import message_callback, post_callback
from ._http import check_auth, error, get_state
from ._state import SimState

__all__ = ["control_routes"]


async def _sim_requests(request: Request) -> Response:
    operation = request.query_params.get("operation")
    return JSONResponse(get_state(request.app).requests(operation))


async def _sim_rejections(request: Request) -> Response:
    return JSONResponse(get_state(request.app).rejections())


async def _sim_answers(request: Request) -> Response:
    company = request.query_params.get("company")
    try:
        since = float(request.query_params.get("since", "0"))
    except ValueError:
        return JSONResponse({"error": "since: a UNIX time is required"}, status_code=400)
    return JSONResponse(get_state(request.app).answers(company, since))


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
        return error(state, 404, "no such attachment", headers)
    problem = check_auth(request, state.config, state, stored.channel_id)
    if problem:
        return error(state, 401, problem, headers, "download", channel_id=channel_id)
    state.count_answer(200, "download", channel_id=channel_id)
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            **headers,
            "content-disposition": f'attachment; filename="{stored.filename}"',
        },
    )


def control_routes() -> list[Route]:
    """The control routes, to mount before the Channel API's catch-all route."""
    return [
        Route("/_sim/requests", _sim_requests, methods=["GET"]),
        Route("/_sim/rejections", _sim_rejections, methods=["GET"]),
        Route("/_sim/stats", _sim_stats, methods=["GET"]),
        Route("/_sim/answers", _sim_answers, methods=["GET"]),
        Route("/_sim/config", _sim_config, methods=["GET", "POST"]),
        Route("/_sim/reset", _sim_reset, methods=["POST"]),
        Route("/_sim/callbacks", _sim_callbacks, methods=["GET"]),
        Route("/_sim/authorize", _control(_sim_authorize), methods=["POST"]),
        Route("/_sim/reply", _control(_sim_reply), methods=["POST"]),
        Route("/_sim/delete", _control(_sim_delete), methods=["POST"]),
        Route("/download/{attachment_id}", _download, methods=["GET"]),
    ]
