"""Logging messages into Front: the "Log to Front" shortcut, /logmsg, cards, mark as failed.

Every entry point acks at once and opens its modal with the trigger (valid 3 s, once)
before any slow work; what needs a lookup (the author's profile, the thread's
conversation) fills the modal afterwards with `views.update`. Submissions are checked in
their ack (field errors stay in the modal), then the files are fetched and the message
is stored and queued; people are told in the channel, never left guessing.

Confirmations: a message logged with the shortcut gets an ephemeral confirmation (the
channel may be a Slack Connect channel shared with the customer, where a bot reply would
show them our bookkeeping) and, once Front has it, a reaction everyone sees. A message
logged with /logmsg happened outside Slack: the bot's card in the channel is its record,
updated as its delivery goes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError

from bot.core.errors import NotLinked, UserError
from bot.core.links import get_link
from bot.core.mrkdwn import (
    editable_text,
    escape,
    mentioned_channels,
    mentioned_users,
    to_html,
)
from bot.core.phones import display_handle
from bot.core.uow import in_transaction, read
from bot.delivery.hooks import DeliveryHooks, OutboxRowSnapshot
from bot.delivery.outbox import FileToSend
from bot.features.messages import service as svc
from bot.features.messages.views import (
    DELIVERED_REACTION,
    INBOUND,
    MAX_BODY_INPUT,
    OUTBOUND,
    FormMeta,
    FormValues,
    MarkFailedMeta,
    MessageIds,
    MessageView,
    Submitted,
    already_logged_text,
    card_text,
    confirmation,
    loading_modal,
    log_form,
    mark_failed_button,
    mark_failed_modal,
    message_card,
    read_form,
    read_reason,
)
from bot.runtime import Runtime
from bot.slack.errors import UNEXPECTED, tell
from bot.slack.files import SlackFile, fetch_files, parse_files
from bot.slack.modals import notice_modal
from storage.models import LoggedMessage

log = logging.getLogger(__name__)

TITLE = "Log to Front"


# Slack lookups -------------------------------------------------------------------------


async def _user(client: AsyncWebClient, user_id: str | None) -> dict[str, Any] | None:
    """users.info's user, or None when Slack does not say (deleted, no scope, bot)."""
    if not user_id:
        return None
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.info("users.info %s: %s", user_id, exc.response.get("error"))
        return None
    user = response.get("user")
    return user if isinstance(user, dict) else None


def _name(user: dict[str, Any] | None) -> str | None:
    if not user:
        return None
    profile = user.get("profile") or {}
    return (
        profile.get("real_name")
        or profile.get("display_name")
        or user.get("real_name")
        or user.get("name")
    )


def _email(user: dict[str, Any] | None) -> str | None:
    email = ((user or {}).get("profile") or {}).get("email")
    return str(email) if email else None


async def _names(client: AsyncWebClient, text: str) -> tuple[dict[str, str], dict[str, str]]:
    """Names of the users and channels mentioned in `text` (wire or editable form)."""
    users: dict[str, str] = {}
    for uid in mentioned_users(text)[:20]:
        name = _name(await _user(client, uid))
        if name:
            users[uid] = name
    channels: dict[str, str] = {}
    for cid in mentioned_channels(text)[:20]:
        try:
            info = await client.conversations_info(channel=cid)
        except SlackApiError:
            continue
        name = (info.get("channel") or {}).get("name")
        if name:
            channels[cid] = str(name)
    return users, channels


async def _permalink(client: AsyncWebClient, channel: str, ts: str | None) -> str | None:
    if not ts:
        return None
    try:
        response = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError:
        return None
    link = response.get("permalink")
    return str(link) if link else None


def _view_of(message: LoggedMessage) -> MessageView:
    return MessageView(
        external_id=message.external_id,
        direction=message.direction,
        handle=message.handle,
        name=message.name,
        email=message.email,
        subject=message.subject,
        body_text=message.body_text,
        file_count=message.file_count,
        logged_by=message.logged_by,
        logged_at=message.created_at,
        delivery_state=message.delivery_state,
        front_channel_id=message.front_channel_id,
        source=message.source,
        marked_failed_by=message.marked_failed_by,
        failed_reason=message.failed_reason,
    )


def _card(message: LoggedMessage) -> tuple[list[dict[str, Any]], str]:
    view = _view_of(message)
    display = display_handle(message.handle)
    return message_card(view, display), card_text(view, display)


