"""slack_sdk's OAuth tables (installations, bots, states), managed by our migrations.

The stores build their own Table objects with these names; declaring the same tables on
SQLModel's metadata lets Alembic create and check them like ours. The stores are
synchronous, like the rest of our storage; the async app reaches them through thin
adapters that run each call in a worker thread.

Bot, user and refresh tokens are encrypted at rest (Fernet, TOKEN_ENCRYPTION_KEY): the
adapter encrypts on save and decrypts on find, so slack_sdk and Bolt only see clear
tokens and the database only holds ciphertext. Earlier keys decrypt too (MultiFernet), and
`reencrypt_tokens` moves every stored token to the current key.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, String, select, update
from sqlmodel import SQLModel

BOTS_TABLE = SQLAlchemyInstallationStore.default_bots_table_name
INSTALLATIONS_TABLE = SQLAlchemyInstallationStore.default_installations_table_name
STATES_TABLE = SQLAlchemyOAuthStateStore.default_table_name

bots = SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, BOTS_TABLE)
installations = SQLAlchemyInstallationStore.build_installations_table(
    SQLModel.metadata, INSTALLATIONS_TABLE
)
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, STATES_TABLE)

# Tokens are stored encrypted (Fernet): wider than slack_sdk's 200 characters (migration
# 0007). The store's own Table objects keep 200, which SQLAlchemy does not enforce.
TOKEN_COLUMN_LENGTH = 1000
for _table, _names in (
    (bots, ("bot_token", "bot_refresh_token")),
    (installations, ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")),
):
    for _name in _names:
        _table.c[_name].type = String(TOKEN_COLUMN_LENGTH)


BOT_TOKEN_FIELDS = ("bot_token", "bot_refresh_token")
TOKEN_FIELDS = (*BOT_TOKEN_FIELDS, "user_token", "user_refresh_token")
# Every Fernet token starts with its version byte, 0x80, base64-encoded.
_FERNET_PREFIX = "gAAAAA"

E = TypeVar("E", Installation, Bot)


class TokenKeyError(Exception):
    """A stored token could not be decrypted with any configured key."""


class TokenCipher:
    """Fernet with the current key first and earlier keys after it (decrypt only)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])

    @classmethod
    def from_keys(cls, key: str, old_keys: str | None = None) -> TokenCipher:
        olds = [k for k in (old_keys or "").split(",") if k.strip()]
        return cls([key, *olds])

    def encrypt(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str | None) -> str | None:
        if value is None or not value.startswith(_FERNET_PREFIX):
            # Written before encryption: `switchboard rotate-token-key` encrypts it.
            return value
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                "a stored Slack token does not decrypt with TOKEN_ENCRYPTION_KEY (nor "
                "TOKEN_ENCRYPTION_OLD_KEYS): set the key it was saved with"
            ) from None

    def rotate(self, value: str | None) -> str | None:
        """The value under the current key (clear values get encrypted)."""
        if value is None:
            return None
        if not value.startswith(_FERNET_PREFIX):
            return self.encrypt(value)
        try:
            return self._fernet.rotate(value.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                "a stored Slack token does not decrypt with any key given"
            ) from None

    def _apply(self, entity: E, fields: tuple[str, ...], fn: Callable[[str | None], Any]) -> E:
        out = copy.copy(entity)  # the caller's object keeps its clear tokens
        for name in fields:
            if hasattr(out, name):
                setattr(out, name, fn(getattr(out, name)))
        return out

    def seal(self, entity: E) -> E:
        return self._apply(entity, TOKEN_FIELDS, self.encrypt)

    def open(self, entity: E) -> E:
        return self._apply(entity, TOKEN_FIELDS, self.decrypt)


def reencrypt_tokens(engine: Engine, cipher: TokenCipher) -> int:
    """Every stored token under the cipher's current key, in one transaction; the count."""
    changed = 0
    with engine.begin() as conn:
        for table, fields in ((bots, BOT_TOKEN_FIELDS), (installations, TOKEN_FIELDS)):
            columns = [table.c[f] for f in fields]
            for row in conn.execute(select(table.c.id, *columns)).mappings().all():
                values = {f: cipher.rotate(row[f]) for f in fields if row[f] is not None}
                if values:
                    conn.execute(update(table).where(table.c.id == row["id"]).values(**values))
                    changed += len(values)
    return changed


class ThreadedInstallationStore(AsyncInstallationStore):
    """slack_sdk's SQLAlchemy store in worker threads, tokens encrypted at rest.

    `on_installed(team_id)` runs after an install (or reinstall) is saved, in the thread.
    """

    def __init__(
        self,
        store: SQLAlchemyInstallationStore,
        cipher: TokenCipher,
        *,
        on_installed: Callable[[str], object] | None = None,
    ) -> None:
        self.store = store
        self.cipher = cipher
        self.on_installed = on_installed

    def _save(self, installation: Installation) -> None:
        self.store.save(self.cipher.seal(installation))
        if self.on_installed is not None and installation.team_id:
            self.on_installed(installation.team_id)

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self._save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, self.cipher.seal(bot))

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None) -> Bot | None:
        """Blocking, for code outside the event loop (doctor)."""
        bot = self.store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        return None if bot is None else self.cipher.open(bot)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = await asyncio.to_thread(
            lambda: self.store.find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )
        )
        return None if bot is None else self.cipher.open(bot)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await asyncio.to_thread(
            lambda: self.store.find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )
        return None if found is None else self.cipher.open(found)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
        )


class ThreadedStateStore(AsyncOAuthStateStore):
    def __init__(self, store: SQLAlchemyOAuthStateStore) -> None:
        self.store = store

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


def installation_store(
    client_id: str,
    engine: Engine,
    cipher: TokenCipher,
    *,
    on_installed: Callable[[str], object] | None = None,
) -> ThreadedInstallationStore:
    return ThreadedInstallationStore(
        SQLAlchemyInstallationStore(client_id=client_id, engine=engine),
        cipher,
        on_installed=on_installed,
    )
