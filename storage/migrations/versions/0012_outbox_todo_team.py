"""outbox: unfinished rows by workspace, for claims that take turns between workspaces

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Word for word the claim's predicate: SQLite matches partial indexes textually.
TODO = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_todo_team",
        "outbox",
        ["team_id", "id"],
        sqlite_where=TODO,
        postgresql_where=TODO,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_todo_team", table_name="outbox")
