"""Block Kit for connecting a channel: the picker of Front channels Front authorized (with
a field for an id typed by hand), and the words for links and auto-capture. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.mrkdwn import escape
from storage.models import FrontChannel

MAX_OPTION_VALUE = 150  # Slack's limit for an option's value
MAX_OPTION_TEXT = 75


class ConnectIds(StrEnum):
    view = "connect_front_channel"
    pick_block = "connect_pick"
    pick_input = "front_channel"
    manual_block = "connect_manual"
    manual_input = "front_channel_id"


class ConnectMeta(BaseModel):
    """Rides in `private_metadata`: the Slack channel to connect (the team is the
    submitting person's own, from the verified request)."""

    channel_id: str


def ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 7 * 86400:
        days = seconds // 86400
        return f"{days} day{'s' if days > 1 else ''} ago"
    return f"on {then:%Y-%m-%d}"


def _option(channel: FrontChannel, now: datetime) -> Option:
    when = f" · authorized {ago(channel.authorized_at, now)}"
    name = channel.front_channel_id
    room = MAX_OPTION_TEXT - len(when)
    shown = name if len(name) <= room else name[: room - 1] + "…"
    return Option(value=name, text=PlainTextObject(text=shown + when))


def connect_picker_view(
    meta: ConnectMeta, channels: Sequence[FrontChannel], *, now: datetime
) -> dict[str, Any]:
    offered = [c for c in channels if len(c.front_channel_id) <= MAX_OPTION_VALUE]
    blocks: list[Block] = []
    if offered:
        blocks.append(
            InputBlock(
                block_id=ConnectIds.pick_block,
                label="Front channel",
                optional=True,
                hint="Channels Front connected to Switchboard that no Slack channel uses yet, "
                "newest first.",
                element=StaticSelectElement(
                    action_id=ConnectIds.pick_input,
                    placeholder="Pick a channel",
                    options=[_option(c, now) for c in offered],
                ),
            )
        )
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Front has not connected a channel to Switchboard yet (or every "
                        "one is in use). Add a channel to Switchboard in Front and open this "
                        "again, or type the channel's id below."
                    )
                ]
            )
        )
    blocks.append(
        InputBlock(
            block_id=ConnectIds.manual_block,
            label="Or the Front channel's id",
            optional=True,
            hint="From Front's channel settings: it looks like cha_1a2b3, or alt:address:…",
            element=PlainTextInputElement(
                action_id=ConnectIds.manual_input, max_length=200, placeholder="cha_123"
            ),
        )
    )
    return View(
        type="modal",
        callback_id=ConnectIds.view,
        title="Connect to Front",
        submit="Connect",
        close="Cancel",
        private_metadata=meta.model_dump_json(),
        blocks=blocks,
    ).to_dict()


def connected_text(slack_channel_id: str, front_channel_id: str) -> str:
    return (
        f"Connected: calls and messages logged in <#{slack_channel_id}> now go to the "
        f"Front channel `{escape(front_channel_id)}`. Try `/logcall` to log a call."
    )


def capture_text(channel_id: str, mode: str, emoji: str | None, *, shared: bool = True) -> str:
    if mode == "on":
        text = (
            f"Auto-capture is *on* in <#{channel_id}>: a message someone of another "
            "organisation starts here is logged to Front as received, and its thread becomes "
            "the conversation (their replies follow as received, your teammates' as sent). "
            "Edits and deletions are not synced: the first edit of a logged message gets a "
            "note in its thread. `/switchboard capture off` stops it."
        )
        if not shared:
            text += (
                "\n:warning: This channel is not shared with another organisation (Slack "
                "Connect): nothing is captured until it is."
            )
        return text
    if mode == "emoji":
        return (
            f"In <#{channel_id}>, reacting to a message with :{emoji}: logs it to Front, as "
            "*Log to Front* would without its form. Messages are not captured otherwise."
        )
    return (
        f"Auto-capture is *off* in <#{channel_id}>: messages are logged by hand (*Log to "
        "Front*, `/logmsg`). `/switchboard capture on` logs Slack Connect messages by "
        "themselves; `/switchboard capture emoji ticket` logs those reacted to with :ticket:."
    )
