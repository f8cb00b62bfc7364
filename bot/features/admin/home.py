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
from bot.features.calls.card_view import history_text

# Slack's limits for a view: 100 blocks; 3,000 characters in a section's text.
MAX_BLOCKS = 100
MAX_TEXT = 3000


def _md(text: str) -> SectionBlock:
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    return SectionBlock(text=MarkdownTextObject(text=text))


def _link_sections(lines: list[str], budget: int) -> list[Block]:
    """The connected channels in as few sections as fit Slack's limits: lines packed up
    to MAX_TEXT characters a section, at most `budget` sections, the rest counted."""

    def more(n: int) -> str:
        return f"…and {n} more (`/switchboard help` in a channel shows its link)"

    reserve = len(more(len(lines))) + 1  # room in every section for that last line
    texts: list[str] = []
    current, shown = "*Connected channels*", 0
    for line in lines:
        if len(current) + 1 + len(line) > MAX_TEXT - reserve:
            if len(texts) + 1 >= max(1, budget):
                break
            texts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
        shown += 1
    if shown < len(lines):
        current += "\n" + more(len(lines) - shown)
    texts.append(current)
    return [_md(text) for text in texts]


def home_view(
    snapshot: HomeSnapshot, *, front_configured: bool, recent_calls: list[str] | None = None
) -> dict[str, Any]:
    """The App Home; `recent_calls`: the viewer's last calls, a line each (calls' history)."""
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
    if recent_calls is not None:
        calls = history_text(recent_calls, "*Your last calls*") if recent_calls else None
        blocks += [
            _md(calls or "*Your last calls*\nNone yet: `/logcall` logs one."),
            DividerBlock(),
        ]

    links: list[Block] = []
    if not snapshot.links:
        links.append(
            _md(
                "*Connected channels*\nNone yet. In a channel, an admin types "
                "`/switchboard connect cha_123` with the Front channel's id."
            )
        )
    after: list[Block] = []
    alerts = (
        f"<#{snapshot.alerts_channel_id}>"
        if snapshot.alerts_channel_id
        else "the thread where each item was logged"
    )
    after.append(
        _md(f"*Failure alerts* go to {alerts}. Change with `/switchboard alerts #channel`.")
    )
    after.append(
        _md(
            f"*Message templates*: {snapshot.templates}. "
            "Manage them with `/switchboard templates` in a connected channel."
        )
    )
    after.append(DividerBlock())
    after.append(_md("*Commands*\n" + "\n".join(f"• {c}: {w}" for c, w in HELP_LINES)))
    after.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Calls and messages reach Front through a durable outbox: "
                    "nothing is lost while Front is down or busy."
                )
            ]
        )
    )
    if snapshot.links:
        lines = [
            f"• <#{link.slack_channel_id}> → `{link.front_channel_id}`"
            + (f" (status: {link.front_status})" if link.front_status else "")
            + (" · capture on" if link.capture == "on" else "")
            + (f" · :{link.capture_emoji}: logs" if link.capture == "emoji" else "")
            for link in snapshot.links
        ]
        links = _link_sections(lines, MAX_BLOCKS - len(blocks) - len(after))
    return View(type="home", blocks=[*blocks, *links, *after]).to_dict()
