"""Slash command listeners: ack at once, then hand over to a service."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.views import help_blocks


async def switchboard_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    await respond(response_type="ephemeral", blocks=help_blocks(), text="Switchboard help")
