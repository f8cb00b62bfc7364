"""The log form's submission: checked and stored inside the ack (field errors stay in the
modal), as the `message.log` Slack post; that post gathers what Slack must tell us (the
files, the sender, mentions), stores the message and queues it for Front, then tells the
person. A Slack outage after the ack delays it and loses nothing.

A message logged with the shortcut gets an ephemeral confirmation (the channel may be a
Slack Connect channel shared with the customer, where a bot reply would show them our
bookkeeping) and, once Front has it, a reaction everyone sees. A message logged with
/logmsg happened outside Slack: the bot's card in the channel is its record.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.core import slack_posts
from bot.core.errors import InvalidFields, NotLinked, UserError
from bot.core.links import get_link
from bot.core.mrkdwn import editable_text, escape, to_html
from bot.core.phones import display_handle
from bot.core.slack_posts import PostJob
from bot.core.uow import in_transaction, read
from bot.delivery.outbox import FileToSend
from bot.features.messages import drafts, service
from bot.features.messages.card_view import already_logged_text, card_text, confirmation
from bot.features.messages.cards import view_of
from bot.features.messages.forms import Submitted, body_block, read_form, view_block_ids
from bot.features.messages.ids import FormMeta, MessageIds
from bot.runtime import Runtime
from bot.slack import lookups
from bot.slack.files import SlackFile, fetch_files
from bot.slack.forms import Submission, view_submission
from bot.slack.poster import PostContext, PostKinds, slack_is_down
from storage.models import Direction

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


async def _accept(sub: Form) -> None:
    """Check the form, then store it (as the `message.log` post that builds and queues the
    message), then ack: once Slack has our answer, what was typed is in the database."""
    meta, runtime = sub.meta, sub.runtime
    form = read_form(sub.state)
    contact = check(meta, form, runtime.settings.default_phone_region)
    at = f"{time.time():.6f}"
    args: dict[str, Any] = {
        "team_id": sub.team_id,
        "user": sub.user_id,
        "meta": meta.model_dump(mode="json"),
        "form": {**asdict(form), "uploads": [f.model_dump(mode="json") for f in form.uploads]},
        "contact": asdict(contact),
        "at": at,
    }
    if meta.source == "logmsg":
        if meta.root_ts is None:
            link = await read(
                runtime, get_link, team_id=sub.team_id, slack_channel_id=meta.channel_id
            )
            if link is None:
                raise NotLinked()
        args["external_id"], args["conversation_id"] = drafts.new_logmsg_ids(
            sub.team_id, meta.channel_id
        )
    root = meta.root_ts or args.get("external_id") or at
    await in_transaction(
        runtime,
        slack_posts.enqueue,
        wake=True,
        once=sub.replay_key,
        team_id=sub.team_id,
        lane=service.slack_lane(sub.team_id, meta.channel_id, root),
        kind=service.LOG,
        args=args,
    )


def _field_blocks(view: dict[str, Any]) -> dict[str, str]:
    return {**FIELD_BLOCKS, "body": _body_block(view)}


def _body_block(view: dict[str, Any]) -> str:
    return body_block(view_block_ids(view))


form_submitted = view_submission(FormMeta, _accept, blocks=_field_blocks, default_block=_body_block)


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
        if slack_is_down(exc):
            raise
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


async def _body_html(ctx: PostContext, text: str, files: list[FileToSend]) -> str:
    if not text.strip():
        return "<div>" + escape(", ".join(f.filename for f in files)) + "</div>"
    users, channels = await lookups.mention_names(ctx.runtime, ctx.client, text)
    return to_html(text, users=users, channels=channels)


@dataclass(frozen=True)
class AlreadyLogged:
    """What `send_log` found: the Slack message was logged before (by an earlier post of
    its lane, which is done, so this holds), and where its conversation is in Slack."""

    external_id: str
    permalink: str | None


async def send_log(ctx: PostContext) -> drafts.MessageDraft | AlreadyLogged:
    """The `message.log` post: what Slack must tell us (the sender, mentions, the files,
    a long message's text) gathered into the draft that `record_log` stores and queues.
    A Slack message already logged is not gathered again (its files may be gone since):
    the person hears where it went."""
    args, client = ctx.args, ctx.client
    meta = FormMeta.model_validate(args["meta"])
    if meta.source == "shortcut" and meta.ts is not None:
        already = await read(
            ctx.runtime,
            service.find_slack_message,
            team_id=str(args["team_id"]),
            channel_id=meta.channel_id,
            ts=meta.ts,
        )
        if already is not None:
            where = await lookups.permalink(
                client, already.slack_channel_id, already.thread_ts or already.slack_ts
            )
            return AlreadyLogged(already.external_id, where)
    form = Submitted(
        **{
            **args["form"],
            "uploads": [SlackFile.model_validate(f) for f in args["form"]["uploads"]],
        }
    )
    sender_name = sender_email = None
    if form.direction == Direction.outbound:
        if meta.sender_user:  # a teammate's Slack message: they sent it
            sender_name, sender_email = meta.sender_name, meta.sender_email
        else:
            person = await lookups.user(ctx.runtime, client, str(args["user"]))
            sender_name, sender_email = lookups.name_of(person), lookups.email_of(person)
    files = await _files(client, chosen_files(meta, form))
    text = form.body
    if meta.source == "shortcut" and meta.long_text:
        text = await _message_text(ctx.runtime, client, meta)
    shortcut = meta.source == "shortcut"
    return drafts.MessageDraft(
        team_id=str(args["team_id"]),
        channel_id=meta.channel_id,
        ts=str(meta.ts) if shortcut else str(args["at"]),
        root_ts=meta.root_ts,
        direction=Direction(form.direction),
        contact=drafts.Contact(**args["contact"]),
        body_html=await _body_html(ctx, text, files),
        body_text=text,
        logged_by=str(args["user"]),
        source=drafts.Source.shortcut if shortcut else drafts.Source.logmsg,
        subject=form.subject.strip() or None,
        sender_name=sender_name,
        author_email=sender_email,
        files=files,
        external_id=args.get("external_id"),
        conversation_id=args.get("conversation_id"),
    )


def record_log(session: Session, job: PostJob, result: drafts.MessageDraft | AlreadyLogged) -> None:
    permalink = None
    if isinstance(result, AlreadyLogged):
        found = service.find(session, external_id=result.external_id)
        if found is None:
            raise UserError("Switchboard has no record of this message any more.")
        message, created, permalink = found, False, result.permalink
    else:
        outcome = service.log_message(session, draft=result)
        message, created = outcome.message, outcome.created
        if result.source == drafts.Source.logmsg:
            if created:
                service.queue_card(session, message)
            return
    user = str(job.args["user"])
    view, display = view_of(message), display_handle(message.handle)
    thread = message.thread_ts if message.thread_ts != message.slack_ts else None
    if created:
        text = f"Logged to Front: {card_text(view, display)}"
        blocks = confirmation(view, display)
    else:
        text, blocks = already_logged_text(view, display, permalink), None
    slack_posts.tell(
        session,
        team_id=message.team_id,
        user=user,
        text=text,
        channel=message.slack_channel_id,
        thread_ts=thread,
        blocks=blocks,
        lane=job.lane,
    )


def log_failed(session: Session, job: PostJob, error: str) -> None:
    """The message could not be logged (a file too large, the channel unlinked since…):
    the person is told why, with what they typed, so that nothing is lost."""
    args = job.args
    meta = FormMeta.model_validate(args["meta"])
    body = str(args["form"].get("body") or "")
    quoted = "\n".join("> " + escape(line) for line in body.splitlines()[:40])
    text = f"Nothing was logged to Front: {escape(error)}"
    if quoted:
        text += f"\nWhat you typed, so that it is not lost:\n{quoted}"
    thread = meta.root_ts if meta.root_ts and meta.root_ts != meta.ts else None
    slack_posts.tell(
        session,
        team_id=str(args["team_id"]),
        user=str(args["user"]),
        text=text,
        channel=meta.channel_id,
        thread_ts=thread,
    )


def register_posts(kinds: PostKinds) -> None:
    kinds.add(service.LOG, send_log, record_log, log_failed)
