"""The HTTP surface: Starlette routes in front of Bolt, health, and Front callbacks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.runtime import Runtime
from storage import migrate
from storage.engine import ping

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


def create_web_app(
    runtime: Runtime,
    bolt: AsyncApp,
    *,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
) -> Starlette:
    handler = AsyncSlackRequestHandler(bolt)
    context = {"runtime": runtime}

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request, context)

    async def healthz(_request: Request) -> Response:
        try:
            await asyncio.to_thread(ping, runtime.engine)
            behind = await asyncio.to_thread(migrate.pending, runtime.engine)
        except Exception as exc:  # any failure to reach the database is "unhealthy"
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {"status": "ok", "database": "ok", "migrations": "pending" if behind else "current"}
        )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        for hook in on_startup or []:
            await hook()
        try:
            yield
        finally:
            for hook in on_shutdown or []:
                await hook()

    routes = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
