"""logged messages: source, card text, marked-as-failed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("logged_message") as batch:
        batch.add_column(
            sa.Column(
                "source",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="shortcut",
            )
        )
        batch.add_column(
            sa.Column("body_text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )
        batch.add_column(sa.Column("file_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("marked_failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "marked_failed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
            )
        )
        batch.add_column(
            sa.Column("failed_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("logged_message") as batch:
        for name in (
            "failed_reason",
            "marked_failed_by",
            "marked_failed_at",
            "file_count",
            "body_text",
            "source",
        ):
            batch.drop_column(name)
