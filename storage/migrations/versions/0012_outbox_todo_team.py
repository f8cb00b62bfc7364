"""outbox: unfinished rows by workspace, for claims that take turns between workspaces

The index of unfinished rows by id alone goes: with it beside this one, PostgreSQL looked
for one workspace's oldest row by walking every workspace's rows in id order.

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
    op.drop_index("ix_outbox_todo", table_name="outbox")
    if op.get_bind().dialect.name == "postgresql":
        # A queue table: a flood of a few thousand rows beside a million delivered ones is
        # far below autovacuum's default re-analyze threshold (10% of the table), and with
        # statistics that say no row is unfinished the planner scans the partial indexes
        # whole for each row instead of looking up its lane (1.7 ms a claim became 40).
        op.execute(
            "ALTER TABLE outbox SET (autovacuum_analyze_scale_factor = 0, "
            "autovacuum_analyze_threshold = 1000)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE outbox RESET (autovacuum_analyze_scale_factor, "
            "autovacuum_analyze_threshold)"
        )
    op.create_index("ix_outbox_todo", "outbox", ["id"], sqlite_where=TODO, postgresql_where=TODO)
    op.drop_index("ix_outbox_todo_team", table_name="outbox")
