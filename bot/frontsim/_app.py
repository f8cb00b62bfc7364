"""The simulator's HTTP surface: the 11 Channel API operations, beside the `/_sim/`
control API (`_control`).

Each API request goes through the same checks, in the order a gateway would apply
them: route, the company's latency, rate limits (the company's, then the channel's),
credentials, injected fault, body (size, content type, schema; `_body`), then the state
rules (a call must exist before it is updated, the call lifecycle; `_operations`).
"""

from __future__ import annotations

import math
from urllib.parse import unquote

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._body import TooLarge, read_body
from ._config import SimConfig
from ._control import control_routes
from ._http import TITLES, check_auth, error, get_state
from ._spec import BodyError, match_route
from ._state import SimState, StaleRequest

__all__ = ["create_app", "get_state"]


async def _api(request: Request) -> Response:
    state = get_state(request.app)
    try:
        return await _handle(request, state, state.generation)
    except StaleRequest:
        return JSONResponse(
            {"_error": {"status": 503, "title": TITLES[503], "message": "simulator was reset"}},
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
            return error(
                state, 405, f"{request.method} is not allowed here", headers, channel_id=channel_id
            )
        return error(
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
        return error(
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
        return error(
            state,
            401,
            "credentials refused for this company",
            headers,
            op.name,
            channel_id=channel_id,
        )
    problem = check_auth(request, config, state, channel_id)
    if problem:
        return error(state, 401, problem, headers, op.name, channel_id=channel_id)

    fault = state.draw_fault(generation, channel_id)
    if fault is not None and config.error_mode == "before":
        return error(state, fault, "injected fault", headers, op.name, channel_id=channel_id)

    try:
        body, files = await read_body(request, op, config)
    except ClientDisconnect:
        # The client gave up (a timeout, typically); nobody is left to answer.
        return Response(status_code=499)
    except BodyError as exc:
        return error(state, 400, str(exc), headers, op.name, channel_id=channel_id)
    except TooLarge as exc:
        return error(state, 413, str(exc), headers, op.name, channel_id=channel_id)

    outcome, seq = state.apply(op.name, channel_id, params, body, files, generation)
    if outcome.status >= 400:
        return error(
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
        return error(
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


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def create_app(config: SimConfig | None = None) -> Starlette:
    """A Starlette app simulating Front's Channel API; see `SimConfig` for the knobs."""
    app = Starlette(routes=[*control_routes(), Route("/{path:path}", _api, methods=_METHODS)])
    app.state.sim = SimState(config or SimConfig())
    return app
