"""Message templates in the log form (`/logmsg`, the shortcut, Add message): the channel's
enabled templates are offered in a select; picking one fills the message with the
template's text, its variables replaced from what the form holds (`{{name}}`,
`{{first_name}}`, `{{last_name}}`, `{{number}}`), to edit before logging.

The pick is a block action: the form is rebuilt from the view Slack sent (every value
the person typed kept) and updated with `views.update`, guarded by the view's hash.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.core.links import get_link
from bot.core.phones import display_handle
from bot.core.uow import read
from bot.features.messages.forms import body_block, read_form, view_block_ids
from bot.features.messages.ids import FormMeta
from bot.features.messages.views import TemplateChoice, with_template
from bot.runtime import Runtime
from bot.slack.forms import ViewState, metadata
from bot.slack.places import place_of
from storage.models import MessageTemplate

log = logging.getLogger(__name__)

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _enabled(session: Session, *, team_id: str, channel_id: str) -> list[MessageTemplate]:
    link = get_link(session, team_id=team_id, slack_channel_id=channel_id)
    if link is None:
        return []
    return list(
        session.exec(
            select(MessageTemplate)
            .where(
                MessageTemplate.team_id == team_id,
                MessageTemplate.front_channel_id == link.front_channel_id,
                col(MessageTemplate.is_disabled).is_(False),
            )
            .order_by(col(MessageTemplate.name))
        )
    )


def choices(session: Session, *, team_id: str, channel_id: str) -> tuple[TemplateChoice, ...]:
    """The enabled templates of the channel's Front channel, by name."""
    return tuple(
        TemplateChoice(t.id, t.name)
        for t in _enabled(session, team_id=team_id, channel_id=channel_id)
        if t.id is not None
    )


def linked_choices(
    session: Session, *, team_id: str, channel_id: str
) -> tuple[TemplateChoice, ...] | None:
    """`choices`, or None when the channel is not linked (one read for /logmsg)."""
    if get_link(session, team_id=team_id, slack_channel_id=channel_id) is None:
        return None
    return choices(session, team_id=team_id, channel_id=channel_id)


def template_text(session: Session, *, team_id: str, channel_id: str, template_id: int) -> str:
    """An enabled template of this channel (in this workspace), or UserError."""
    for template in _enabled(session, team_id=team_id, channel_id=channel_id):
        if template.id == template_id:
            return template.body
    raise UserError("That template is no longer offered in this channel.")


def fill(text: str, *, name: str, handle: str) -> str:
    """Variables replaced from the form; one it does not know stays, to edit by hand."""
    first, _, last = name.strip().partition(" ")
    shown = display_handle(handle.strip()) if handle.strip() else ""
    known = {
        "name": name.strip(),
        "full_name": name.strip(),
        "first_name": first,
        "last_name": last.strip(),
        "number": shown,
        "phone": shown,
        "handle": shown,
    }

    def one(match: re.Match[str]) -> str:
        value = known.get(match.group(1).lower())
        return value if value else match.group(0)

    return _VARIABLE.sub(one, text)


async def template_picked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    view = body.get("view")
    actions = body.get("actions") or [{}]
    raw = str((actions[0].get("selected_option") or {}).get("value") or "")
    if not isinstance(view, dict) or not raw.isdigit():
        return
    meta = metadata(view, FormMeta)
    runtime: Runtime = context["runtime"]
    # The workspace is the clicking person's (the verified request), never the metadata's.
    team_id = place_of(body).team_id or ""
    text = await read(
        runtime,
        template_text,
        team_id=team_id,
        channel_id=meta.channel_id,
        template_id=int(raw),
    )
    form = read_form(ViewState(view))
    filled = fill(text, name=form.name, handle=form.handle)
    updated = with_template(view, body_block(view_block_ids(view)), filled)
    try:
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
    except SlackApiError as exc:
        # The form changed meanwhile (another pick): that one wins.
        if exc.response.get("error") not in ("hash_conflict", "not_found"):
            raise
        log.info("template not applied: %s", exc.response.get("error"))
