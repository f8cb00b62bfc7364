"""Where a message is logged from: the "Log to Front" shortcut, `/logmsg`, and a card's
"Add message". Each acks at once and opens its modal with the trigger (valid 3 s, once)
before any slow work; what needs a lookup (the author's profile, the thread's
conversation) fills the modal afterwards with `views.update`. The submission is in
`submit`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import contacts
from bot.core.errors import NotLinked, UserError
from bot.core.mrkdwn import editable_text, escape
from bot.core.phones import display_handle
from bot.core.uow import read
from bot.features.messages import service, templates
from bot.features.messages.card_view import already_logged_text, mark_failed_button
from bot.features.messages.cards import view_of
from bot.features.messages.ids import MAX_BODY_INPUT, FormMeta
from bot.features.messages.views import FormValues, loading_modal, log_form
from bot.runtime import Runtime
from bot.slack import lookups
from bot.slack.errors import UNEXPECTED
from bot.slack.files import parse_files
from bot.slack.modals import notice_modal
from bot.slack.places import place_of
from storage.models import Direction, LoggedMessage

log = logging.getLogger(__name__)

TITLE = "Log to Front"


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


async def _already_view(client: AsyncWebClient, message: LoggedMessage) -> dict[str, Any]:
    view = view_of(message)
    where = await lookups.permalink(
        client, message.slack_channel_id, message.thread_ts or message.slack_ts
    )
    text = already_logged_text(view, display_handle(message.handle), where)
    can_fail = message.direction == Direction.outbound and not message.marked_failed_by
    button = mark_failed_button(message.external_id) if can_fail else None
    return notice_modal("Already in Front", text, button=button)


# The "Log to Front" message shortcut ---------------------------------------------------


async def log_to_front(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    opened = await client.views_open(trigger_id=shortcut["trigger_id"], view=loading_modal())
    await _fill(client, opened["view"]["id"], _shortcut_form(context["runtime"], client, shortcut))


def is_external(
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
        runtime, service.thread_info, team_id=team_id, channel_id=channel_id, root_ts=root, ts=ts
    )
    if info.already is not None:
        return await _already_view(client, info.already)
    if not info.can_log:
        raise NotLinked()

    author_id = message.get("user")
    author = await lookups.user(runtime, client, author_id)
    enterprise = (shortcut.get("enterprise") or {}).get("id")
    bot = bool(message.get("bot_id")) and not author_id
    external = bot or is_external(team_id, message, author, enterprise)
    author_name = lookups.name_of(author) or (message.get("username") if bot else None)

    values: dict[str, Any] = {"direction": Direction.inbound if external else Direction.outbound}
    meta = FormMeta(source="shortcut", team_id=team_id, channel_id=channel_id, ts=ts, root_ts=root)
    if info.contact is not None:  # the thread is a conversation: same customer
        contact = info.contact
        values.update(handle=contact.handle, name=contact.name or "", email=contact.email or "")
    elif external and author is not None:
        email = lookups.email_of(author) or ""
        # Slack Connect often hides a customer's email: their Slack id still tells them apart.
        values.update(handle=email or f"slack:{author_id}", name=author_name or "", email=email)
    if not external and author is not None:
        meta.sender_user, meta.sender_name, meta.sender_email = (
            author_id,
            author_name,
            lookups.email_of(author),
        )

    text = str(message.get("text") or "")
    users, channels = await lookups.mention_names(runtime, client, text)
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
    offered = await read(runtime, templates.choices, team_id=team_id, channel_id=channel_id)
    return log_form(
        meta,
        FormValues(body=body, about=about, files=tuple(files), templates=offered, **values),
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
    # Text after the command is the customer's handle: `/logmsg +33 6 12 34 56 78`; seen
    # before in the workspace, its name and email are filled in too.
    runtime: Runtime = context["runtime"]
    handle = (command.get("text") or "").strip()
    known = await contacts.known_for(runtime, team_id=meta.team_id, typed=handle)
    values = FormValues(
        handle=handle,
        name=(known.name or "") if known else "",
        email=(known.email or "") if known else "",
        about=about,
        upload=True,
    )
    opened = await client.views_open(trigger_id=command["trigger_id"], view=log_form(meta, values))
    offered = await read(
        runtime, templates.linked_choices, team_id=meta.team_id, channel_id=meta.channel_id
    )
    if offered is None:
        await client.views_update(
            view_id=opened["view"]["id"], view=notice_modal(TITLE, str(NotLinked()))
        )
    elif offered:  # the same form with the templates: what was typed meanwhile stays
        await client.views_update(
            view_id=opened["view"]["id"],
            hash=opened["view"].get("hash"),
            view=log_form(meta, replace(values, templates=offered)),
        )


async def add_message_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    opened = await client.views_open(trigger_id=body["trigger_id"], view=loading_modal())
    place = place_of(body)
    building = _continue_form(
        context["runtime"], body["team"]["id"], str(place.channel_id), place.root_ts
    )
    await _fill(client, opened["view"]["id"], building)


async def _continue_form(
    runtime: Runtime, team_id: str, channel_id: str, root: str | None
) -> dict[str, Any]:
    if not root:
        raise UserError("This card is not tied to a conversation any more.")
    info = await read(
        runtime, service.thread_info, team_id=team_id, channel_id=channel_id, root_ts=root
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
        templates=await read(runtime, templates.choices, team_id=team_id, channel_id=channel_id),
    )
    return log_form(meta, values)
