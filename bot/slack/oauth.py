"""OAuth installs for many workspaces, on slack_sdk's SQLAlchemy stores.

The stores and their thread adapters live in `storage.slack_oauth`; this module holds
what Bolt's OAuth flow needs: the scopes and the settings.
"""

from __future__ import annotations

import logging

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.config import Settings
from bot.ops.installs import resume_after_install
from bot.runtime import token_cipher, with_retries
from storage.slack_oauth import ThreadedStateStore, installation_store

# The same as manifest.yml (a test checks); the README says why each is needed.
BOT_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "users:read.email",
    "files:read",
    "files:write",
    "reactions:read",
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
    store = installation_store(
        settings.slack_client_id,
        engine,
        token_cipher(settings),
        # A reinstall (through /slack/oauth_redirect) resumes what an uninstall paused.
        on_installed=lambda team_id: resume_after_install(engine, team_id),
    )
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=BOT_SCOPES,
        redirect_uri=redirect_uri,
        installation_store=store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=settings.token_rotation_expiration_minutes,
        state_store=ThreadedStateStore(
            SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine)
        ),
    )
    # Token rotation (when the Slack app enables it): Bolt refreshes a token about to
    # expire as it authorizes a request. Its own rotator calls slack.com whatever
    # SLACK_API_URL says; this one goes where every other call goes.
    oauth.authorize = AsyncInstallationStoreAuthorize(
        logger=logging.getLogger("slack_bolt.authorize"),
        installation_store=store,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        token_rotation_expiration_minutes=settings.token_rotation_expiration_minutes,
        bot_only=True,
        client=with_retries(AsyncWebClient(base_url=settings.slack_api_url)),
    )
    return oauth