async def _update_card(client: AsyncWebClient, message: LoggedMessage) -> None:
    if not message.card_ts:
        return
    blocks, text = _card(message)
    await client.chat_update(
        channel=message.slack_channel_id, ts=message.card_ts, blocks=blocks, text=text
    )


async def _already_view(client: AsyncWebClient, message: LoggedMessage) -> dict[str, Any]:
    view = _view_of(message)
    where = await _permalink(
        client, message.slack_channel_id, message.thread_ts or message.slack_ts
    )
    text = already_logged_text(view, display_handle(message.handle), where)
    can_fail = message.direction == OUTBOUND and not message.marked_failed_by
    button = mark_failed_button(message.external_id) if can_fail else None
    return notice_modal("Already in Front", text, button=button)


# The "Log to Front" message shortcut ---------------------------------------------------


async def log_to_front(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    opened = await client.views_open(trigger_id=shortcut["trigger_id"], view=loading_modal())
    await _fill(client, opened["view"]["id"], _shortcut_form(context["runtime"], client, shortcut))


async def _fill(client: AsyncWebClient, view_id: str, building: Awaitable[dict[str, Any]]) -> None:
    """Replace the loading modal with what `building` (a coroutine) makes, or say why not."""
    try:
        view = await building
    except UserError as exc:
        view = notice_modal(TITLE, str(exc))
    except Exception:
        log.exception("could not prepare the log form")
        view = notice_modal(TITLE, UNEXPECTED)
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:
        if exc.response.get("error") != "not_found":
            raise
        log.info("the log form was closed before it was filled")


def _is_external(
    team_id: str, message: dict[str, Any], author: dict[str, Any] | None, enterprise: str | None
) -> bool:
    """Whether the author belongs to another organisation (Slack Connect)."""
    author_team = message.get("user_team") or (author or {}).get("team_id")
    author_team = author_team or message.get("source_team")
    if not author_team or author_team == team_id:
        return False
    # Enterprise Grid: another workspace of the same organisation is still us.
    author_enterprise = ((author or {}).get("enterprise_user") or {}).get("enterprise_id")
    return not (enterprise and author_enterprise == enterprise)


async def _shortcut_form(
    runtime: Runtime, client: AsyncWebClient, shortcut: dict[str, Any]
) -> dict[str, Any]:
    team_id = shortcut["team"]["id"]
    channel_id = shortcut["channel"]["id"]
    message: dict[str, Any] = shortcut["message"]
    ts: str = message["ts"]
    root = message.get("thread_ts") or ts
    info = await read(
        runtime, svc.thread_info, team_id=team_id, channel_id=channel_id, root_ts=root, ts=ts
    )
    if info.already is not None:
        return await _already_view(client, info.already)
    if not info.can_log:
        raise NotLinked()

    author_id = message.get("user")
    author = await _user(client, author_id)
    enterprise = (shortcut.get("enterprise") or {}).get("id")
    bot = bool(message.get("bot_id")) and not author_id
    external = bot or _is_external(team_id, message, author, enterprise)
    author_name = _name(author) or (message.get("username") if bot else None)

    values: dict[str, Any] = {"direction": INBOUND if external else OUTBOUND}
    meta = FormMeta(source="shortcut", team_id=team_id, channel_id=channel_id, ts=ts, root_ts=root)
    if info.contact is not None:  # the thread is a conversation: same customer
        contact = info.contact
        values.update(handle=contact.handle, name=contact.name or "", email=contact.email or "")
    elif external and author is not None:
        email = _email(author) or ""
        # Slack Connect often hides a customer's email: their Slack id still tells them apart.
        values.update(handle=email or f"slack:{author_id}", name=author_name or "", email=email)
    if not external and author is not None:
        meta.sender_user, meta.sender_name, meta.sender_email = (
            author_id,
            author_name,
            _email(author),
        )

    text = str(message.get("text") or "")
    users, channels = await _names(client, text)
    body = editable_text(text, users=users, channels=channels)
    meta.long_text = len(body) > MAX_BODY_INPUT
    files = parse_files(message.get("files"))
    meta.files, meta.file_bytes = files, sum(f.size for f in files)
    who = escape(author_name) if author_name else "someone"
    where = "this thread" if root != ts else f"<#{channel_id}>"
    about = f"A message from *{who}* in {where}." + (
        " Replies in this thread go to the same Front conversation."
        if info.external_conversation_id
        else ""
    )
    return log_form(
        meta,
        FormValues(
            body=body,
            about=about,
            files=tuple(files),
            **values,
        ),
    )


# /logmsg and the card's "Add message" ---------------------------------------------------


async def logmsg_command(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    meta = FormMeta(source="logmsg", team_id=command["team_id"], channel_id=command["channel_id"])
    about = (
        "A message from elsewhere (an SMS, a WhatsApp message…). Switchboard posts it here as "
        "a card; use *Add message* on the card to continue the conversation."
    )
    # Text after the command is the customer's handle: `/logmsg +33 6 12 34 56 78`.
    values = FormValues(handle=(command.get("text") or "").strip(), about=about, upload=True)
    opened = await client.views_open(trigger_id=command["trigger_id"], view=log_form(meta, values))
    runtime: Runtime = context["runtime"]
    if not await _linked(runtime, meta.team_id, meta.channel_id):
        await client.views_update(
            view_id=opened["view"]["id"], view=notice_modal(TITLE, str(NotLinked()))
        )


async def _linked(runtime: Runtime, team_id: str, channel_id: str) -> bool:
    link = await read(runtime, get_link, team_id=team_id, slack_channel_id=channel_id)
    return link is not None


def _container(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(channel, message ts, thread root ts) of the message a button sits on."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    root = container.get("thread_ts") or message.get("thread_ts") or ts
    return str(channel), ts, root


async def add_message_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    opened = await client.views_open(trigger_id=body["trigger_id"], view=loading_modal())
    channel, _ts, root = _container(body)
    team_id = body["team"]["id"]
    await _fill(
        client, opened["view"]["id"], _continue_form(context["runtime"], team_id, channel, root)
    )


async def _continue_form(
    runtime: Runtime, team_id: str, channel_id: str, root: str | None
) -> dict[str, Any]:
    if not root:
        raise UserError("This card is not tied to a conversation any more.")
    info = await read(
        runtime, svc.thread_info, team_id=team_id, channel_id=channel_id, root_ts=root
    )
    if info.external_conversation_id is None:
        raise UserError("This thread is not a Front conversation any more.")
    contact = info.contact
    who = ""
    if contact is not None:
        shown = display_handle(contact.handle)
        who = (
            f" with *{escape(contact.name)}* ({escape(shown)})"
            if contact.name
            else f" with {escape(shown)}"
        )
    meta = FormMeta(source="logmsg", team_id=team_id, channel_id=channel_id, root_ts=root)
    values = FormValues(
        handle=contact.handle if contact else "",
        name=(contact.name or "") if contact else "",
        email=(contact.email or "") if contact else "",
        about=f"Adds a message to the conversation{who}. It is posted in the card's thread.",
        upload=True,
    )
    return log_form(meta, values)


# The log form's submission -------------------------------------------------------------

_FIELD_BLOCKS = {"handle": MessageIds.handle_block, "email": MessageIds.email_block}


def _check(
    meta: FormMeta, form: Submitted, region: str
) -> tuple[svc.Contact | None, dict[str, str]]:
    """Everything that can be checked without waiting: field errors for the modal."""
    errors: dict[str, str] = {}
    contact: svc.Contact | None = None
    try:
        contact = svc.check_contact(
            handle=form.handle, name=form.name, email=form.email, region=region
        )
    except svc.InvalidFields as exc:
        errors = {_FIELD_BLOCKS[k]: v for k, v in exc.errors.items()}
    if form.direction not in (INBOUND, OUTBOUND):
        errors[MessageIds.direction_block] = "Choose whether the message was received or sent."
    with_files = _chosen_files(meta, form)
    if not form.body.strip() and not with_files and not meta.long_text:
        errors[MessageIds.body_block] = "Type the message (or attach a file)."
    size = (
        meta.file_bytes
        if form.include_files and meta.source == "shortcut"
        else sum(f.size for f in form.uploads)
    )
    try:
        # File sizes are in the payload: checked here, before anything is downloaded.
        svc.check_size(size if with_files else 0, to_html(form.body))
    except svc.FilesTooLarge as exc:
        fix = (
            "Untick the box to log the message without them."
            if meta.source == "shortcut"
            else "Remove some, or log the message without files."
        )
        errors[MessageIds.files_block] = f"{exc} {fix}"
    return contact, errors


def _chosen_files(meta: FormMeta, form: Submitted) -> list[SlackFile] | list[str]:
    if meta.source == "logmsg":
        return form.uploads
    if not form.include_files:
        return []
    return meta.files or meta.file_ids


async def form_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    runtime: Runtime = context["runtime"]
    meta = FormMeta.model_validate_json(view["private_metadata"])
    form = read_form(view["state"]["values"])
    contact, errors = _check(meta, form, runtime.settings.default_phone_region)
    if errors or contact is None:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    user_id: str = body["user"]["id"]
    thread = meta.root_ts if meta.root_ts and meta.root_ts != meta.ts else None
    try:
        if meta.source == "shortcut":
            await _log_shortcut(runtime, client, meta, form, contact, user_id)
        else:
            await _log_elsewhere(runtime, client, meta, form, contact, user_id)
    except UserError as exc:
        await tell(client, channel=meta.channel_id, user=user_id, text=str(exc), thread_ts=thread)
    except Exception:
        log.exception("logging a message failed")
        await tell(client, channel=meta.channel_id, user=user_id, text=UNEXPECTED, thread_ts=thread)


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


async def _message_text(client: AsyncWebClient, channel: str, ts: str, root: str) -> str:
    """A message's whole text, read again from Slack, in the editable form."""
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
            users, channels = await _names(client, wire)
            return editable_text(wire, users=users, channels=channels)
    raise UserError("This message is no longer in Slack: nothing was logged.")


async def _sender(
    client: AsyncWebClient, meta: FormMeta, user_id: str
) -> tuple[str | None, str | None]:
    """(name, email) of who sent an outbound message: the Slack author, or the logger."""
    if meta.sender_user:
        return meta.sender_name, meta.sender_email
    user = await _user(client, user_id)
    return _name(user), _email(user)


async def _body_html(client: AsyncWebClient, text: str, files: list[FileToSend]) -> str:
    if not text.strip():
        return "<div>" + escape(", ".join(f.filename for f in files)) + "</div>"
    users, channels = await _names(client, text)
    return to_html(text, users=users, channels=channels)


async def _log(runtime: Runtime, draft: svc.MessageDraft) -> svc.LogOutcome:
    try:
        return await in_transaction(runtime, svc.log_message, wake=True, draft=draft)
    except IntegrityError:
        # Someone logged the same message, or started the same thread, at this very moment:
        # run again, which finds theirs.
        return await in_transaction(runtime, svc.log_message, wake=True, draft=draft)


async def _log_shortcut(
    runtime: Runtime,
    client: AsyncWebClient,
    meta: FormMeta,
    form: Submitted,
    contact: svc.Contact,
    user_id: str,
) -> None:
    assert meta.ts is not None and meta.root_ts is not None
    outbound = form.direction == OUTBOUND
    sender_name, sender_email = await _sender(client, meta, user_id) if outbound else (None, None)
    files = await _files(client, _chosen_files(meta, form))
    text = form.body
    if meta.long_text:
        text = await _message_text(client, meta.channel_id, meta.ts, meta.root_ts)
    draft = svc.MessageDraft(
        team_id=meta.team_id,
        channel_id=meta.channel_id,
        ts=meta.ts,
        root_ts=meta.root_ts,
        direction=svc.Direction(form.direction),
        contact=contact,
        body_html=await _body_html(client, text, files),
        body_text=text,
        logged_by=user_id,
        source=svc.Source.shortcut,
        subject=form.subject.strip() or None,
        sender_name=sender_name,
        author_email=sender_email,
        files=files,
    )
    outcome = await _log(runtime, draft)
    thread = meta.root_ts if meta.root_ts != meta.ts else None
    message = outcome.message
    view = _view_of(message)
    display = display_handle(message.handle)
    if not outcome.created:
        where = await _permalink(client, message.slack_channel_id, message.thread_ts)
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


async def _log_elsewhere(
    runtime: Runtime,
    client: AsyncWebClient,
    meta: FormMeta,
    form: Submitted,
    contact: svc.Contact,
    user_id: str,
) -> None:
    """/logmsg (a new conversation) or Add message (in the card's thread)."""
    if meta.root_ts is None and not await _linked(runtime, meta.team_id, meta.channel_id):
        raise NotLinked()
    outbound = form.direction == OUTBOUND
    sender_name, sender_email = await _sender(client, meta, user_id) if outbound else (None, None)
    files = await _files(client, form.uploads)
    body_html = await _body_html(client, form.body, files)
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
        source=svc.Source.logmsg,
    )
    blocks, text = _card(preview)
    posted = await client.chat_postMessage(
        channel=meta.channel_id, thread_ts=meta.root_ts, blocks=blocks, text=text
    )
    card_ts = str(posted["ts"])
    draft = svc.MessageDraft(
        team_id=meta.team_id,
        channel_id=meta.channel_id,
        ts=card_ts,
        root_ts=meta.root_ts or card_ts,
        direction=svc.Direction(form.direction),
        contact=contact,
        body_html=body_html,
        body_text=form.body,
        logged_by=user_id,
        source=svc.Source.logmsg,
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


# Mark as failed -------------------------------------------------------------------------


async def mark_failed_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    action = (body.get("actions") or [{}])[0]
    channel, ts, _root = _container(body)
    in_modal = body.get("view") is not None
    if in_modal:  # the "Already in Front" notice: the message's channel is in its text only
        channel = ""
    is_card = not in_modal and not (body.get("container") or {}).get("is_ephemeral")
    external_id = action.get("value") or (
        svc.message_external_id(body["team"]["id"], channel, ts) if ts else ""
    )
    meta = MarkFailedMeta(
        external_id=external_id, channel_id=channel, card_ts=ts if is_card else None
    )
    modal = mark_failed_modal(meta)
    if in_modal:
        await client.views_push(trigger_id=body["trigger_id"], view=modal)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def mark_failed_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    meta = MarkFailedMeta.model_validate_json(view["private_metadata"])
    reason = read_reason(view["state"]["values"]).strip()
    if not reason:
        await ack(
            response_action="errors",
            errors={MessageIds.reason_block: "Say what went wrong: Front shows it to the team."},
        )
        return
    if body["view"].get("previous_view_id"):
        # Pushed from the "Already in Front" notice: close both, nothing is left to do there.
        await ack(response_action="clear")
    else:
        await ack()
    user_id: str = body["user"]["id"]
    runtime: Runtime = context["runtime"]
    try:
        message = await in_transaction(
            runtime,
            svc.mark_failed,
            wake=True,
            team_id=body["team"]["id"],
            external_id=meta.external_id,
            reason=reason,
            user_id=user_id,
        )
    except UserError as exc:
        await tell(client, channel=meta.channel_id or user_id, user=user_id, text=str(exc))
        return
    if message.card_ts:
        await _update_card(client, message)
    else:
        await tell(
            client,
            channel=message.slack_channel_id,
            user=user_id,
            thread_ts=message.thread_ts if message.thread_ts != message.slack_ts else None,
            text=":warning: Marked as failed. Front reopens the conversation with your reason.",
        )


# Delivery hooks -------------------------------------------------------------------------


async def on_message_delivered(runtime: Runtime, row: OutboxRowSnapshot) -> None:
    """Front accepted a logged message: react to the Slack message, update its card."""
    message = await in_transaction(
        runtime,
        svc.record_delivery,
        operation=row.operation,
        payload=row.payload,
        path=row.path,
        delivered=True,
        message_uid=row.message_uid,
    )
    if message is None:
        return
    client = await runtime.slack_client(row.team_id)
    if row.operation != svc.UPDATE_STATUS and message.source == svc.Source.shortcut:
        assert message.slack_ts is not None
        try:
            await client.reactions_add(
                channel=message.slack_channel_id,
                timestamp=message.slack_ts,
                name=DELIVERED_REACTION,
            )
        except SlackApiError as exc:
            # Delivery is at-least-once: a second run finds the reaction already there.
            if exc.response.get("error") != "already_reacted":
                raise
    await _update_card(client, message)


async def on_message_failed(runtime: Runtime, row: OutboxRowSnapshot) -> None:
    """Front refused a logged message for good: its card says so (the alert says why)."""
    message = await in_transaction(
        runtime,
        svc.record_delivery,
        operation=row.operation,
        payload=row.payload,
        path=row.path,
        delivered=False,
    )
    if message is not None:
        await _update_card(await runtime.slack_client(row.team_id), message)


def register_delivery_hooks(hooks: DeliveryHooks) -> None:
    """Cards and reactions follow their messages' deliveries (wired in `bot/server.py`)."""
    for operation in (svc.SYNC_INBOUND, svc.SYNC_OUTBOUND, svc.UPDATE_STATUS):
        hooks.on_delivered(operation, on_message_delivered)
        hooks.on_failed(operation, on_message_failed)
