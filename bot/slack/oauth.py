"""OAuth installs for many workspaces, on slack_sdk's SQLAlchemy stores.

The stores and their thread adapters live in `storage.slack_oauth`; this module holds
what Bolt's OAuth flow needs: the scopes and the settings.
"""

from __future__ import annotations

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.config import Settings
from storage.slack_oauth import ThreadedStateStore, installation_store

# The same as manifest.yml (a test checks); the README says why each is needed.
BOT_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "users:read.email",
    "files:read",
    "reactions:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "channels:join",
]
STATE_EXPIRATION_SECONDS = 600


def oauth_settings(settings: Settings, engine: Engine) -> AsyncOAuthSettings:
    assert settings.slack_client_id and settings.slack_client_secret
    redirect_uri = (
        settings.public_url.rstrip("/") + "/slack/oauth_redirect" if settings.public_url else None
    )
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=BOT_SCOPES,
        redirect_uri=redirect_uri,
        installation_store=installation_store(settings.slack_client_id, engine),
        installation_store_bot_only=True,
        state_store=ThreadedStateStore(
            SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine)
        ),
    )
