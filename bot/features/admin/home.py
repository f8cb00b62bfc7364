"""The App Home: the state of things, for everyone in the workspace."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.features.admin.help import HELP_LINES
from bot.features.admin.service import HomeSnapshot


def _md(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def home_view(snapshot: HomeSnapshot, *, front_configured: bool) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text="Switchboard")]
    if not front_configured:
        blocks.append(
            _md(
                ":warning: *Front credentials are not set.* Deliveries wait in the "
                "outbox until FRONT_APP_UID and FRONT_APP_SECRET are configured."
            )
        )
    if snapshot.paused_reason:
        blocks.append(
            _md(f":double_vertical_bar: *Deliveries are paused:* {snapshot.paused_reason}")
        )
    counts = snapshot.outbox_counts
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    failed = counts.get("failed", 0)
    state = (
        ":white_check_mark: everything logged is in Front"
        if not (waiting or failed)
        else (
            f":hourglass_flowing_sand: {waiting} on the way to Front"
            + (f" · :x: {failed} failed (see the alerts for Retry / Discard)" if failed else "")
        )
    )
    blocks += [_md(f"*Deliveries*\n{state}"), DividerBlock()]

    if snapshot.links:
        lines = [
            f"• <#{link.slack_channel_id}> → `{link.front_channel_id}`"
            + (f" (status: {link.front_status})" if link.front_status else "")
            for link in snapshot.links
        ]
        blocks.append(_md("*Connected channels*\n" + "\n".join(lines)))
    else:
        blocks.append(
            _md(
                "*Connected channels*\nNone yet. In a channel, an admin types "
                "`/switchboard connect cha_123` with the Front channel's id."
            )
        )
    alerts = (
        f"<#{snapshot.alerts_channel_id}>"
        if snapshot.alerts_channel_id
        else "the thread where each item was logged"
    )
    blocks.append(
        _md(f"*Failure alerts* go to {alerts}. Change with `/switchboard alerts #channel`.")
    )
    blocks.append(
        _md(
            f"*Message templates*: {snapshot.templates}. "
            "Manage them with `/switchboard templates` in a connected channel."
        )
    )
    blocks.append(DividerBlock())
    blocks.append(_md("*Commands*\n" + "\n".join(f"• {c}: {w}" for c, w in HELP_LINES)))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Calls and messages reach Front through a durable outbox: "
                    "nothing is lost while Front is down or busy."
                )
            ]
        )
    )
    return View(type="home", blocks=blocks).to_dict()
