"""Logging for every process: one format for our lines, uvicorn's and Alembic's.

`LOG_FORMAT=text` (the default) writes `time level logger: message`; `LOG_FORMAT=json`
writes one JSON object a line. Either way, what is known about the work in hand
(`team_id`, `outbox_id`, `operation`) is added: from `extra=` at the call, or from
`bind()` (a context variable, so it follows a delivery's task and nothing else).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("text", "json")
FIELDS = ("team_id", "outbox_id", "operation")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_context: ContextVar[dict[str, Any] | None] = ContextVar("switchboard_log_context", default=None)
_quiet_alembic: ContextVar[bool] = ContextVar("switchboard_quiet_alembic", default=False)


def bind(**fields: Any) -> None:
    """Add fields to every line logged from here on in this task (or thread)."""
    _context.set({**(_context.get() or {}), **fields})


class _ContextFilter(logging.Filter):
    """Copies bound fields onto each record, unless the call gave them with `extra=`."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        known = [f"{k}={getattr(record, k)}" for k in FIELDS if getattr(record, k, None)]
        if not known:
            return text
        head, sep, rest = text.partition("\n")  # after the message, before a traceback
        return f"{head} [{' '.join(known)}]{sep}{rest}"


class _QuietAlembic(logging.Filter):
    """Drops Alembic's per-connection lines while `quiet_alembic()` is in force."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _quiet_alembic.get()


_alembic_filter = _QuietAlembic()
logging.getLogger("alembic.runtime.migration").addFilter(_alembic_filter)


@contextmanager
def quiet_alembic() -> Iterator[None]:
    """Health checks ask Alembic where the database is on every probe: not worth a line."""
    token = _quiet_alembic.set(True)
    try:
        yield
    finally:
        _quiet_alembic.reset(token)


def check_level(level: str) -> str:
    """The level, lower-cased; ValueError names the ones that exist."""
    if level.lower() not in LEVELS:
        raise ValueError(f"--log-level must be one of {', '.join(LEVELS)} (got {level!r})")
    return level.lower()


def setup_logging(level: str = "info", fmt: str = "text", *, stream: Any = None) -> None:
    """Configure the root logger; uvicorn runs with log_config=None so its loggers
    propagate here and share the format."""
    level = check_level(level)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()  # uvicorn's own config, if it ran before, is replaced
        logger.propagate = True
    if level != "debug":
        # APScheduler logs every tick (every FLUSH_INTERVAL_SECONDS) at INFO.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        # Alembic names each of its plugins at every start: nothing an operator acts on.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
