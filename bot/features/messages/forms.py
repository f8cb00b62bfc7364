"""Reading the messages feature's modals: the log form and the mark-as-failed reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.features.messages.ids import MessageIds
from bot.slack.files import SlackFile
from bot.slack.forms import ViewState
from storage.models import Direction


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


def body_block(block_ids: list[str]) -> str:
    """The body's block id: `msg_body`, or `msg_body.N` once a template replaced its text
    (Slack keeps what an input holds unless its block id changes)."""
    prefix = MessageIds.body_block + "."
    versions = [b for b in block_ids if b.startswith(prefix)]
    return max(versions, key=lambda b: int(b[len(prefix) :] or 0), default=MessageIds.body_block)


def view_block_ids(view: dict[str, Any]) -> list[str]:
    return [str(b.get("block_id")) for b in view.get("blocks") or [] if b.get("block_id")]


def read_form(state: ViewState) -> Submitted:
    """The log form's values from a view_submission's state."""
    ids = MessageIds
    return Submitted(
        direction=state.option(ids.direction_block, ids.direction_input) or Direction.inbound,
        handle=state.text(ids.handle_block, ids.handle_input),
        name=state.text(ids.name_block, ids.name_input),
        email=state.text(ids.email_block, ids.email_input),
        subject=state.text(ids.subject_block, ids.subject_input),
        body=state.text(body_block(state.block_ids()), ids.body_input),
        include_files=bool(state.options(ids.files_block, ids.include_files_input)),
        uploads=[
            SlackFile.model_validate(f) for f in state.files(ids.files_block, ids.upload_input)
        ],
    )


def read_reason(state: ViewState) -> str:
    return state.text(MessageIds.reason_block, MessageIds.reason_input)
