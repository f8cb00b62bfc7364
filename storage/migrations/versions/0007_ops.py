"""ops: delivery processes' last flush; room for encrypted Slack tokens

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Time = sqlmodel.sql.sqltypes.UTCDateTime
TOKENS = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
    ),
}


def upgrade() -> None:
    op.create_table(
        "delivery_process",
        sa.Column("owner", String(length=64), nullable=False),
        sa.Column("host", String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", Time(), nullable=False),
        sa.Column("last_flush_at", Time(), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("updated_at", Time(), nullable=False),
        sa.PrimaryKeyConstraint("owner"),
    )
    op.create_index("ix_delivery_process_updated_at", "delivery_process", ["updated_at"])
    for table, columns in TOKENS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column, type_=sa.String(1000), existing_type=sa.String(200), nullable=True
                )


def downgrade() -> None:
    # Encrypted tokens may not fit 200 characters: decrypt them (no key) first.
    for table, columns in TOKENS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column, type_=sa.String(200), existing_type=sa.String(1000), nullable=True
                )
    op.drop_index("ix_delivery_process_updated_at", table_name="delivery_process")
    op.drop_table("delivery_process")
