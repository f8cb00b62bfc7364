from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401
import storage.slack_oauth  # noqa: F401
from storage import migrate
from storage.engine import make_engine


def test_a_single_head() -> None:
    # Two heads means two migrations were written against the same parent.
    assert len(migrate.head_revisions()) == 1


def test_migrate_from_empty_creates_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.downgrade(engine, "base")
    assert not set(inspect(engine).get_table_names()) & set(SQLModel.metadata.tables)
    assert migrate.pending(engine)
    migrate.upgrade(engine)
    assert not migrate.pending(engine)
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
        )
    assert diff == []


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    before = migrate.current_revisions(engine)
    migrate.upgrade(engine)
    assert migrate.current_revisions(engine) == before
