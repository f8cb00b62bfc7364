"""SQLModel tables.

Times are aware UTC datetimes (SQLModel's UTCDateTime refuses naive ones); SQLite keeps
them as UTC text, PostgreSQL as timestamptz.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# Tables of their own module, registered with the others' metadata wherever models are.
from storage.channels import CaptureThread as CaptureThread
from storage.channels import FrontChannel as FrontChannel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Direction(StrEnum):
    """Front's words for who spoke first: `inbound` from the customer, `outbound` to them."""

    inbound = "inbound"
    outbound = "outbound"


class DeliveryState(StrEnum):
    """What a card shows of its deliveries to Front (calls and messages alike)."""

    queued = "queued"
    delivered = "delivered"
    failed = "failed"
    discarded = "discarded"


class Workspace(SQLModel, table=True):
    """A Slack workspace using Switchboard, with its own settings and delivery state."""

    __tablename__ = "workspace"

    team_id: str = Field(primary_key=True, max_length=32)
    team_name: str | None = Field(default=None, max_length=255)
    alerts_channel_id: str | None = Field(default=None, max_length=32)
    # Set when Front refuses our credentials: deliveries for this workspace wait.
    paused_at: datetime | None = None
    paused_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ChannelLink(SQLModel, table=True):
    """A Slack channel connected to a Front channel (`cha_…` or `alt:address:…`)."""

    __tablename__ = "channel_link"
    __table_args__ = (UniqueConstraint("team_id", "slack_channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    slack_channel_id: str = Field(max_length=32)
    front_channel_id: str = Field(max_length=200)
    front_status: str | None = Field(default=None, max_length=16)
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    # Auto-capture (`/switchboard capture`): "off", "on" (Slack Connect messages) or
    # "emoji" (a reaction logs a message); who turned it on, and since when.
    capture: str = Field(default="off", max_length=16)
    capture_emoji: str | None = Field(default=None, max_length=100)
    capture_by: str | None = Field(default=None, max_length=32)
    capture_since: datetime | None = None


class ThreadKind(StrEnum):
    call = "call"
    conversation = "conversation"


class ThreadLink(SQLModel, table=True):
    """A Slack thread tied to the Front conversation or call it produced."""

    __tablename__ = "thread_link"
    __table_args__ = (
        UniqueConstraint("team_id", "slack_channel_id", "thread_ts"),
        Index("ix_thread_link_external", "kind", "external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    slack_channel_id: str = Field(max_length=32)
    thread_ts: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    external_id: str = Field(max_length=200)
    front_channel_id: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Call(SQLModel, table=True):
    """One leg of a phone call logged from Slack."""

    __tablename__ = "call"
    __table_args__ = (
        # History: a workspace's last calls with a number, and a person's last calls.
        Index("ix_call_party", "team_id", "party_handle"),
        Index("ix_call_created_by", "team_id", "created_by"),
        Index("ix_call_agent", "team_id", "agent_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_call_id: str = Field(max_length=200, unique=True)
    parent_external_call_id: str = Field(max_length=200)
    team_id: str = Field(max_length=32, index=True)
    slack_channel_id: str = Field(max_length=32)
    front_channel_id: str = Field(max_length=200)
    card_ts: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    direction: str = Field(max_length=16)
    party_handle: str = Field(max_length=200)
    party_name: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=16)
    agent_user_id: str | None = Field(default=None, max_length=32)
    agent_email: str | None = Field(default=None, max_length=255)
    started_at: datetime
    created_by: str = Field(max_length=32)
    # Bumped on every status change: a compare-and-set keeps two clicks from racing.
    version: int = 0
    delivery_state: str = Field(default="queued", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # When things happened, as sent to Front: the current status's time (a next one may
    # not come before it), the first connection, and the final status's time.
    status_at: datetime | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    # A missed call that left a voicemail (its outcome reads "Voicemail left").
    voicemail: bool = False


class LoggedMessage(SQLModel, table=True):
    """A message logged into a Front conversation."""

    __tablename__ = "logged_message"
    __table_args__ = (Index("ix_logged_message_handle", "team_id", "handle"),)

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=200, unique=True)
    external_conversation_id: str = Field(max_length=200, index=True)
    referenced_external_id: str | None = Field(default=None, max_length=200)
    team_id: str = Field(max_length=32)
    slack_channel_id: str = Field(max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    card_ts: str | None = Field(default=None, max_length=32)
    front_channel_id: str = Field(max_length=200)
    direction: str = Field(max_length=16)
    handle: str = Field(max_length=255)
    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=255)
    subject: str | None = Field(default=None, max_length=998)
    logged_by: str = Field(max_length=32)
    delivery_state: str = Field(default="queued", max_length=16)
    message_uid: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    # "shortcut" (a Slack message logged as is) or "logmsg" (the bot's card stands for it).
    source: str = Field(default="shortcut", max_length=16)
    # What the message card shows again when it is updated (delivered, marked failed).
    body_text: str | None = Field(default=None, max_length=1000)
    file_count: int = 0
    marked_failed_at: datetime | None = None
    marked_failed_by: str | None = Field(default=None, max_length=32)
    failed_reason: str | None = Field(default=None, max_length=1000)
    # Edits are not synced to Front: the first one gets a note in the thread, once.
    edit_noted_at: datetime | None = None


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    delivered = "delivered"
    failed = "failed"
    discarded = "discarded"


# Unfinished rows (they block their lane) and rows a flusher may claim.
OUTBOX_OPEN_SQL = "status NOT IN ('delivered', 'discarded')"
OUTBOX_TODO_SQL = "status IN ('pending', 'sending')"
_TODO_WHERE: dict[str, Any] = {
    "sqlite_where": text(OUTBOX_TODO_SQL),
    "postgresql_where": text(OUTBOX_TODO_SQL),
}


class OutboxRow(SQLModel, table=True):
    """One Channel API request waiting for (or done with) delivery."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_lane", "lane", "id"),
        # Partial indexes keep the claim as fast with a million delivered rows as with none:
        # lane heads are found among unfinished rows only. The predicates are literal SQL
        # that the claim repeats word for word (SQLite matches partial indexes textually).
        Index(
            "ix_outbox_open_lane",
            "lane",
            "id",
            sqlite_where=text(OUTBOX_OPEN_SQL),
            postgresql_where=text(OUTBOX_OPEN_SQL),
        ),
        # Claims take turns between workspaces: each one's unfinished rows in id order.
        Index("ix_outbox_todo_team", "team_id", "id", **_TODO_WHERE),
    )

    id: int | None = Field(default=None, primary_key=True)
    operation: str = Field(max_length=64)
    front_channel_id: str = Field(max_length=200)
    path: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    lane: str = Field(max_length=300)
    status: str = Field(default=OutboxStatus.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    last_error_status: int | None = None
    last_error: str | None = None
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    team_id: str = Field(max_length=32, index=True)
    slack_channel_id: str | None = Field(default=None, max_length=32)
    slack_thread_ts: str | None = Field(default=None, max_length=32)
    slack_user_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    # The failure alert this row belongs to, and who asked for a retry (alerts say so).
    alert_id: int | None = Field(default=None, foreign_key="delivery_alert.id", index=True)
    retried_at: datetime | None = None
    retried_by: str | None = Field(default=None, max_length=32)


class OutboxFile(SQLModel, table=True):
    """A file a delivery sends; its bytes are kept until the row is delivered."""

    __tablename__ = "outbox_file"

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True, ondelete="CASCADE")
    position: int = 0
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class MessageTemplate(SQLModel, table=True):
    """A message template an admin keeps in Slack and syncs to a Front channel."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("front_channel_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=200, unique=True)
    team_id: str = Field(max_length=32, index=True)
    front_channel_id: str = Field(max_length=200)
    name: str = Field(max_length=255)
    body: str
    is_disabled: bool = False
    front_template_id: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FrontCallback(SQLModel, table=True):
    """Messages Front sent us (a teammate replied from Front), so a repeat posts nothing."""

    __tablename__ = "front_callback"

    front_message_id: str = Field(primary_key=True, max_length=200)
    external_id: str = Field(max_length=200)
    external_conversation_id: str = Field(max_length=200)
    received_at: datetime = Field(default_factory=utcnow)
    # Set once the reply is in Slack; until then a repeat of the callback posts it.
    posted_at: datetime | None = None


class SlackEvent(SQLModel, table=True):
    """Event ids already handled, so Slack's retries do nothing twice."""

    __tablename__ = "slack_event"

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = Field(default_factory=utcnow)


class OutboxPace(SQLModel, table=True):
    """Pacing of Channel API requests for one workspace (its Front company), shared by all
    processes: a token bucket mirrored from Front's x-ratelimit-* headers, updated in the
    claim transaction. Also the schedule of probes while the workspace's deliveries pause."""

    __tablename__ = "outbox_pace"

    team_id: str = Field(primary_key=True, max_length=32)
    tokens: float
    capacity: float
    per_second: float
    refilled_at: datetime
    # No request for this workspace is claimed before this moment (no token, or a 429).
    ready_at: datetime = Field(index=True)
    blocked_until: datetime | None = None
    # Claims counted, and the claim number whose answer last set `tokens`.
    seq: int = 0
    calibrated_seq: int = 0
    probe_at: datetime | None = None
    probes: int = 0
    updated_at: datetime = Field(default_factory=utcnow)
    # Front's second limit, per resource (channel), about 5 requests a second: a smaller
    # bucket that spreads a burst of the company's tokens (see `bot.delivery.pacing`).
    # Never refilled yet (None): full.
    resource_tokens: float = Field(default=4.0, sa_column_kwargs={"server_default": "4"})
    resource_refilled_at: datetime | None = None


class AlertState(StrEnum):
    open = "open"
    retrying = "retrying"
    resolved = "resolved"


class DeliveryAlert(SQLModel, table=True):
    """One Slack alert for deliveries that failed for one cause in one workspace."""

    __tablename__ = "delivery_alert"
    __table_args__ = (
        # At most one unresolved alert per cause: a burst of failures makes one alert.
        Index(
            "ux_delivery_alert_open",
            "team_id",
            "cause",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    cause: str = Field(max_length=255)
    kind: str = Field(max_length=16)  # failed | paused
    state: str = Field(default=AlertState.open, max_length=16)
    status_code: int | None = None
    title: str = Field(default="", max_length=255)
    message: str = ""
    first_row_id: int | None = None
    action: str | None = Field(default=None, max_length=16)
    acted_by: str | None = Field(default=None, max_length=32)
    acted_at: datetime | None = None
    # Bumped on every change, so each Slack post can tell whether it shows the latest.
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryAlertPost(SQLModel, table=True):
    """Where an alert was posted (alerts channel, or a thread), so it is updated in place."""

    __tablename__ = "delivery_alert_post"
    __table_args__ = (UniqueConstraint("alert_id", "channel_id", "thread_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="delivery_alert.id", index=True)
    channel_id: str = Field(max_length=32)
    thread_ts: str = Field(default="", max_length=32)  # "" for a top-level post
    ts: str | None = Field(default=None, max_length=32)
    rendered_version: int = -1
    claimed_at: datetime = Field(default_factory=utcnow)


class DeliveryProcess(SQLModel, table=True):
    """Each process that runs a delivery scheduler, as it last reported itself (every few
    seconds): the status page shows when each last flushed, and a stopped one stands out."""

    __tablename__ = "delivery_process"

    owner: str = Field(primary_key=True, max_length=64)
    host: str = Field(max_length=64)
    pid: int
    started_at: datetime
    last_flush_at: datetime | None = None
    delivered: int = 0
    failed: int = 0
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class SlackPostStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    done = "done"
    failed = "failed"


SLACK_POST_OPEN_SQL = "status IN ('pending', 'sending')"


class SlackPost(SQLModel, table=True):
    """Something to show in Slack (a card, a confirmation, an alert, a reaction), stored in
    the transaction that made it necessary and posted from here, retried until Slack takes
    it: a Slack outage, a 429 or a restart between the ack and the post loses nothing.

    Posts of one `lane` (a call, a conversation, an alert) go one at a time, in order, so a
    card is in Slack before what is said in its thread. `args` say what to show; the post's
    `kind` renders it from the database when it is sent, so a late post is up to date.
    """

    __tablename__ = "slack_post"
    __table_args__ = (
        Index("ix_slack_post_due", "status", "next_attempt_at"),
        Index(
            "ix_slack_post_open_lane",
            "lane",
            "id",
            sqlite_where=text(SLACK_POST_OPEN_SQL),
            postgresql_where=text(SLACK_POST_OPEN_SQL),
        ),
        Index("ix_slack_post_key", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    lane: str = Field(max_length=300)
    kind: str = Field(max_length=64)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Posts with the same key that are still pending say the same thing: one is enough.
    key: str | None = Field(default=None, max_length=300)
    status: str = Field(default=SlackPostStatus.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None
