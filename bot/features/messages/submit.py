"""The log form's submission: checked inside the ack (field errors stay in the modal), then
the files are fetched and the message is stored and queued; people are told in the
channel, never left guessing.

A message logged with the shortcut gets an ephemeral confirmation (the channel may be a
Slack Connect channel shared with the customer, where a bot reply would show them our
bookkeeping) and, once Front has it, a reaction everyone sees. A message logged with
/logmsg happened outside Slack: the bot's card in the channel is its record.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError

from bot.core.errors import InvalidFields, NotLinked, UserError
from bot.core.links import get_link
from bot.core.mrkdwn import editable_text, escape, to_html
from bot.core.phones import display_handle
from bot.core.uow import in_transaction, read
from bot.delivery.outbox import FileToSend
from bot.features.messages import drafts, service
from bot.features.messages.card_view import already_logged_text, card_text, confirmation
from bot.features.messages.cards import card, view_of
from bot.features.messages.forms import Submitted, read_form
from bot.features.messages.ids import FormMeta, MessageIds
from bot.runtime import Runtime
from bot.slack import lookups
from bot.slack.errors import UNEXPECTED
from bot.slack.files import SlackFile, fetch_files
from bot.slack.forms import Submission, view_submission
from bot.slack.say import tell
from storage.models import Direction, LoggedMessage

log = logging.getLogger(__name__)

FIELD_BLOCKS: dict[str, str] = {
    "handle": MessageIds.handle_block,
    "email": MessageIds.email_block,
    "direction": MessageIds.direction_block,
    "body": MessageIds.body_block,
    "files": MessageIds.files_block,
}

Form = Submission[FormMeta]


def chosen_files(meta: FormMeta, form: Submitted) -> list[SlackFile] | list[str]:
    if meta.source == "logmsg":
        return form.uploads
    if not form.include_files:
        return []
    return meta.files or meta.file_ids


def check(meta: FormMeta, form: Submitted, region: str) -> drafts.Contact:
    """Everything that can be checked without waiting; `InvalidFields` for the modal."""
    errors: dict[str, str] = {}
    contact: drafts.Contact | None = None
    try:
        contact = drafts.check_contact(
            handle=form.handle, name=form.name, email=form.email, region=region
        )
    except InvalidFields as exc:
        errors.update(exc.errors)
    if form.direction not in set(Direction):
        errors["direction"] = "Choose whether the message was received or sent."
    with_files = chosen_files(meta, form)
    if not form.body.strip() and not with_files and not meta.long_text:
        errors["body"] = "Type the message (or attach a file)."
    size = (
        meta.file_bytes
        if form.include_files and meta.source == "shortcut"
        else sum(f.size for f in form.uploads)
    )
    try:
        # File sizes are in the payload: checked here, before anything is downloaded.
        drafts.check_size(size if with_files else 0, to_html(form.body))
    except drafts.FilesTooLarge as exc:
        fix = (
            "Untick the box to log the message without them."
            if meta.source == "shortcut"
            else "Remove some, or log the message without files."
        )
        errors["files"] = f"{exc} {fix}"
    if errors or contact is None:
        raise InvalidFields(errors)
    return contact


async def _accept(sub: Form) -> tuple[Submitted, drafts.Contact]:
    form = read_form(sub.state)
    return form, check(sub.meta, form, sub.runtime.settings.default_phone_region)


async def _log_it(sub: Form, checked: tuple[Submitted, drafts.Contact]) -> None:
    form, contact = checked
    meta, client, user_id = sub.meta, sub.client, sub.user_id
    thread = meta.root_ts if meta.root_ts and meta.root_ts != meta.ts else None
    try:
        if meta.source == "shortcut":
            await _log_shortcut(sub, form, contact)
        else:
            await _log_elsewhere(sub, form, contact)
    except UserError as exc:
        await tell(client, channel=meta.channel_id, user=user_id, text=str(exc), thread_ts=thread)
    except Exception:
        log.exception("logging a message failed")
        await tell(client, channel=meta.channel_id, user=user_id, text=UNEXPECTED, thread_ts=thread)


form_submitted = view_submission(
    FormMeta, _accept, _log_it, blocks=FIELD_BLOCKS, default_block=MessageIds.body_block
)


async def _files(client: AsyncWebClient, chosen: list[SlackFile] | list[str]) -> list[FileToSend]:
    files: list[SlackFile] = []
    for item in chosen:
        if isinstance(item, SlackFile):
            files.append(item)
        else:  # only the id fitted in the modal's metadata
            info = await client.files_info(file=item)
            files.append(SlackFile.model_validate(info["file"]))
    try:
        return await fetch_files(client, files)
    except UserError as exc:
        raise UserError(f"{exc} Nothing was logged; log it again without the files.") from None


async def _message_text(runtime: Runtime, client: AsyncWebClient, meta: FormMeta) -> str:
    """A message's whole text, read again from Slack, in the editable form."""
    assert meta.ts is not None and meta.root_ts is not None
    channel, ts, root = meta.channel_id, meta.ts, meta.root_ts
    try:
        if root == ts:
            found = await client.conversations_history(
                channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
            )
        else:
            found = await client.conversations_replies(
                channel=channel, ts=root, latest=ts, oldest=ts, inclusive=True, limit=2
            )
    except SlackApiError as exc:
        raise UserError(
            "Switchboard could not read this long message again from Slack "
            f"({exc.response.get('error')}); invite the app to the channel and try again."
        ) from None
    for message in found.get("messages") or []:
        if message.get("ts") == ts:
            wire = str(message.get("text") or "")
            users, channels = await lookups.mention_names(runtime, client, wire)
            return editable_text(wire, users=users, channels=channels)
    raise UserError("This message is no longer in Slack: nothing was logged.")


