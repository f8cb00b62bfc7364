"""Block Kit for logging messages: the log form, notices, message cards, mark as failed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    EmailInputElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.core.mrkdwn import escape
from bot.slack.files import SlackFile, megabytes

# Shown on a Slack message once Front has accepted it.
DELIVERED_REACTION = "inbox_tray"
MAX_FILES = 10  # what one file_input takes, and plenty for one message
MAX_BODY_INPUT = 3000  # the most a plain_text_input holds
PRIVATE_METADATA_LIMIT = 3000


class MessageIds(StrEnum):
    shortcut = "log_to_front"  # the message shortcut's callback_id (manifest.yml)
    form_view = "log_message_form"
    mark_failed_view = "mark_message_failed_form"
    add_message = "message_add"
    mark_failed = "message_mark_failed"
    direction_block = "msg_direction"
    direction_input = "direction"
    handle_block = "msg_handle"
    handle_input = "handle"
    name_block = "msg_name"
    name_input = "name"
    email_block = "msg_email"
    email_input = "email"
    subject_block = "msg_subject"
    subject_input = "subject"
    body_block = "msg_body"
    body_input = "body"
    files_block = "msg_files"
    include_files_input = "include_files"
    upload_input = "upload"
    reason_block = "msg_failed_reason"
    reason_input = "reason"


INBOUND, OUTBOUND = "inbound", "outbound"
DIRECTION_LABELS = {
    INBOUND: "Received from the customer",
    OUTBOUND: "Sent to the customer",
}


class FormMeta(BaseModel):
    """Rides in the log form's `private_metadata`: where the message is, and who wrote it."""

    source: Literal["shortcut", "logmsg"]
    team_id: str
    channel_id: str
    # Shortcut: the message. /logmsg: unset (the bot's card, posted on submit, stands for it).
    ts: str | None = None
    # The thread's root: the message's thread, or the card thread being continued.
    root_ts: str | None = None
    # Outbound sender when it is not the person submitting (a teammate's Slack message).
    sender_user: str | None = None
    sender_name: str | None = None
    sender_email: str | None = None
    # The message's files (shortcut). Only ids when the whole objects do not fit.
    files: list[SlackFile] = Field(default_factory=list)
    file_ids: list[str] = Field(default_factory=list)
    file_bytes: int = 0
    # The message is longer than a text input holds: it is read again from Slack and
    # logged as it is, not cut.
    long_text: bool = False

    def dump(self) -> str:
        text = self.model_dump_json(exclude_defaults=True)
        if len(text) > PRIVATE_METADATA_LIMIT and self.files:
            slim = self.model_copy(update={"files": [], "file_ids": [f.id for f in self.files]})
            text = slim.model_dump_json(exclude_defaults=True)
        return text


class MarkFailedMeta(BaseModel):
    external_id: str
    channel_id: str
    # The card to update once marked (unset for a message logged with the shortcut).
    card_ts: str | None = None


@dataclass(frozen=True)
class FormValues:
    """What the log form shows when it opens."""

    direction: str = INBOUND
    handle: str = ""
    name: str = ""
    email: str = ""
    subject: str = ""
    body: str = ""
    about: str | None = None  # a line at the top: where the message comes from
    # Shortcut: the message's files, offered as a checkbox. /logmsg: an upload field.
    files: tuple[SlackFile, ...] = ()
    upload: bool = False


@dataclass(frozen=True)
class Submitted:
    direction: str
    handle: str
    name: str
    email: str
    subject: str
    body: str
    include_files: bool
    uploads: list[SlackFile]


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=PlainTextObject(text=label))


def _files_label(files: tuple[SlackFile, ...]) -> str:
    size = sum(f.size for f in files)
    if len(files) == 1:
        name = files[0].filename
        name = name if len(name) <= 60 else name[:59] + "…"
        return f"Include the file {name} ({megabytes(size)})"
    return f"Include the {len(files)} files ({megabytes(size)})"


# The log form ------------------------------------------------------------------------


