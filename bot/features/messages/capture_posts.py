"""The posts of auto-capture: `message.capture` gathers a captured message from Slack (its
author, mentions, files) and logs it into its conversation, in order with its thread;
`message.edit_note` says in a thread that an edit did not reach Front.

A capture post's `send` only reads (Slack, the database); its `record` stores what it
found in the transaction that marks the post done: the message (and its outbox row),
and whether the thread is captured. Slack being down retries the post; the order of a
thread's posts (its lane) is the order of its messages in Front.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.core import slack_posts
from bot.core.errors import InvalidFields, UserError
from bot.core.links import CaptureMode, get_link
from bot.core.mrkdwn import escape, to_html
from bot.core.phones import display_handle
from bot.core.slack_posts import PostJob
from bot.core.uow import read
from bot.delivery.outbox import FileToSend
from bot.features.messages import drafts, service
from bot.features.messages.capture import CAPTURE, EDIT_NOTE, decide_thread, is_person_message
from bot.features.messages.card_view import already_logged_text, card_text, confirmation
from bot.features.messages.cards import view_of
from bot.features.messages.listeners import is_external
from bot.slack import lookups
from bot.slack.files import MAX_ATTACHMENT_BYTES, fetch_file, megabytes, parse_files
from bot.slack.poster import PostContext, PostKinds, slack_is_down
from storage.models import CaptureThread, Direction

log = logging.getLogger(__name__)

# A file Slack will not give is retried this many times, then named in the message.
FILE_ATTEMPTS = 3
EDITED = (
    ":pencil2: A message in this thread was edited in Slack after it went to Front. Front "
    "keeps the version it received: edits and deletions are not synced."
)


@dataclass(frozen=True)
class CaptureState:
    """What the database says, read before Slack is asked anything."""

    mode: str  # the channel's capture mode ("off" when unlinked since)
    already: bool  # the message is logged
    thread_captured: bool | None  # the thread's decision (None: not decided)
    contact: drafts.Contact | None  # the conversation's customer, when it has one


def capture_state(
    session: Session, *, team_id: str, channel_id: str, ts: str, root: str
) -> CaptureState:
    link = get_link(session, team_id=team_id, slack_channel_id=channel_id)
    thread = session.get(CaptureThread, (team_id, channel_id, root))
    info = service.thread_info(session, team_id=team_id, channel_id=channel_id, root_ts=root, ts=ts)
    return CaptureState(
        mode=link.capture if link is not None else CaptureMode.off,
        already=info.already is not None,
        thread_captured=thread.captured if thread is not None else None,
        contact=info.contact,
    )


@dataclass(frozen=True)
class Captured:
    """What a capture post found: messages to log (in order), the thread's decision."""

    drafts: list[drafts.MessageDraft] = field(default_factory=list)
    decided: bool | None = None
    note: str | None = None  # emoji mode: what to tell whoever reacted
    already: str | None = None  # emoji mode: the logged message's external id


