"""The HTTP surface: Starlette routes in front of Bolt, health, and Front callbacks."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import slack_requests
from bot.core import callbacks as front_callbacks
from bot.core.uow import in_transaction
from bot.features.admin import front_channels
from bot.features.messages import replies
from bot.ops import metrics
from bot.ops.health import DatabaseState, database_state
from bot.ops.status import ops_routes
from bot.runtime import Runtime

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

# /healthz answers within this even when the database does not (load balancers wait ~2 s).
HEALTH_TIMEOUT_SECONDS = 1.5


def create_web_app(
    runtime: Runtime,
    bolt: AsyncApp,
    *,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
) -> Starlette:
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        # Verified here, before Bolt (whose own check is off): see bot.slack_requests.
        # The answer goes out at ack() (process_before_response=False): this is ack time.
        started = time.perf_counter()
        bodies: list[bytes] = []
        response = await slack_requests.handle(
            handler, request, secret=runtime.settings.signing_secret, seen=bodies.append
        )
        if bodies:  # verified (a refused request is no ack)
            kind = metrics.ack_kind(request.headers.get("content-type", ""), bodies[0])
            metrics.observe_ack(kind, time.perf_counter() - started)
        return response

    async def oauth_pages(request: Request) -> Response:
        # Install and redirect pages: not signed by Slack, Bolt answers them (OAuth only).
        return await handler.handle(request)

    # One check at a time: a database that does not answer holds its worker thread until
    # the driver's own timeouts, and each probe must not hold another.
    checks: list[asyncio.Task[DatabaseState]] = []

    async def healthz(_request: Request) -> Response:
        if not checks or checks[0].done():
            checks[:] = [asyncio.create_task(asyncio.to_thread(database_state, runtime.engine))]
            checks[0].add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            state = await asyncio.wait_for(asyncio.shield(checks[0]), HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            state = DatabaseState(False, runtime.engine.dialect.name, error="TimeoutError")
        if not state.reachable:
            log.warning("health check: database unreachable: %s", state.error)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "database": "ok",
                "migrations": "pending" if state.pending else "current",
                # Which process answered (behind `serve --workers N`, one of several).
                "pid": os.getpid(),
            }
        )

    async def front_webhook(request: Request) -> Response:
        secret = runtime.settings.front_app_secret
        if secret is None:
            return JSONResponse(
                {"type": "bad_request", "message": "FRONT_APP_SECRET is not set"}, status_code=401
            )
        body = await request.body()
        try:
            front_callbacks.verify_signature(
                secret=secret.get_secret_value(),
                timestamp=request.headers.get("x-front-request-timestamp"),
                signature=request.headers.get("x-front-signature"),
                body=body,
            )
            if request.method == "DELETE":
                return JSONResponse({"type": "success"})
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):  # deep nesting overflows the parser
                raise front_callbacks.CallbackRefused(400, "the body is not JSON") from None
            answer = await in_transaction(
                runtime, _front_callback, wake=True, data=data, webhook_url=_webhook_url(request)
            )
        except front_callbacks.CallbackRefused as exc:
            kind = "unauthorized" if exc.status == 401 else "bad_request"
            return JSONResponse({"type": kind, "message": str(exc)}, status_code=exc.status)
        return JSONResponse(answer)

    def _front_callback(session: Session, *, data: Any, webhook_url: str | None) -> dict[str, Any]:
        """Channels (authorized, removed) are the admin feature's; messages are replies."""
        kind, payload = front_callbacks.parse(data)
        if kind in front_channels.TYPES:
            return front_channels.handle(
                session, kind=kind, payload=payload, webhook_url=webhook_url
            )
        if kind in replies.MESSAGE_TYPES:
            return replies.handle(session, kind=kind, data=data).body
        raise front_callbacks.CallbackRefused(400, f"unknown callback type {kind!r}")

    def _webhook_url(request: Request) -> str:
        base = runtime.settings.public_url or str(request.base_url)
        return base.rstrip("/") + "/front/webhook"

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # One pool of connections to Slack's Web API for the server's life (Bolt hands it
        # to each request's client): the views.open right after an ack then reuses a
        # connection instead of opening (and TLS-handshaking) a new one.
        slack_session = aiohttp.ClientSession()
        if bolt.client.session is None:
            bolt.client.session = slack_session
        for hook in on_startup or []:
            await hook()
        try:
            yield
        finally:
            for hook in on_shutdown or []:
                await hook()
            await slack_session.close()

    routes = [
        Route("/slack/events", slack_events, methods=["POST"]),
        # Bolt answers these only when OAuth installs are configured (404 otherwise).
        Route("/slack/install", oauth_pages, methods=["GET"]),
        Route("/slack/oauth_redirect", oauth_pages, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/front/webhook", front_webhook, methods=["POST", "DELETE"]),
        *ops_routes(runtime),  # the status page (/), /metrics
    ]
    return Starlette(routes=routes, lifespan=lifespan)
