"""call times: each status's time on the call, voicemail, and indexes for call history

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call") as batch:
        batch.add_column(sa.Column("status_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("connected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("voicemail", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_call_party", "call", ["team_id", "party_handle"])
    op.create_index("ix_call_created_by", "call", ["team_id", "created_by"])
    op.create_index("ix_call_agent", "call", ["team_id", "agent_user_id"])
    op.create_index("ix_logged_message_handle", "logged_message", ["team_id", "handle"])


def downgrade() -> None:
    op.drop_index("ix_logged_message_handle", table_name="logged_message")
    op.drop_index("ix_call_agent", table_name="call")
    op.drop_index("ix_call_created_by", table_name="call")
    op.drop_index("ix_call_party", table_name="call")
    with op.batch_alter_table("call") as batch:
        for name in ("voicemail", "ended_at", "connected_at", "status_at"):
            batch.drop_column(name)
