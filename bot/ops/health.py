"""Where the database stands: reachable, and its migrations (no Alembic lines per probe)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bot.ops.logs import quiet_alembic
from storage import migrate
from storage.engine import ping


@dataclass(frozen=True)
class DatabaseState:
    reachable: bool
    dialect: str
    current: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    error: str | None = None

    @property
    def pending(self) -> bool:
        return set(self.current) != set(self.heads)


def database_state(engine: Engine) -> DatabaseState:
    """Blocking: call from a worker thread in async code."""
    dialect = engine.dialect.name
    try:
        with quiet_alembic():
            ping(engine)
            current = migrate.current_revisions(engine)
    except Exception as exc:  # any failure to reach the database is "unreachable"
        return DatabaseState(False, dialect, error=type(exc).__name__)
    return DatabaseState(True, dialect, current, migrate.head_revisions())
