"""Ids of the messages feature's blocks and actions, and what rides through Slack in
`private_metadata` (pydantic models, never hand-parsed JSON)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from bot.slack.files import SlackFile

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
    template_block = "msg_template"
    template_input = "template"


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