async def _sender(sub: Form) -> tuple[str | None, str | None]:
    """(name, email) of who sent an outbound message: the Slack author, or the logger."""
    if sub.meta.sender_user:
        return sub.meta.sender_name, sub.meta.sender_email
    person = await lookups.user(sub.runtime, sub.client, sub.user_id)
    return lookups.name_of(person), lookups.email_of(person)


async def _body_html(sub: Form, text: str, files: list[FileToSend]) -> str:
    if not text.strip():
        return "<div>" + escape(", ".join(f.filename for f in files)) + "</div>"
    users, channels = await lookups.mention_names(sub.runtime, sub.client, text)
    return to_html(text, users=users, channels=channels)


async def _log(runtime: Runtime, draft: drafts.MessageDraft) -> service.LogOutcome:
    try:
        return await in_transaction(runtime, service.log_message, wake=True, draft=draft)
    except IntegrityError:
        # Someone logged the same message, or started the same thread, at this very moment:
        # run again, which finds theirs.
        return await in_transaction(runtime, service.log_message, wake=True, draft=draft)


async def _log_shortcut(sub: Form, form: Submitted, contact: drafts.Contact) -> None:
    meta, client, user_id = sub.meta, sub.client, sub.user_id
    assert meta.ts is not None and meta.root_ts is not None
    outbound = form.direction == Direction.outbound
    sender_name, sender_email = await _sender(sub) if outbound else (None, None)
    files = await _files(client, chosen_files(meta, form))
    text = await _message_text(sub.runtime, client, meta) if meta.long_text else form.body
    draft = drafts.MessageDraft(
        team_id=meta.team_id,
        channel_id=meta.channel_id,
        ts=meta.ts,
        root_ts=meta.root_ts,
        direction=Direction(form.direction),
        contact=contact,
        body_html=await _body_html(sub, text, files),
        body_text=text,
        logged_by=user_id,
        source=drafts.Source.shortcut,
        subject=form.subject.strip() or None,
        sender_name=sender_name,
        author_email=sender_email,
        files=files,
    )
    outcome = await _log(sub.runtime, draft)
    thread = meta.root_ts if meta.root_ts != meta.ts else None
    message = outcome.message
    view = view_of(message)
    display = display_handle(message.handle)
    if not outcome.created:
        where = await lookups.permalink(client, message.slack_channel_id, message.thread_ts)
        text = already_logged_text(view, display, where)
        await tell(client, channel=meta.channel_id, user=user_id, text=text, thread_ts=thread)
        return
    await tell(
        client,
        channel=meta.channel_id,
        user=user_id,
        text=f"Logged to Front: {card_text(view, display)}",
        thread_ts=thread,
        blocks=confirmation(view, display),
    )


async def _log_elsewhere(sub: Form, form: Submitted, contact: drafts.Contact) -> None:
    """/logmsg (a new conversation) or Add message (in the card's thread)."""
    meta, client, user_id, runtime = sub.meta, sub.client, sub.user_id, sub.runtime
    if meta.root_ts is None:
        link = await read(runtime, get_link, team_id=meta.team_id, slack_channel_id=meta.channel_id)
        if link is None:
            raise NotLinked()
    outbound = form.direction == Direction.outbound
    sender_name, sender_email = await _sender(sub) if outbound else (None, None)
    files = await _files(client, form.uploads)
    body_html = await _body_html(sub, form.body, files)
    subject = form.subject.strip() or None
    # The card stands for the message: post it first, its ts is the message's id.
    preview = LoggedMessage(
        external_id="",
        external_conversation_id="",
        team_id=meta.team_id,
        slack_channel_id=meta.channel_id,
        front_channel_id="",
        direction=form.direction,
        handle=contact.handle,
        name=contact.name,
        email=contact.email,
        subject=subject,
        logged_by=user_id,
        body_text=form.body[:1000],
        file_count=len(files),
        source=drafts.Source.logmsg,
    )
    blocks, text = card(preview)
    posted = await client.chat_postMessage(
        channel=meta.channel_id, thread_ts=meta.root_ts, blocks=blocks, text=text
    )
    card_ts = str(posted["ts"])
    draft = drafts.MessageDraft(
        team_id=meta.team_id,
        channel_id=meta.channel_id,
        ts=card_ts,
        root_ts=meta.root_ts or card_ts,
        direction=Direction(form.direction),
        contact=contact,
        body_html=body_html,
        body_text=form.body,
        logged_by=user_id,
        source=drafts.Source.logmsg,
        subject=subject,
        sender_name=sender_name,
        author_email=sender_email,
        card_ts=card_ts,
        files=files,
    )
    try:
        await _log(runtime, draft)
    except Exception as exc:
        why = str(exc) if isinstance(exc, UserError) else "Switchboard could not store it"
        await client.chat_update(
            channel=meta.channel_id,
            ts=card_ts,
            text=f"Not logged to Front: {why}",
            blocks=[
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f":x: Not logged to Front: {escape(why)}"},
                }
            ],
        )
        raise
