"""Modals every feature uses: a notice, and the "loading" placeholder a trigger opens."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ButtonElement, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View


def notice_modal(title: str, text: str, *, button: ButtonElement | None = None) -> dict[str, Any]:
    """A modal that only says something (it replaces one opened before we knew)."""
    section = SectionBlock(text=MarkdownTextObject(text=text), accessory=button)
    return View(type="modal", title=title, close="Close", blocks=[section]).to_dict()
