"""front channels from callbacks, auto-capture settings and threads, edit notes

Front channels as Front's callbacks describe them (authorized, removed); auto-capture
settings on channel links and the threads it decided; logged messages remember their
edit note.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "front_channel",
        sa.Column("front_channel_id", String(length=200), nullable=False),
        sa.Column("authorized_at", Time(), nullable=False),
        sa.Column("removed_at", Time(), nullable=True),
        sa.PrimaryKeyConstraint("front_channel_id"),
    )
    op.create_index("ix_front_channel_authorized_at", "front_channel", ["authorized_at"])
    op.create_table(
        "capture_thread",
        sa.Column("team_id", String(length=32), nullable=False),
        sa.Column("slack_channel_id", String(length=32), nullable=False),
        sa.Column("thread_ts", String(length=32), nullable=False),
        sa.Column("captured", sa.Boolean(), nullable=True),
        sa.Column("created_at", Time(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "slack_channel_id", "thread_ts"),
    )
    with op.batch_alter_table("channel_link") as batch:
        batch.add_column(
            sa.Column("capture", String(length=16), nullable=False, server_default="off")
        )
        batch.add_column(sa.Column("capture_emoji", String(length=100), nullable=True))
        batch.add_column(sa.Column("capture_by", String(length=32), nullable=True))
        batch.add_column(sa.Column("capture_since", Time(), nullable=True))
    with op.batch_alter_table("logged_message") as batch:
        batch.add_column(sa.Column("edit_noted_at", Time(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("logged_message") as batch:
        batch.drop_column("edit_noted_at")
    with op.batch_alter_table("channel_link") as batch:
        for name in ("capture_since", "capture_by", "capture_emoji", "capture"):
            batch.drop_column(name)
    op.drop_table("capture_thread")
    op.drop_index("ix_front_channel_authorized_at", table_name="front_channel")
    op.drop_table("front_channel")
