"""outbox pacing: a per-resource bucket beside the company's

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_pace") as batch:
        batch.add_column(
            sa.Column("resource_tokens", sa.Float(), nullable=False, server_default="4")
        )
        batch.add_column(
            sa.Column("resource_refilled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_pace") as batch:
        batch.drop_column("resource_refilled_at")
        batch.drop_column("resource_tokens")
