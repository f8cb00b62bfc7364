"""The Bolt app: built here with its middleware and error handler; each feature registers
its own listeners (`bot/server.py` calls them), then `register_fallbacks` closes the list."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.ops.installs import register_install_lifecycle
from bot.runtime import Runtime, with_retries
from bot.slack.errors import register_error_handler
from bot.slack.middleware import register_middleware
from bot.slack.oauth import oauth_settings
from storage.slack_oauth import ThreadedInstallationStore


def build_bolt_app(runtime: Runtime) -> AsyncApp:
    """One workspace with SLACK_BOT_TOKEN, or OAuth installs (SLACK_CLIENT_ID/SECRET).

    Every listener finds the runtime in `context["runtime"]`, whether the request came
    over HTTP or Socket Mode.
    """
    settings = runtime.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    oauth = oauth_settings(settings, runtime.engine) if settings.oauth_enabled else None
    # Bolt builds its client from the token (none with OAuth). Handed a client of ours, it
    # would still read SLACK_BOT_TOKEN from the environment and warn that it goes unused.
    app = AsyncApp(
        signing_secret=settings.signing_secret,
        token=token,
        oauth_settings=oauth,
        # Slack gives 3 s: the HTTP answer goes out at ack(), the rest runs after it.
        process_before_response=False,
        ignoring_self_events_enabled=True,
        # bot.web verifies every HTTP request before Bolt sees it (Socket Mode's arrive
        # over an authenticated WebSocket, unsigned).
        request_verification_enabled=False,
    )
    # Each request's client copies these from the app's client.
    app.client.base_url = settings.slack_api_url
    with_retries(app.client)
    store = oauth.installation_store if oauth is not None else None
    register_install_lifecycle(
        app, runtime, store if isinstance(store, ThreadedInstallationStore) else None
    )
    register_error_handler(app)
    register_middleware(app, runtime)
    return app


async def _ignore_event() -> None:
    """Events subscribed to for one case (files in call threads) and otherwise ignored."""


def register_fallbacks(app: AsyncApp) -> None:
    """After every feature: other message events in channels the bot is in are acknowledged
    and ignored, or Bolt answers 404 and Slack keeps retrying (and may turn events off)."""
    app.event("message")(_ignore_event)
