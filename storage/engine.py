"""Engine factory and the unit-of-work session scope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000

# PostgreSQL: a server that stops answering must not hang a request or the flusher.
# Seconds to open a connection (libpq counts whole seconds, at least 2).
PG_CONNECT_TIMEOUT = 5
# Seconds any one statement may run (the server cancels it); the claim takes milliseconds.
PG_STATEMENT_TIMEOUT = 30.0
# A black-holed server (no RST, packets dropped) is noticed by TCP: unacknowledged data
# gives up after tcp_user_timeout; an idle connection waiting for an answer is probed by
# keepalives (idle 10 s, then 3 probes 5 s apart).
PG_NETWORK_SETTINGS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,  # milliseconds
}


def normalise_url(url: str) -> str:
    """Let people write `postgres://` or `postgresql://`; we drive PostgreSQL with psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(
    url: str,
    *,
    connect_timeout: int = PG_CONNECT_TIMEOUT,
    statement_timeout: float | None = PG_STATEMENT_TIMEOUT,
    **kwargs: Any,
) -> Engine:
    """An engine for `url`. On PostgreSQL, `connect_timeout` (s) and `statement_timeout`
    (s, None for none) bound the wait on the server, as do TCP keepalives; the URL's own
    parameters win (`?connect_timeout=10&options=-c statement_timeout=60000`)."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs["connect_args"] = _postgres_connect_args(
        url, kwargs.pop("connect_args", {}), connect_timeout, statement_timeout
    )
    return create_engine(url, **kwargs)


def _postgres_connect_args(
    url: str, given: dict[str, Any], connect_timeout: int, statement_timeout: float | None
) -> dict[str, Any]:
    query = make_url(url).query
    defaults: dict[str, Any] = {"connect_timeout": max(2, int(connect_timeout))}
    defaults.update(PG_NETWORK_SETTINGS)
    args = {k: v for k, v in defaults.items() if k not in query} | given
    options = query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    if statement_timeout and "statement_timeout" not in options and "options" not in given:
        # connect_args replace the URL's `options`: keep what it said, add the timeout.
        ms = max(1, int(statement_timeout * 1000))
        args["options"] = f"{options} -c statement_timeout={ms}".strip()
    return args


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take BEGIN over from the driver (it emits none before SELECT), see `_on_begin`.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if make_url(url).database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every unit of work may write: taking the write lock up front means a read that
        # later writes never fails to upgrade, and the busy timeout queues writers fairly.
        if conn.get_execution_options().get("sqlite_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def session_scope(engine: Engine, *, readonly: bool = False) -> Iterator[Session]:
    """One session per unit of work: commit on success, roll back on error, always close."""
    bind = engine.execution_options(sqlite_readonly=True) if readonly else engine
    session = Session(bind=bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def describe_error(exc: BaseException) -> str:
    """An error in one line, for logs and commands: a driver's message spans several
    lines, and SQLAlchemy's adds the SQL and a link; the driver's own is what matters."""
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    text = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {text[:300]}" if text else type(cause).__name__


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached."""
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        conn.execute(text("SELECT 1"))
