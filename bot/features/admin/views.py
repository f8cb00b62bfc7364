"""Message template modals: the list, and the form to add or edit one."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.core.mrkdwn import escape
from storage.models import MessageTemplate


class TemplateIds(StrEnum):
    list_view = "templates_list"
    form_view = "template_form"
    add = "template_add"
    edit = "template_edit"
    toggle = "template_toggle"
    resync = "templates_resync"
    name_block = "template_name"
    name_input = "name"
    body_block = "template_body"
    body_input = "body"


class TemplateMeta(BaseModel):
    """Rides in `private_metadata`: where the modal was opened, and which template."""

    team_id: str
    channel_id: str
    template_id: int | None = None


def templates_notice_view(text: str, *, callback_id: str = TemplateIds.list_view) -> dict[str, Any]:
    """Opened at once (a trigger lasts 3 s), then replaced by the list or the form."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text="Message templates"),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    ).to_dict()


LOADING = ":hourglass_flowing_sand: Loading…"


def templates_list_view(meta: TemplateMeta, templates: list[MessageTemplate]) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Templates of <#{meta.channel_id}>'s Front channel. Use `{{{{name}}}}` for "
                "variables; they become the template's variable mappings in Front."
            )
        ),
        ActionsBlock(
            elements=[
                ButtonElement(text="Add template", action_id=TemplateIds.add, style="primary"),
                ButtonElement(text="Sync all to Front", action_id=TemplateIds.resync),
            ]
        ),
        DividerBlock(),
    ]
    for t in templates[:40]:  # a view holds 100 blocks; two per template plus the header
        state = " _(disabled)_" if t.is_disabled else ""
        preview = t.body if len(t.body) <= 200 else t.body[:199] + "…"
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*{escape(t.name)}*{state}\n{escape(preview)}"),
                accessory=ButtonElement(text="Edit", action_id=TemplateIds.edit, value=str(t.id)),
            )
        )
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Enable" if t.is_disabled else "Disable",
                        action_id=TemplateIds.toggle,
                        value=f"{t.id}:{'0' if t.is_disabled else '1'}",
                    )
                ]
            )
        )
    if not templates:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="No templates yet.")]))
    return View(
        type="modal",
        callback_id=TemplateIds.list_view,
        title=PlainTextObject(text="Message templates"),
        close=PlainTextObject(text="Done"),
        private_metadata=meta.model_dump_json(),
        blocks=blocks,
    ).to_dict()


def template_form_view(meta: TemplateMeta, template: MessageTemplate | None) -> dict[str, Any]:
    return View(
        type="modal",
        callback_id=TemplateIds.form_view,
        title=PlainTextObject(text="Edit template" if template else "New template"),
        submit=PlainTextObject(text="Save and sync"),
        close=PlainTextObject(text="Back"),
        private_metadata=meta.model_dump_json(),
        blocks=[
            InputBlock(
                block_id=TemplateIds.name_block,
                label="Name",
                element=PlainTextInputElement(
                    action_id=TemplateIds.name_input,
                    initial_value=template.name if template else None,
                    max_length=255,
                    placeholder="Appointment reminder",
                ),
            ),
            InputBlock(
                block_id=TemplateIds.body_block,
                label="Text",
                hint="Variables look like {{first_name}}.",
                element=PlainTextInputElement(
                    action_id=TemplateIds.body_input,
                    multiline=True,
                    initial_value=template.body if template else None,
                    max_length=3000,
                ),
            ),
        ],
    ).to_dict()
