"""Block Kit for a logged message: its card (/logmsg), the shortcut's confirmation and the
"already in Front" notice. Pure functions; everything a person typed is escaped here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.mrkdwn import escape
from bot.features.messages.ids import MessageIds
from storage.models import Direction


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


# Shown on a Slack message once Front has accepted it.
DELIVERED_REACTION = "inbox_tray"


def mark_failed_button(external_id: str | None) -> ButtonElement:
    """`external_id` unset on a card: the card's own ts names the message it stands for."""
    return ButtonElement(
        text="Mark as failed",
        action_id=MessageIds.mark_failed,
        value=external_id or None,
        style="danger",
    )


@dataclass(frozen=True)
class MessageView:
    """A logged message as cards and confirmations show it."""

    external_id: str
    direction: str
    handle: str
    name: str | None
    email: str | None
    subject: str | None
    body_text: str | None
    file_count: int
    logged_by: str
    logged_at: datetime
    delivery_state: str  # queued | delivered | failed
    front_channel_id: str
    source: str
    marked_failed_by: str | None = None
    failed_reason: str | None = None


def contact_text(view: MessageView, display: str) -> str:
    """`Ada Lovelace (+33 6 12 34 56 78)`; `display` is the handle made readable."""
    parts = [display]
    if view.email and view.email != view.handle:
        parts.append(view.email)
    inside = " · ".join(escape(p) for p in parts)
    return f"{escape(view.name)} ({inside})" if view.name else inside


def headline(view: MessageView, display: str) -> str:
    who = contact_text(view, display)
    if view.direction == Direction.outbound:
        return f":outbox_tray: *Sent to* {who}"
    return f":incoming_envelope: *Received from* {who}"


def delivery_text(view: MessageView) -> str:
    if view.marked_failed_by:
        reason = f": {escape(view.failed_reason)}" if view.failed_reason else ""
        return f":warning: Marked as failed by <@{view.marked_failed_by}>{reason}"
    match view.delivery_state:
        case "delivered":
            return ":white_check_mark: In Front"
        case "failed":
            return ":x: Not in Front: delivery failed (see the delivery alert)"
        case _:
            return ":hourglass_flowing_sand: Queued for Front"


def quote(text: str, limit: int = 600) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "\n".join("> " + escape(line) for line in text.splitlines() or [""])


def logged_by_text(view: MessageView) -> str:
    """Who put the message in Front: a person, auto-capture, or Front itself (a reply)."""
    if view.source == "front":
        return "written in Front"
    if view.source == "capture":
        return "captured automatically"
    return f"logged by <@{view.logged_by}>"


def card_text(view: MessageView, display: str) -> str:
    """The notification text of a card (and what screen readers say)."""
    verb = "sent to" if view.direction == Direction.outbound else "received from"
    return f"Message {verb} {escape(view.name or display)}, logged to Front"


def message_card(view: MessageView, display: str) -> list[dict[str, Any]]:
    """The bot's card for a message logged with /logmsg (or Add message in its thread)."""
    lines = [headline(view, display)]
    if view.subject:
        lines.append(f"*Subject:* {escape(view.subject)}")
    if view.body_text:
        lines.append(quote(view.body_text))
    by = logged_by_text(view)
    context = [by[:1].upper() + by[1:]]
    if view.file_count:
        context.insert(0, f":paperclip: {view.file_count} file{'s' if view.file_count > 1 else ''}")
    context.append(delivery_text(view))
    buttons = [ButtonElement(text="Add message", action_id=MessageIds.add_message)]
    if view.direction == Direction.outbound and not view.marked_failed_by:
        buttons.append(mark_failed_button(view.external_id))
    blocks: list[Block] = [
        SectionBlock(text=_md("\n".join(lines)[:3000])),
        ContextBlock(elements=[_md(" · ".join(context))]),
        ActionsBlock(elements=list(buttons)),
    ]
    return [b.to_dict() for b in blocks]


def confirmation(view: MessageView, display: str) -> list[dict[str, Any]]:
    """Shown only to the person who used the shortcut, in the message's thread."""
    verb = "sent to" if view.direction == Direction.outbound else "received from"
    files = (
        f" with {view.file_count} file{'s' if view.file_count > 1 else ''}"
        if view.file_count
        else ""
    )
    text = (
        f":white_check_mark: Logged to Front as {verb} {contact_text(view, display)}{files}. "
        f"The message gets :{DELIVERED_REACTION}: once Front has it."
    )
    if view.direction == Direction.outbound:
        section = SectionBlock(text=_md(text), accessory=mark_failed_button(view.external_id))
    else:
        section = SectionBlock(text=_md(text))
    return [section.to_dict()]


def already_logged_text(view: MessageView, display: str, permalink: str | None) -> str:
    verb = "sent to" if view.direction == Direction.outbound else "received from"
    seconds = int(view.logged_at.timestamp())
    when = (
        f"<!date^{seconds}^{{date_short_pretty}} at {{time}}|{view.logged_at:%Y-%m-%d %H:%M} UTC>"
    )
    where = f"Front channel `{view.front_channel_id}`"
    thread = f" (<{permalink}|its conversation in Slack>)" if permalink else ""
    return (
        f"This message is already in {where}{thread}: {verb} {contact_text(view, display)}, "
        f"{logged_by_text(view)} {when}.\n{delivery_text(view)}"
    )
