"""The Bolt app: built here, listeners registered in `bot.slack.listeners`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.slack.errors import register_error_handler
from bot.slack.listeners import register_listeners
from bot.slack.middleware import register_middleware


def build_bolt_app(settings: Settings, *, client: AsyncWebClient | None = None) -> AsyncApp:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if client is None:
        client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
    app = AsyncApp(
        signing_secret=settings.signing_secret,
        client=client,  # Bolt takes the token from the client
        # Slack gives 3 s: the HTTP answer goes out at ack(), the rest runs after it.
        process_before_response=False,
        ignoring_self_events_enabled=True,
    )
    register_error_handler(app)
    register_middleware(app)
    register_listeners(app)
    return app