def log_form(meta: FormMeta, values: FormValues) -> dict[str, Any]:
    """The modal for one message: direction, contact, subject, body, files."""
    options = [_option(d, label) for d, label in DIRECTION_LABELS.items()]
    blocks: list[Block] = []
    if values.about:
        blocks.append(ContextBlock(elements=[_md(values.about)]))
    blocks += [
        InputBlock(
            block_id=MessageIds.direction_block,
            label="Direction",
            element=RadioButtonsElement(
                action_id=MessageIds.direction_input,
                options=options,
                initial_option=next(o for o in options if o.value == values.direction),
            ),
        ),
        InputBlock(
            block_id=MessageIds.handle_block,
            label="Customer's handle",
            hint="A phone number with its country code (+33 6 12 34 56 78), an email, "
            "or their id on the app the message came from.",
            element=PlainTextInputElement(
                action_id=MessageIds.handle_input,
                initial_value=values.handle or None,
                max_length=200,
                placeholder="+33 6 12 34 56 78",
            ),
        ),
        InputBlock(
            block_id=MessageIds.name_block,
            label="Customer's name",
            optional=True,
            element=PlainTextInputElement(
                action_id=MessageIds.name_input, initial_value=values.name or None, max_length=255
            ),
        ),
        InputBlock(
            block_id=MessageIds.email_block,
            label="Customer's email",
            optional=True,
            hint="Links this contact to the same person on Front's other channels.",
            element=EmailInputElement(
                action_id=MessageIds.email_input, initial_value=values.email or None
            ),
        ),
        InputBlock(
            block_id=MessageIds.subject_block,
            label="Subject",
            optional=True,
            element=PlainTextInputElement(
                action_id=MessageIds.subject_input,
                initial_value=values.subject or None,
                max_length=998,
            ),
        ),
    ]
    if meta.long_text:
        preview = values.body[:600].rstrip() + "…"
        blocks.append(
            SectionBlock(
                block_id=MessageIds.body_block,
                text=_md(
                    f"*Message* ({len(values.body):,} characters: too long to edit here, it is "
                    f"logged in full as written in Slack)\n{_quote(preview)}"
                ),
            )
        )
    else:
        blocks.append(
            InputBlock(
                block_id=MessageIds.body_block,
                label="Message",
                # Optional when files can carry the message on their own.
                optional=bool(values.files or values.upload),
                hint="Slack formatting (*bold*, _italics_, `code`, links) is kept in Front.",
                element=PlainTextInputElement(
                    action_id=MessageIds.body_input,
                    multiline=True,
                    initial_value=values.body or None,
                    max_length=MAX_BODY_INPUT,
                ),
            )
        )
    if values.files:
        option = _option("yes", _files_label(values.files))
        blocks.append(
            InputBlock(
                block_id=MessageIds.files_block,
                label="Files",
                optional=True,
                element=CheckboxesElement(
                    action_id=MessageIds.include_files_input,
                    options=[option],
                    initial_options=[option],
                ),
            )
        )
    elif values.upload:
        blocks.append(
            InputBlock(
                block_id=MessageIds.files_block,
                label="Files",
                optional=True,
                hint="Up to 10 MB each, 25 MB in all.",
                element=FileInputElement(action_id=MessageIds.upload_input, max_files=MAX_FILES),
            )
        )
    return View(
        type="modal",
        callback_id=MessageIds.form_view,
        title="Log to Front",
        submit="Log",
        close="Cancel",
        private_metadata=meta.dump(),
        blocks=blocks,
    ).to_dict()


def _value(state: Mapping[str, Any], block: str, action: str) -> dict[str, Any]:
    value = (state.get(block) or {}).get(action)
    return value if isinstance(value, dict) else {}


def read_form(state_values: Mapping[str, Any]) -> Submitted:
    """The log form's values from a view_submission's `view.state.values`."""
    ids = MessageIds

    def text(block: str, action: str) -> str:
        return str(_value(state_values, block, action).get("value") or "")

    direction = _value(state_values, ids.direction_block, ids.direction_input)
    include = _value(state_values, ids.files_block, ids.include_files_input)
    upload = _value(state_values, ids.files_block, ids.upload_input)
    return Submitted(
        direction=str((direction.get("selected_option") or {}).get("value") or INBOUND),
        handle=text(ids.handle_block, ids.handle_input),
        name=text(ids.name_block, ids.name_input),
        email=text(ids.email_block, ids.email_input),
        subject=text(ids.subject_block, ids.subject_input),
        body=text(ids.body_block, ids.body_input),
        include_files=bool(include.get("selected_options")),
        uploads=[
            SlackFile.model_validate(f) for f in upload.get("files") or [] if isinstance(f, dict)
        ],
    )


def loading_modal() -> dict[str, Any]:
    """Opened at once (a trigger lasts 3 s); replaced when the message has been read."""
    return View(
        type="modal",
        callback_id=MessageIds.form_view,
        title="Log to Front",
        close="Cancel",
        blocks=[SectionBlock(text=_md(":hourglass_flowing_sand: Reading the message…"))],
    ).to_dict()


