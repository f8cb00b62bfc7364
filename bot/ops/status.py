"""Routes for whoever runs Switchboard: the status page (`GET /`) and `GET /metrics`.

The page itself shows nothing private. Its figures (and /metrics) need STATUS_TOKEN when
it is set: `Authorization: Bearer <token>`, or the page's form, which sets a cookie
holding an HMAC of the token (not the token). Comparisons use hmac.compare_digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.ops import metrics
from bot.ops.figures import Figures, read_figures
from bot.ops.health import DatabaseState, database_state
from bot.ops.page import FiguresView, PageData, render_page
from bot.ops.probes import CachedProbes
from bot.runtime import Runtime
from storage.models import utcnow

log = logging.getLogger(__name__)

COOKIE = "switchboard_status"
COOKIE_MAX_AGE = 8 * 3600
DB_TIMEOUT_SECONDS = 3.0
METRICS_TIMEOUT_SECONDS = 10.0
T = TypeVar("T")
D = TypeVar("D")


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"switchboard status cookie", hashlib.sha256).hexdigest()


def authorized(request: Request, token: str | None) -> bool:
    """True when STATUS_TOKEN is set and this request carries it (header or cookie)."""
    if not token:
        return False
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
        return hmac.compare_digest(given.encode(), token.encode())
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and hmac.compare_digest(cookie, _cookie_value(token))


def _secure(request: Request, public_url: str | None) -> bool:
    return request.url.scheme == "https" or bool(public_url and public_url.startswith("https"))


def ops_routes(runtime: Runtime) -> list[Route]:
    settings = runtime.settings
    probes = CachedProbes(settings)
    token = settings.status_token.get_secret_value() if settings.status_token else None

    async def _from_db(fn: Callable[[Engine], T], default: D) -> T | D:
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn, runtime.engine), DB_TIMEOUT_SECONDS)
        except Exception:  # a hung or failing database must not hang the page
            return default

    async def status_page(request: Request) -> Response:
        show = authorized(request, token)
        unreachable = DatabaseState(False, runtime.engine.dialect.name, error="no answer in 3 s")
        db, slack, front, figures = await asyncio.gather(
            _from_db(database_state, unreachable),
            probes.slack(),
            probes.front(),
            _from_db(read_figures, None) if show else _none(),
        )
        if not token:
            view = FiguresView.no_token_set
        elif not show:
            view = FiguresView.locked
        else:
            view = FiguresView.shown if figures is not None else FiguresView.unavailable
        data = PageData(
            version=__version__,
            socket_mode=settings.slack_app_token is not None,
            oauth=settings.oauth_enabled,
            database=db,
            slack=slack,
            front=front,
            base_url=settings.public_url or str(request.base_url),
            from_public_url=bool(settings.public_url),
            figures=figures,
            view=view,
            login_failed=request.query_params.get("login") == "failed",
            now=utcnow(),
        )
        return HTMLResponse(
            render_page(data),
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                "img-src 'self'; form-action 'self'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def login(request: Request) -> Response:
        form = await request.form()
        given = form.get("token")
        ok = (
            token is not None
            and isinstance(given, str)
            and hmac.compare_digest(given.encode(), token.encode())
        )
        if not ok:
            await asyncio.sleep(0.5)  # a little cost to each guess
            return RedirectResponse("/?login=failed", status_code=303)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            _cookie_value(token or ""),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=_secure(request, settings.public_url),
        )
        return response

    async def logout(_request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def metrics_endpoint(request: Request) -> Response:
        if token and not authorized(request, token):
            return PlainTextResponse(
                "STATUS_TOKEN required (Authorization: Bearer …)\n",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            body = await asyncio.wait_for(
                asyncio.to_thread(metrics.render, runtime.engine), METRICS_TIMEOUT_SECONDS
            )
        except TimeoutError:
            return PlainTextResponse("the database did not answer in time\n", status_code=503)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    return [
        Route("/", status_page, methods=["GET"]),
        Route("/status/login", login, methods=["POST"]),
        Route("/status/logout", logout, methods=["POST"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]


async def _none() -> Figures | None:
    return None
