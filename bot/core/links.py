"""Slack channel ↔ Front channel links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Session, select

from bot.core import front_channels
from bot.core.errors import NotLinked, UserError
from bot.core.mrkdwn import escape
from storage.models import ChannelLink, ThreadKind, ThreadLink, Workspace

# Front channel ids (`cha_…`) or a resource alias (`alt:address:…`), as the spec's paths take.
_FRONT_CHANNEL = re.compile(r"^(cha_[A-Za-z0-9]+|alt:address:\S+)$")


def parse_front_channel_id(text: str) -> str:
    value = text.strip()
    if not _FRONT_CHANNEL.match(value) or len(value) > 200:
        raise UserError(
            f"`{value or ' '}` is not a Front channel id. Use the id from Front "
            "(Settings > Channels, it looks like `cha_1a2b3`) or `alt:address:<address>`."
        )
    return value


def ensure_workspace(session: Session, *, team_id: str) -> Workspace:
    ws = session.get(Workspace, team_id)
    if ws is None:
        ws = Workspace(team_id=team_id)
        session.add(ws)
        session.flush()
    return ws


def get_link(session: Session, *, team_id: str, slack_channel_id: str) -> ChannelLink | None:
    return session.exec(
        select(ChannelLink).where(
            ChannelLink.team_id == team_id, ChannelLink.slack_channel_id == slack_channel_id
        )
    ).first()


def thread_link(
    session: Session, *, team_id: str, channel_id: str, thread_ts: str
) -> ThreadLink | None:
    """What a Slack thread is tied to (a call or a Front conversation), if anything."""
    return session.exec(
        select(ThreadLink).where(
            ThreadLink.team_id == team_id,
            ThreadLink.slack_channel_id == channel_id,
            ThreadLink.thread_ts == thread_ts,
        )
    ).first()


def tie_thread(
    session: Session,
    *,
    team_id: str,
    channel_id: str,
    thread_ts: str,
    kind: ThreadKind,
    external_id: str,
    front_channel_id: str,
) -> ThreadLink:
    """Tie a Slack thread to the call or conversation it began, so follow-ups in it go
    to the same place in Front."""
    link = ThreadLink(
        team_id=team_id,
        slack_channel_id=channel_id,
        thread_ts=thread_ts,
        kind=kind,
        external_id=external_id,
        front_channel_id=front_channel_id,
    )
    session.add(link)
    return link


def require_link(session: Session, *, team_id: str, slack_channel_id: str) -> ChannelLink:
    link = get_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    if link is None:
        raise NotLinked()
    return link


def connect(
    session: Session, *, team_id: str, slack_channel_id: str, front_channel_id: str, user_id: str
) -> ChannelLink:
    """Link (or re-link) a Slack channel to a Front channel. A Front channel another
    workspace uses stays theirs: the deployment's Channel API credentials would otherwise
    let one workspace write into another's Front channel by typing its id."""
    if front_channels.is_removed(session, front_channel_id=front_channel_id):
        raise UserError(
            f"Front removed the channel `{escape(front_channel_id)}`. Add it to this app again in "
            "Front first (Front then tells Switchboard), then connect it here."
        )
    other = session.exec(
        select(ChannelLink).where(
            ChannelLink.front_channel_id == front_channel_id, ChannelLink.team_id != team_id
        )
    ).first()
    if other is not None:
        raise UserError(
            f"The Front channel `{escape(front_channel_id)}` is connected to another Slack "
            "workspace. Pick a channel that belongs to this one."
        )
    ensure_workspace(session, team_id=team_id)
    link = get_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    if link is None:
        link = ChannelLink(
            team_id=team_id,
            slack_channel_id=slack_channel_id,
            front_channel_id=front_channel_id,
            created_by=user_id,
        )
    else:
        link.front_channel_id = front_channel_id
        link.created_by = user_id
    session.add(link)
    session.flush()
    return link


class CaptureMode(StrEnum):
    off = "off"
    on = "on"  # messages from other organisations, and their threads
    emoji = "emoji"  # a reaction with the channel's emoji logs a message


DEFAULT_CAPTURE_EMOJI = "ticket"
_EMOJI = re.compile(r"^[a-z0-9_+\-']{1,100}$")


def parse_emoji(text: str) -> str:
    """`:ticket:`, `ticket` → `ticket`; UserError for what Slack cannot name an emoji."""
    value = text.strip().strip(":").lower()
    if not _EMOJI.match(value):
        raise UserError(
            f"`{text.strip()[:60] or ' '}` is not an emoji name: use one like `ticket` "
            "or `:ticket:`."
        )
    return value


def set_capture(
    session: Session,
    *,
    team_id: str,
    slack_channel_id: str,
    mode: CaptureMode,
    user_id: str,
    emoji: str | None = None,
) -> ChannelLink:
    """Turn auto-capture on (from now: older threads are left alone), off, or to an emoji."""
    link = require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    link.capture = mode
    link.capture_emoji = (emoji or DEFAULT_CAPTURE_EMOJI) if mode == CaptureMode.emoji else None
    if mode == CaptureMode.off:
        link.capture_since = None
    else:
        # Who turned it on hears about what could not be captured.
        link.capture_since = link.capture_since or datetime.now(UTC)
        link.capture_by = user_id
    session.add(link)
    session.flush()
    return link


def disconnect(session: Session, *, team_id: str, slack_channel_id: str) -> ChannelLink:
    link = require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    session.delete(link)
    return link


def list_links(session: Session, *, team_id: str) -> list[ChannelLink]:
    return list(session.exec(select(ChannelLink).where(ChannelLink.team_id == team_id)))
