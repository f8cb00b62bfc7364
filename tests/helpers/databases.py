"""Test databases: a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set.

PostgreSQL tests run in a database of their own, made for the session and dropped after,
so they never touch what TEST_DATABASE_URL points at.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401
import storage.slack_oauth  # noqa: F401
from storage.engine import make_engine, normalise_url

PG_SKIP_REASON = (
    "PostgreSQL case skipped: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test "
    "to run it (.ci/run does)"
)


def postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return normalise_url(url) if url else None


@contextmanager
def scratch_postgres_database() -> Iterator[str]:
    """Create an empty database and yield its URL; drop it afterwards."""
    admin_url = postgres_admin_url()
    assert admin_url is not None
    name = f"switchboard_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
