"""The entry point's wiring: everything is assembled here and only here."""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import socket
from collections.abc import Callable

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette

from bot.config import Settings
from bot.delivery.heartbeat import Heartbeat
from bot.delivery.hooks import DeliveryHooks
from bot.delivery.runner import NO_FRONT_CREDENTIALS, build_scheduler, run_until_stopped
from bot.features import admin, alerts, calls, messages
from bot.runtime import Runtime, build_runtime
from bot.slack import say
from bot.slack.app import build_bolt_app, register_fallbacks
from bot.slack.poster import PostKinds, SlackPoster
from bot.web import Hook, create_web_app
from storage import migrate

log = logging.getLogger(__name__)


# In registration order: Bolt runs the first listener that matches a request. Messages
# comes first: its capture listener must see a customer's message with files before calls'
# file_share listener (it passes on what it does not capture, call threads' files too).
FEATURES = (messages, calls, admin, alerts)


def build_slack_app(runtime: Runtime) -> AsyncApp:
    """The Bolt app with every feature's listeners."""
    bolt = build_bolt_app(runtime)
    for feature in FEATURES:
        feature.register(bolt)
    register_fallbacks(bolt)
    return bolt


def build_server_app(
    settings: Settings, *, run_scheduler: bool = True, migrate_db: bool = True
) -> Starlette:
    runtime = build_runtime(settings)
    if migrate_db:
        # A newcomer never has to know about migrations: serve applies what is pending.
        migrate.upgrade(runtime.engine)
    bolt = build_slack_app(runtime)
    startup: list[Hook] = []
    shutdown: list[Hook] = []
    scheduler = build_scheduler(
        runtime,
        delivery_hooks(),
        others=[slack_poster(runtime)],
        # Without it (another process delivers), this one still posts to Slack what its
        # listeners stored: the ack path's follow-through should not wait for a tick.
        deliver=run_scheduler,
    )
    draining: list[Callable[[], None]] = []  # run as uvicorn starts its shutdown
    if scheduler is not None:
        startup.append(scheduler.start)
        draining.append(scheduler.begin_stop)
        shutdown.append(scheduler.stop)
        if scheduler.front is not None:  # this process delivers to Front: it reports so
            heartbeat = Heartbeat(runtime, scheduler)
            startup.append(heartbeat.start)
            shutdown.insert(0, heartbeat.stop)
    if settings.slack_app_token is not None:
        # Socket Mode: Slack's requests arrive over a WebSocket this process opens, so no
        # public URL is needed (local development); HTTP still serves health and Front.
        app_token = settings.slack_app_token.get_secret_value()
        sockets: list[AsyncSocketModeHandler] = []

        async def connect() -> None:  # its client needs the server's running event loop
            sockets.append(AsyncSocketModeHandler(bolt, app_token))
            await sockets[0].connect_async()  # type: ignore[no-untyped-call]

        async def close() -> None:
            for socket in sockets:
                await socket.close_async()  # type: ignore[no-untyped-call]

        startup.append(connect)
        shutdown.append(close)
    web = create_web_app(runtime, bolt, on_startup=startup, on_shutdown=shutdown)
    web.state.draining = draining
    return web


def run_http(web: Starlette, *, host: str, port: int, log_level: str, grace: float) -> None:
    """`switchboard serve`'s server: uvicorn, with one grace period for everything. On
    SIGTERM it stops accepting connections and, at the same moment (not after the HTTP
    drain), delivery stops claiming; requests and sends in flight then have `grace`
    seconds, after which Front requests are cut short and their rows released."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            for begin in getattr(web.state, "draining", []):
                begin()
            await super().shutdown(sockets)

    config = uvicorn.Config(
        web,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,  # uvicorn's loggers keep ours (one format, JSON included)
        timeout_graceful_shutdown=math.ceil(grace),
    )
    server = Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)  # as uvicorn.run: it said why (the port is taken…)


def delivery_hooks() -> DeliveryHooks:
    """What each feature does when a delivery ends (cards, reactions, alerts); see
    `bot.delivery.hooks` for the handler signature."""
    hooks = DeliveryHooks()
    for feature in FEATURES:
        feature.register_hooks(hooks)
    return hooks


def post_kinds() -> PostKinds:
    """How each kind of Slack post is shown: `tell`, and each feature's."""
    kinds = PostKinds()
    say.register_posts(kinds)
    for feature in FEATURES:
        feature.register_posts(kinds)
    return kinds


def slack_poster(runtime: Runtime) -> SlackPoster:
    # FLUSH_CONCURRENCY bounds what a process has in flight to Slack as to Front: what a
    # crash can cut short (and so post twice) is bounded by it too.
    return SlackPoster(runtime, post_kinds(), concurrency=runtime.settings.flush_concurrency)


def run_worker(settings: Settings) -> None:
    """`switchboard worker`: the delivery scheduler alone, until SIGTERM or Ctrl-C."""
    runtime = build_runtime(settings)
    migrate.upgrade(runtime.engine)
    if not settings.front_configured:
        raise SystemExit(f"switchboard: {NO_FRONT_CREDENTIALS}")
    scheduler = build_scheduler(runtime, delivery_hooks(), others=[slack_poster(runtime)])
    assert scheduler is not None
    stopped_by = asyncio.run(run_until_stopped(scheduler, Heartbeat(runtime, scheduler)))
    runtime.engine.dispose()
    if stopped_by is not None:
        # As uvicorn does for `serve`: end with the signal's own default action. It also
        # skips the interpreter's teardown (half a second here): a stop takes the grace.
        signal.signal(stopped_by, signal.SIG_DFL)
        signal.raise_signal(stopped_by)
