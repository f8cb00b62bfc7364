"""Front's `authorization` and `delete` callbacks: a Front channel connected to this app,
or removed. Authorized channels are recorded for the connect picker; a removed channel's
Slack links go, what was queued for it is discarded quietly (it could only fail), and the
admins who linked it hear why. Runs in the callback's transaction; no Slack types."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from bot.core import front_channels, slack_posts
from bot.core.callbacks import CallbackRefused
from bot.core.errors import UserError
from bot.core.links import parse_front_channel_id
from bot.core.mrkdwn import escape
from bot.delivery.alert_actions import discard_channel
from bot.features.alerts.posts import queue_refresh

log = logging.getLogger(__name__)

AUTHORIZATION = "authorization"
DELETE = "delete"
TYPES = frozenset({AUTHORIZATION, DELETE})


def _channel_id(payload: dict[str, Any]) -> str:
    raw = payload.get("channel_id")
    try:
        return parse_front_channel_id(raw if isinstance(raw, str) else "")
    except UserError:
        raise CallbackRefused(400, "payload.channel_id is not a Front channel id") from None


def handle(
    session: Session, *, kind: str, payload: dict[str, Any], webhook_url: str | None
) -> dict[str, Any]:
    """The answer to an `authorization` or `delete` callback."""
    channel_id = _channel_id(payload)
    if kind == AUTHORIZATION:
        front_channels.authorized(session, front_channel_id=channel_id)
        log.info("Front authorized channel %s", channel_id)
        answer: dict[str, Any] = {"type": "success"}
        if webhook_url:
            answer["webhook_url"] = webhook_url
        return answer
    channel_removed(session, front_channel_id=channel_id)
    return {"type": "success"}


def channel_removed(session: Session, *, front_channel_id: str) -> int:
    """Unlink, discard, tell; returns how many deliveries were dropped."""
    unlinked = front_channels.removed(session, front_channel_id=front_channel_id)
    dropped = discard_channel(session, front_channel_id=front_channel_id)
    queue_refresh(session, dropped.alert_ids)  # alerts of its failed rows resolve
    log.info(
        "Front removed channel %s: %d Slack channel(s) unlinked, %d deliveries discarded",
        front_channel_id,
        len(unlinked),
        dropped.rows,
    )
    told: set[tuple[str, str]] = set()
    for link in unlinked:
        if not link.created_by or (link.team_id, link.created_by) in told:
            continue
        told.add((link.team_id, link.created_by))
        channels = ", ".join(
            f"<#{u.slack_channel_id}>"
            for u in unlinked
            if u.team_id == link.team_id and u.created_by == link.created_by
        )
        waiting = (
            f" The {dropped.rows} deliveries still waiting for it were dropped."
            if dropped.rows
            else ""
        )
        slack_posts.tell(
            session,
            team_id=link.team_id,
            user=link.created_by,
            text=(
                f"Front removed the channel `{escape(front_channel_id)}`, so {channels} is no "
                f"longer connected to Front.{waiting} To log there again, add a channel to "
                "Switchboard in Front, then `/switchboard connect` in Slack."
            ),
        )
    return dropped.rows
