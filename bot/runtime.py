"""What every part of a running process shares: settings, the database and the flusher.

Built once by the entry point (CLI or a test) and handed down; nothing reads globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from bot.config import Settings
from storage.engine import make_engine


def _no_wake() -> None:
    """Used when no flusher runs in this process: the rows wait for a worker."""


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    # Called after a transaction that enqueued deliveries, so the flusher starts now
    # instead of at its next tick.
    wake: Callable[[], None] = field(default=_no_wake)


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(settings=settings, engine=make_engine(settings.database_url))
