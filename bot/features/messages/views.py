"""Block Kit for the messages feature's modals: the log form, its loading placeholder,
and mark as failed. Pure functions of plain values; cards are in `card_view`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
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
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.features.messages.card_view import quote
from bot.features.messages.ids import (
    MAX_BODY_INPUT,
    MAX_FILES,
    FormMeta,
    MarkFailedMeta,
    MessageIds,
)
from bot.slack.files import SlackFile, megabytes
from storage.models import Direction

DIRECTION_LABELS = {
    Direction.inbound: "Received from the customer",
    Direction.outbound: "Sent to the customer",
}


@dataclass(frozen=True)
class FormValues:
    """What the log form shows when it opens."""

    direction: str = Direction.inbound
    handle: str = ""
    name: str = ""
    email: str = ""
    subject: str = ""
    body: str = ""
    about: str | None = None  # a line at the top: where the message comes from
    # Shortcut: the message's files, offered as a checkbox. /logmsg: an upload field.
    files: tuple[SlackFile, ...] = ()
    upload: bool = False
    # The channel's enabled message templates: picking one fills the message in.
    templates: tuple[TemplateChoice, ...] = ()


@dataclass(frozen=True)
class TemplateChoice:
    id: int
    name: str


MAX_TEMPLATES = 100  # a static select holds 100 options


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
    if values.templates and not meta.long_text:
        blocks.append(template_block(values.templates))
    if meta.long_text:
        preview = values.body[:600].rstrip() + "…"
        blocks.append(
            SectionBlock(
                block_id=MessageIds.body_block,
                text=_md(
                    f"*Message* ({len(values.body):,} characters: too long to edit here, it is "
                    f"logged in full as written in Slack)\n{quote(preview)}"
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


def template_block(templates: tuple[TemplateChoice, ...]) -> InputBlock:
    """A select that acts as soon as a template is picked (`dispatch_action`)."""
    return InputBlock(
        block_id=MessageIds.template_block,
        label="Template",
        optional=True,
        dispatch_action=True,
        hint="Fills in the message with the customer's name and number; edit it before logging.",
        element=StaticSelectElement(
            action_id=MessageIds.template_input,
            placeholder="Start from a template",
            options=[
                _option(str(t.id), t.name if len(t.name) <= 75 else t.name[:74] + "…")
                for t in templates[:MAX_TEMPLATES]
            ],
        ),
    )


# Carried over when a view is rebuilt from what Slack sent (views.update takes these).
_VIEW_KEYS = ("type", "callback_id", "title", "submit", "close", "private_metadata")


def _with_value(block: dict[str, Any], value: dict[str, Any] | None) -> dict[str, Any]:
    """An input block that shows what its state holds (Slack keeps typed values across
    views.update for unchanged block ids; this says the same, should it not)."""
    element = dict(block.get("element") or {})
    if not value:
        return block
    kind = value.get("type")
    if kind in ("plain_text_input", "email_text_input") and value.get("value"):
        element["initial_value"] = value["value"]
    elif kind in ("radio_buttons", "static_select") and value.get("selected_option"):
        element["initial_option"] = value["selected_option"]
    elif kind == "checkboxes" and "selected_options" in value:
        if value["selected_options"]:
            element["initial_options"] = value["selected_options"]
        else:
            element.pop("initial_options", None)
    return {**block, "element": element}


def with_template(view: dict[str, Any], body_block: str, text: str) -> dict[str, Any]:
    """The log form as the person has it, its message replaced by `text`: the body takes a
    new block id (else Slack keeps what it held), every other input keeps its own."""
    values = (view.get("state") or {}).get("values") or {}
    prefix = MessageIds.body_block + "."
    version = int(body_block[len(prefix) :]) + 1 if body_block.startswith(prefix) else 1
    blocks: list[dict[str, Any]] = []
    for block in view.get("blocks") or []:
        block_id = str(block.get("block_id") or "")
        if block_id == body_block:
            element = {**block["element"], "initial_value": text[:MAX_BODY_INPUT]}
            blocks.append({**block, "block_id": f"{prefix}{version}", "element": element})
        elif block.get("type") == "input":
            action = (block.get("element") or {}).get("action_id")
            blocks.append(_with_value(block, (values.get(block_id) or {}).get(action)))
        else:
            blocks.append(block)
    return {**{k: view[k] for k in _VIEW_KEYS if k in view}, "blocks": blocks}


def loading_modal() -> dict[str, Any]:
    """Opened at once (a trigger lasts 3 s); replaced when the message has been read."""
    return View(
        type="modal",
        callback_id=MessageIds.form_view,
        title="Log to Front",
        close="Cancel",
        blocks=[SectionBlock(text=_md(":hourglass_flowing_sand: Reading the message…"))],
    ).to_dict()


# Messages: what was logged ------------------------------------------------------------


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