async def fetch_message(client: AsyncWebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """A message by its ts, root or reply; None when Slack will not show it."""
    try:
        found = await client.conversations_history(
            channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        for message in found.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
        found = await client.conversations_replies(
            channel=channel, ts=ts, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        for message in found.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
    except SlackApiError as exc:
        if slack_is_down(exc):
            raise
        log.info("could not read message %s in %s: %s", ts, channel, exc.response.get("error"))
    return None


async def _files(ctx: PostContext, raw: Any) -> tuple[list[FileToSend], list[str]]:
    """The message's files that fit Front's limit, and words for the others."""
    out: list[FileToSend] = []
    notes: list[str] = []
    budget = MAX_ATTACHMENT_BYTES - 64 * 1024  # room for the body
    for file in parse_files(raw):
        if file.size > budget:
            notes.append(f"{file.filename} ({megabytes(file.size)}, over Front's limit)")
            continue
        try:
            data = await fetch_file(ctx.client, file, max_bytes=budget)
        except UserError as exc:
            if ctx.job.attempts + 1 < FILE_ATTEMPTS and "answered 5" in str(exc):
                raise RuntimeError(str(exc)) from None  # Slack's file host is down: later
            notes.append(f"{file.filename} (not readable from Slack)")
            continue
        budget -= len(data)
        out.append(FileToSend(file.filename, file.content_type, data))
    return out, notes


async def gather(
    ctx: PostContext,
    message: dict[str, Any] | None,
    *,
    root: str,
    contact: drafts.Contact | None,
    external_only: bool,
    logged_by: str,
    source: drafts.Source,
) -> drafts.MessageDraft | None:
    """A Slack message as a draft: received when its author is of another organisation,
    sent (to `contact`) when a teammate wrote it; None when it is not to be logged."""
    args = ctx.args
    if message is None or not is_person_message(message):
        return None
    team_id, channel = str(args["team_id"]), str(args["channel"])
    author_id = str(message["user"])
    author = await lookups.user(ctx.runtime, ctx.client, author_id)
    external = is_external(team_id, message, author, args.get("enterprise"))
    name, email = lookups.name_of(author), lookups.email_of(author)
    sender_name = sender_email = None
    if external:
        try:
            contact = drafts.check_contact(
                handle=email or f"slack:{author_id}",
                name=name,
                email=email,
                region=ctx.runtime.settings.default_phone_region,
            )
        except InvalidFields:
            contact = drafts.Contact(handle=f"slack:{author_id}", name=name)
    elif external_only or contact is None:
        return None  # a teammate's message with no customer to have sent it to
    else:
        sender_name, sender_email = name, email
    text = str(message.get("text") or "")
    files, notes = await _files(ctx, message.get("files"))
    users, channels = await lookups.mention_names(ctx.runtime, ctx.client, text)
    body = to_html(text, users=users, channels=channels) if text.strip() else ""
    extra = [f.filename for f in files] if not text.strip() else []
    if notes:
        extra.append("Not attached: " + ", ".join(notes))
    body += "".join(f"<div>{escape(line)}</div>" for line in extra)
    if not body:
        return None
    return drafts.MessageDraft(
        team_id=team_id,
        channel_id=channel,
        ts=str(message["ts"]),
        root_ts=root,
        direction=Direction.inbound if external else Direction.outbound,
        contact=contact,
        body_html=body,
        body_text=text,
        logged_by=logged_by[:32],
        source=source,
        sender_name=sender_name,
        author_email=sender_email,
        files=files,
    )


async def send_capture(ctx: PostContext) -> Captured:
    args = ctx.args
    if args.get("mode") == "emoji":
        return await _send_emoji(ctx)
    team_id, channel = str(args["team_id"]), str(args["channel"])
    ts, root = str(args["ts"]), str(args["root"])
    state = await read(
        ctx.runtime, capture_state, team_id=team_id, channel_id=channel, ts=ts, root=root
    )
    if state.mode != CaptureMode.on or state.already:
        return Captured()
    source, logged_by = drafts.Source.capture, str(args["logged_by"])
    message: dict[str, Any] = {**args["message"], "ts": ts}
    if ts == root:
        draft = await gather(
            ctx,
            message,
            root=root,
            contact=None,
            external_only=True,
            logged_by=logged_by,
            source=source,
        )
        return Captured([draft] if draft else [], decided=draft is not None)
    if state.thread_captured is False:
        return Captured()
    found: list[drafts.MessageDraft] = []
    contact, decided = state.contact, None
    if state.thread_captured is None:
        # The root was never decided (its event came late, or never): read it now.
        first = await gather(
            ctx,
            await fetch_message(ctx.client, channel, root),
            root=root,
            contact=None,
            external_only=True,
            logged_by=logged_by,
            source=source,
        )
        if first is None:
            return Captured(decided=False)
        found.append(first)
        contact, decided = first.contact, True
    draft = await gather(
        ctx,
        message,
        root=root,
        contact=contact,
        external_only=False,
        logged_by=logged_by,
        source=source,
    )
    return Captured([*found, *([draft] if draft else [])], decided=decided)


async def _send_emoji(ctx: PostContext) -> Captured:
    """A reaction asked for the message: logged as the shortcut logs it, without a form."""
    args = ctx.args
    team_id, channel, ts = str(args["team_id"]), str(args["channel"]), str(args["ts"])
    message = await fetch_message(ctx.client, channel, ts)
    if message is None:
        return Captured(note="Switchboard could not read that message (is it in the channel?).")
    root = str(message.get("thread_ts") or ts)
    state = await read(
        ctx.runtime, capture_state, team_id=team_id, channel_id=channel, ts=ts, root=root
    )
    if state.already:
        found = await read(
            ctx.runtime, service.find_slack_message, team_id=team_id, channel_id=channel, ts=ts
        )
        return Captured(already=found.external_id if found else None)
    if state.mode != CaptureMode.emoji:
        return Captured()
    draft = await gather(
        ctx,
        message,
        root=root,
        contact=state.contact,
        external_only=False,
        logged_by=str(args["reactor"]),
        source=drafts.Source.shortcut,
    )
    if draft is None:
        return Captured(
            note="Switchboard can't tell which customer that message was for (a teammate "
            "wrote it, outside a conversation). Use *Log to Front* on it to say."
        )
    return Captured([draft])


def record_capture(session: Session, job: PostJob, result: Captured) -> None:
    args = job.args
    team_id, channel, root = str(args["team_id"]), str(args["channel"]), str(args["root"])
    logged = [service.log_message(session, draft=d) for d in result.drafts]
    if result.decided is not None:
        decide_thread(session, team_id=team_id, channel=channel, root=root, captured=result.decided)
    reactor = str(args.get("reactor") or "")
    if args.get("mode") != "emoji" or not reactor:
        return
    text, blocks = result.note, None
    if logged and logged[-1].created:
        message = logged[-1].message
        view, display = view_of(message), display_handle(message.handle)
        text, blocks = f"Logged to Front: {card_text(view, display)}", confirmation(view, display)
    elif result.already or logged:
        found = (
            logged[-1].message if logged else service.find(session, external_id=str(result.already))
        )
        if found is not None:
            text = already_logged_text(view_of(found), display_handle(found.handle), None)
    if text:
        slack_posts.tell(
            session, team_id=team_id, user=reactor, text=text, channel=channel, blocks=blocks
        )


def capture_failed(session: Session, job: PostJob, error: str) -> None:
    """Whoever asked for it hears that a message was not logged, and why."""
    args = job.args
    user = str(args.get("reactor") or args.get("logged_by") or "")
    if not user or user == "capture":
        return
    slack_posts.tell(
        session,
        team_id=str(args["team_id"]),
        user=user,
        text=(
            f"A message in <#{args['channel']}> could not be logged to Front: "
            f"{escape(error)}. Use *Log to Front* on it to try again."
        ),
    )


async def send_edit_note(ctx: PostContext) -> None:
    await ctx.client.chat_postMessage(
        channel=str(ctx.args["channel"]), thread_ts=str(ctx.args["thread_ts"]), text=EDITED
    )


def register_posts(kinds: PostKinds) -> None:
    kinds.add(CAPTURE, send_capture, record_capture, capture_failed)
    kinds.add(EDIT_NOTE, send_edit_note)
