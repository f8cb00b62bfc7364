"""Tables about channels as the outside world describes them: Front channels as Front's
callbacks tell of them, and the threads auto-capture decided. `storage.models` imports
them, so they are always on the metadata (migrations, drift checks)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class FrontChannel(SQLModel, table=True):
    """A Front channel as Front's callbacks described it: authorized for this app (the
    connect picker offers it) and perhaps removed since (its links are gone)."""

    __tablename__ = "front_channel"

    front_channel_id: str = Field(primary_key=True, max_length=200)
    authorized_at: datetime = Field(default_factory=_now, index=True)
    removed_at: datetime | None = None


class CaptureThread(SQLModel, table=True):
    """A thread root seen where capture is on: whether its thread is captured (None until
    its root's post decided), so each reply is decided without asking Slack."""

    __tablename__ = "capture_thread"

    team_id: str = Field(primary_key=True, max_length=32)
    slack_channel_id: str = Field(primary_key=True, max_length=32)
    thread_ts: str = Field(primary_key=True, max_length=32)
    captured: bool | None = None
    created_at: datetime = Field(default_factory=_now)
