"""`/switchboard`: help, disconnect, and a table other areas add subcommands to (connect
and capture are in `channels`).

Every subcommand is an async function called with keyword arguments `client`, `command`,
`runtime` and `args` (the text after the subcommand's name). It runs BEFORE the ack (what
it stores is stored when Slack hears back) and returns the text to show the person: the
ack carries it, as an ephemeral answer. Raising `UserError` answers with its message.
Subcommands that open a modal (`opens_modal`: templates, connect without an id) run after
the ack instead: the modal says it.

To add one: write the function (in its feature's listener module) and add one line to
`SUBCOMMANDS`, plus a line in `bot.features.admin.help.HELP_LINES`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import links
from bot.core.errors import UserError
from bot.core.mrkdwn import escape
from bot.core.uow import in_transaction
from bot.features.admin import channels
from bot.features.admin import listeners as admin
from bot.features.admin.help import help_blocks
from bot.features.alerts import listeners as delivery_alerts
from bot.runtime import Runtime
from bot.slack.errors import UNEXPECTED
from bot.slack.permissions import require_admin

log = logging.getLogger(__name__)


class Subcommand(Protocol):
    def __call__(
        self, *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
    ) -> Awaitable[str | None]: ...


async def help_subcommand(
    *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
) -> str | None:
    return None  # the dispatcher shows the help blocks


async def disconnect_subcommand(
    *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
) -> str | None:
    await require_admin(client, command["user_id"], "disconnect a channel from Front")
    link = await in_transaction(
        runtime,
        links.disconnect,
        team_id=command["team_id"],
        slack_channel_id=command["channel_id"],
    )
    runtime.caches.linked.discard((command["team_id"], command["channel_id"]))
    return (
        f"Disconnected <#{command['channel_id']}> from Front channel `{link.front_channel_id}`. "
        "Deliveries already queued still go out."
    )


# One line per subcommand; other areas add theirs here.
SUBCOMMANDS: dict[str, Subcommand] = {
    "help": help_subcommand,
    "connect": channels.connect_subcommand,
    "capture": channels.capture_subcommand,
    "disconnect": disconnect_subcommand,
    "alerts": delivery_alerts.alerts_subcommand,
    "status": admin.status_subcommand,
    "templates": admin.templates_subcommand,
}


def split_subcommand(text: str) -> tuple[str, str]:
    """`"connect cha_1"` → `("connect", "cha_1")`; empty text means help."""
    name, _, args = text.strip().partition(" ")
    return (name.lower() or "help"), args.strip()


# These answer with a modal, opened with the command's trigger: ack first, then open.
OPENS_MODAL = frozenset({"templates"})


def opens_modal(name: str, args: str) -> bool:
    """`connect` alone opens the picker; with an id it answers in the ack."""
    return name in OPENS_MODAL or (name == "connect" and not args)


# Longer subcommand names are not ours: never echo a 100 KB word back.
MAX_NAME = 40


def _markdown(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=text)).to_dict()


async def switchboard_command(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    name, args = split_subcommand(str(command.get("text") or ""))
    handler = SUBCOMMANDS.get(name)
    if handler is None:
        shown = escape(name[:MAX_NAME] + ("…" if len(name) > MAX_NAME else ""))
        await ack(
            response_type="ephemeral",
            text=f"I don't know `/switchboard {shown}`. Here is what I can do.",
            blocks=[_markdown(f"I don't know `/switchboard {shown}`."), *help_blocks()],
        )
        return
    if name == "help":
        await ack(response_type="ephemeral", text="Switchboard help", blocks=help_blocks())
        return
    if opens_modal(name, args):
        await ack()
        await handler(client=client, command=command, runtime=context["runtime"], args=args)
        return
    try:
        answer = await handler(
            client=client, command=command, runtime=context["runtime"], args=args
        )
    except UserError as exc:
        answer = str(exc)
    except Exception:
        log.exception("/switchboard %s failed", name)
        answer = UNEXPECTED
    await ack(response_type="ephemeral", text=answer or "Done.")