def mark_failed_button(external_id: str | None) -> ButtonElement:
    """`external_id` unset on a card: the card's own ts names the message it stands for."""
    return ButtonElement(
        text="Mark as failed",
        action_id=MessageIds.mark_failed,
        value=external_id or None,
        style="danger",
    )


# Messages: what was logged ------------------------------------------------------------


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
    if view.direction == OUTBOUND:
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


def _quote(text: str, limit: int = 600) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "\n".join("> " + escape(line) for line in text.splitlines() or [""])


def card_text(view: MessageView, display: str) -> str:
    """The notification text of a card (and what screen readers say)."""
    verb = "sent to" if view.direction == OUTBOUND else "received from"
    return f"Message {verb} {view.name or display}, logged to Front"


def message_card(view: MessageView, display: str) -> list[dict[str, Any]]:
    """The bot's card for a message logged with /logmsg (or Add message in its thread)."""
    lines = [headline(view, display)]
    if view.subject:
        lines.append(f"*Subject:* {escape(view.subject)}")
    if view.body_text:
        lines.append(_quote(view.body_text))
    context = [f"Logged by <@{view.logged_by}>"]
    if view.file_count:
        context.insert(0, f":paperclip: {view.file_count} file{'s' if view.file_count > 1 else ''}")
    context.append(delivery_text(view))
    buttons = [ButtonElement(text="Add message", action_id=MessageIds.add_message)]
    if view.direction == OUTBOUND and not view.marked_failed_by:
        buttons.append(mark_failed_button(view.external_id))
    blocks: list[Block] = [
        SectionBlock(text=_md("\n".join(lines)[:3000])),
        ContextBlock(elements=[_md(" · ".join(context))]),
        ActionsBlock(elements=list(buttons)),
    ]
    return [b.to_dict() for b in blocks]


def confirmation(view: MessageView, display: str) -> list[dict[str, Any]]:
    """Shown only to the person who used the shortcut, in the message's thread."""
    verb = "sent to" if view.direction == OUTBOUND else "received from"
    files = (
        f" with {view.file_count} file{'s' if view.file_count > 1 else ''}"
        if view.file_count
        else ""
    )
    text = (
        f":white_check_mark: Logged to Front as {verb} {contact_text(view, display)}{files}. "
        f"The message gets :{DELIVERED_REACTION}: once Front has it."
    )
    if view.direction == OUTBOUND:
        section = SectionBlock(text=_md(text), accessory=mark_failed_button(view.external_id))
    else:
        section = SectionBlock(text=_md(text))
    return [section.to_dict()]


def already_logged_text(view: MessageView, display: str, permalink: str | None) -> str:
    verb = "sent to" if view.direction == OUTBOUND else "received from"
    seconds = int(view.logged_at.timestamp())
    when = (
        f"<!date^{seconds}^{{date_short_pretty}} at {{time}}|{view.logged_at:%Y-%m-%d %H:%M} UTC>"
    )
    where = f"Front channel `{view.front_channel_id}`"
    thread = f" (<{permalink}|its conversation in Slack>)" if permalink else ""
    return (
        f"This message is already in {where}{thread}: {verb} {contact_text(view, display)}, "
        f"logged by <@{view.logged_by}> {when}.\n{delivery_text(view)}"
    )


# Mark as failed ----------------------------------------------------------------------


def mark_failed_modal(meta: MarkFailedMeta) -> dict[str, Any]:
    return View(
        type="modal",
        callback_id=MessageIds.mark_failed_view,
        title="Mark as failed",
        submit="Mark as failed",
        close="Cancel",
        private_metadata=meta.model_dump_json(exclude_defaults=True),
        blocks=[
            SectionBlock(
                text=_md(
                    "The message never reached the customer? Front reopens its conversation "
                    "and shows your reason to the team."
                )
            ),
            InputBlock(
                block_id=MessageIds.reason_block,
                label="What went wrong",
                element=PlainTextInputElement(
                    action_id=MessageIds.reason_input,
                    multiline=True,
                    max_length=1000,
                    placeholder="The number is no longer in service",
                ),
            ),
        ],
    ).to_dict()


def read_reason(state_values: Mapping[str, Any]) -> str:
    value = _value(state_values, MessageIds.reason_block, MessageIds.reason_input)
    return str(value.get("value") or "")
