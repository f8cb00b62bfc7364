"""Where a request came from: the one place that reads a payload's team, user, channel,
message and thread, for commands, shortcuts, button clicks and view submissions alike.

The team and user come from the verified request itself (never from `private_metadata` or
a button's value): authorization decisions are taken from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Place:
    team_id: str | None
    user_id: str | None
    channel_id: str | None
    # The message a button or shortcut is on (a card, a customer's message).
    message_ts: str | None
    # The thread that message is in, when it is in one (not its own ts for a root message).
    thread_ts: str | None
    # Clicked inside an ephemeral message (it cannot be updated, only replaced).
    ephemeral: bool = False
    # Clicked inside a modal (no channel: the modal's metadata says where it belongs).
    in_modal: bool = False

    @property
    def root_ts(self) -> str | None:
        """The thread's root: the thread, else the message itself (a root card's thread)."""
        return self.thread_ts or self.message_ts


def place_of(body: dict[str, Any]) -> Place:
    """Read a Bolt request body (a command, a shortcut, an action or a view submission)."""
    container = _dict(body.get("container"))
    message = _dict(body.get("message"))
    channel = _dict(body.get("channel"))
    user = _dict(body.get("user"))
    team = _dict(body.get("team"))
    return Place(
        team_id=_str(body.get("team_id")) or _str(team.get("id")) or _str(user.get("team_id")),
        user_id=_str(body.get("user_id")) or _str(user.get("id")),
        channel_id=_str(body.get("channel_id"))
        or _str(container.get("channel_id"))
        or _str(channel.get("id")),
        message_ts=_str(container.get("message_ts")) or _str(message.get("ts")),
        thread_ts=_str(container.get("thread_ts")) or _str(message.get("thread_ts")),
        ephemeral=bool(container.get("is_ephemeral")),
        in_modal=container.get("type") == "view" or body.get("type") == "view_submission",
    )
