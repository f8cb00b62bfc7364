"""delivery: outbox pacing, failure alerts, partial indexes for the claim

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status NOT IN ('delivered', 'discarded')")
TODO = sa.text("status IN ('pending', 'sending')")
UNRESOLVED = sa.text("state != 'resolved'")
String = sqlmodel.sql.sqltypes.AutoString
Time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "delivery_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", String(length=32), nullable=False),
        sa.Column("cause", String(length=255), nullable=False),
        sa.Column("kind", String(length=16), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("title", String(length=255), nullable=False),
        sa.Column("message", String(), nullable=False),
        sa.Column("first_row_id", sa.Integer(), nullable=True),
        sa.Column("action", String(length=16), nullable=True),
        sa.Column("acted_by", String(length=32), nullable=True),
        sa.Column("acted_at", Time(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", Time(), nullable=False),
        sa.Column("updated_at", Time(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_delivery_alert_open",
        "delivery_alert",
        ["team_id", "cause"],
        unique=True,
        sqlite_where=UNRESOLVED,
        postgresql_where=UNRESOLVED,
    )

    op.create_table(
        "outbox_pace",
        sa.Column("team_id", String(length=32), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Float(), nullable=False),
        sa.Column("per_second", sa.Float(), nullable=False),
        sa.Column("refilled_at", Time(), nullable=False),
        sa.Column("ready_at", Time(), nullable=False),
        sa.Column("blocked_until", Time(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("calibrated_seq", sa.Integer(), nullable=False),
        sa.Column("probe_at", Time(), nullable=True),
        sa.Column("probes", sa.Integer(), nullable=False),
        sa.Column("updated_at", Time(), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_index("ix_outbox_pace_ready_at", "outbox_pace", ["ready_at"])

    op.create_table(
        "delivery_alert_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", String(length=32), nullable=False),
        sa.Column("thread_ts", String(length=32), nullable=False),
        sa.Column("ts", String(length=32), nullable=True),
        sa.Column("rendered_version", sa.Integer(), nullable=False),
        sa.Column("claimed_at", Time(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["delivery_alert.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "channel_id", "thread_ts"),
    )
    op.create_index("ix_delivery_alert_post_alert_id", "delivery_alert_post", ["alert_id"])

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retried_at", Time(), nullable=True))
        batch_op.add_column(sa.Column("retried_by", String(length=32), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_alert_id_delivery_alert", "delivery_alert", ["alert_id"], ["id"]
        )
    op.create_index("ix_outbox_alert_id", "outbox", ["alert_id"])
    op.create_index(
        "ix_outbox_open_lane",
        "outbox",
        ["lane", "id"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index("ix_outbox_todo", "outbox", ["id"], sqlite_where=TODO, postgresql_where=TODO)


def downgrade() -> None:
    op.drop_index("ix_outbox_todo", table_name="outbox")
    op.drop_index("ix_outbox_open_lane", table_name="outbox")
    op.drop_index("ix_outbox_alert_id", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_alert_id_delivery_alert", type_="foreignkey")
        batch_op.drop_column("retried_by")
        batch_op.drop_column("retried_at")
        batch_op.drop_column("alert_id")
    op.drop_index("ix_delivery_alert_post_alert_id", table_name="delivery_alert_post")
    op.drop_table("delivery_alert_post")
    op.drop_index("ix_outbox_pace_ready_at", table_name="outbox_pace")
    op.drop_table("outbox_pace")
    op.drop_index("ux_delivery_alert_open", table_name="delivery_alert")
    op.drop_table("delivery_alert")
