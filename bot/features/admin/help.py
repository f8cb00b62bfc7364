"""What `/switchboard help` and the App Home list: every command, in one place."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

HELP_LINES = [
    (
        "`/logcall [number] [in|out]`",
        "log a phone call, live or finished, e.g. `/logcall +33 6 12 34 56 78 out`",
    ),
    ("`/logcall list`", "your last 10 calls, with a link to each card"),
    (
        "`/logmsg [number]`",
        "log a message that happened elsewhere (SMS, WhatsApp...), "
        "e.g. `/logmsg +33 6 12 34 56 78`",
    ),
    ("*Log to Front* (message shortcut)", "log any Slack message into its Front conversation"),
    (
        "`/switchboard connect`",
        "link this channel to a Front channel: pick one Front authorized, or give its id "
        "with `/switchboard connect cha_123` (admins)",
    ),
    ("`/switchboard disconnect`", "unlink this channel (admins)"),
    (
        "`/switchboard capture on|off|emoji NAME`",
        "log Slack Connect messages by themselves, or those reacted to with an emoji (admins)",
    ),
    ("`/switchboard status ok|offline`", "set the Front channel's status (admins)"),
    ("`/switchboard templates`", "sync message templates to Front (admins)"),
    ("`/switchboard alerts #channel`", "where failed deliveries are reported (admins)"),
    ("`/switchboard help`", "this list"),
]


def help_blocks() -> list[dict[str, Any]]:
    text = "*Switchboard* logs calls and customer messages into Front.\n" + "\n".join(
        f"• {cmd}: {what}" for cmd, what in HELP_LINES
    )
    return [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
