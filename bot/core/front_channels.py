"""Front channels as Front's callbacks describe them: `authorization` (the channel was
connected to this app in Front) and `delete` (it was removed). The connect picker offers
the authorized channels no Slack channel uses yet; a removed channel's links go.

The authorization callback names no Slack workspace: every workspace's admins see the
channels that are not taken yet, and the first to connect one takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import ChannelLink, FrontChannel, utcnow

MAX_OFFERED = 100  # a static select holds 100 options


def authorized(session: Session, *, front_channel_id: str) -> FrontChannel:
    """Record that Front authorized the channel (again: its time is renewed, a removal
    forgotten)."""
    found = session.get(FrontChannel, front_channel_id, with_for_update=True)
    if found is None:
        try:
            with session.begin_nested():
                found = FrontChannel(front_channel_id=front_channel_id)
                session.add(found)
                session.flush()
            return found
        except IntegrityError:  # the same callback, twice at once: the other one won
            found = session.get(FrontChannel, front_channel_id, with_for_update=True)
            assert found is not None
    found.authorized_at, found.removed_at = utcnow(), None
    session.add(found)
    return found


def is_removed(session: Session, *, front_channel_id: str) -> bool:
    found = session.get(FrontChannel, front_channel_id)
    return found is not None and found.removed_at is not None


def available(session: Session, *, limit: int = MAX_OFFERED) -> list[FrontChannel]:
    """Authorized, not removed, and tied to no Slack channel: newest first."""
    taken = select(ChannelLink.front_channel_id)
    return list(
        session.exec(
            select(FrontChannel)
            .where(
                col(FrontChannel.removed_at).is_(None),
                col(FrontChannel.front_channel_id).not_in(taken),
            )
            .order_by(col(FrontChannel.authorized_at).desc())
            .limit(limit)
        )
    )


def user_of(session: Session, *, front_channel_id: str) -> ChannelLink | None:
    """A Slack channel already tied to this Front channel, if any."""
    return session.exec(
        select(ChannelLink).where(ChannelLink.front_channel_id == front_channel_id)
    ).first()


@dataclass(frozen=True)
class Unlinked:
    """A Slack channel that was tied to a removed Front channel (plain values)."""

    team_id: str
    slack_channel_id: str
    created_by: str | None


def removed(session: Session, *, front_channel_id: str) -> list[Unlinked]:
    """Record the removal and unlink every Slack channel tied to the channel."""
    found = session.get(FrontChannel, front_channel_id, with_for_update=True)
    if found is None:
        found = FrontChannel(front_channel_id=front_channel_id)
    found.removed_at = utcnow()
    session.add(found)
    links = list(
        session.exec(
            select(ChannelLink)
            .where(ChannelLink.front_channel_id == front_channel_id)
            .with_for_update()
        )
    )
    gone = [Unlinked(link.team_id, link.slack_channel_id, link.created_by) for link in links]
    for link in links:
        session.delete(link)
    session.flush()
    return gone
