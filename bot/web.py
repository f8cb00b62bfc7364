"""The HTTP surface: Starlette routes in front of Bolt, health, and Front callbacks."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import slack_requests
from bot.core.uow import in_transaction
from bot.features.messages import replies as front_callbacks
from bot.runtime import Runtime
from storage import migrate
from storage.engine import ping

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
        return await slack_requests.handle(handler, request, secret=runtime.settings.signing_secret)

    async def check_database() -> bool:
        await asyncio.to_thread(ping, runtime.engine)
        return await asyncio.to_thread(migrate.pending, runtime.engine)

    # One check at a time: a database that does not answer holds its worker thread until
    # the driver's own timeouts, and each probe must not hold another.
    checks: list[asyncio.Task[bool]] = []

    async def healthz(_request: Request) -> Response:
        if not checks or checks[0].done():
            checks[:] = [asyncio.create_task(check_database())]
            checks[0].add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            behind = await asyncio.wait_for(asyncio.shield(checks[0]), HEALTH_TIMEOUT_SECONDS)
        except Exception as exc:  # any failure to reach the database is "unhealthy"
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse(
            {"status": "ok", "database": "ok", "migrations": "pending" if behind else "current"}
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
                runtime, front_callbacks.handle, data=data, webhook_url=_webhook_url(request)
            )
        except front_callbacks.CallbackRefused as exc:
            kind = "unauthorized" if exc.status == 401 else "bad_request"
            return JSONResponse({"type": kind, "message": str(exc)}, status_code=exc.status)
        task = BackgroundTask(_post_to_slack, answer.post) if answer.post else None
        return JSONResponse(answer.body, background=task)

    def _webhook_url(request: Request) -> str:
        base = runtime.settings.public_url or str(request.base_url)
        return base.rstrip("/") + "/front/webhook"

    async def _post_to_slack(post: front_callbacks.SlackPost) -> None:
        try:
            client = await runtime.slack_client(post.team_id)
            await client.chat_postMessage(
                channel=post.channel_id, thread_ts=post.thread_ts, text=post.text
            )
            await in_transaction(
                runtime, front_callbacks.mark_posted, front_message_id=post.front_message_id
            )
        except Exception:
            # Left unposted: if Front sends the callback again, it is posted then.
            log.exception("could not post a Front reply into Slack")

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
        Route("/slack/install", slack_events, methods=["GET"]),
        Route("/slack/oauth_redirect", slack_events, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/front/webhook", front_webhook, methods=["POST", "DELETE"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
