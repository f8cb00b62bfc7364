"""Every Slack listener, registered in one place; each callback lives in a sibling module."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import commands


def register_listeners(app: AsyncApp) -> None:
    app.command("/switchboard")(commands.switchboard_command)
