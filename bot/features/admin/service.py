"""What admins do: the Front channel's status, message templates, the App Home's figures."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core.errors import InvalidFields, UserError
from bot.core.links import ensure_workspace, list_links, require_link
from bot.delivery.hooks import DeliveryHooks, OutboxRowSnapshot
from bot.delivery.outbox import SlackContext, channel_lane, enqueue
from storage.models import ChannelLink, MessageTemplate, OutboxRow, OutboxStatus, utcnow

CHANNEL_STATUSES = ("ok", "offline")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
BLURB_CHARS = 140


def set_channel_status(
    session: Session, *, team_id: str, slack_channel_id: str, status: str, user_id: str
) -> ChannelLink:
    """Queue `update_channel` for the channel's Front link and remember what we asked."""
    status = status.strip().lower()
    if status not in CHANNEL_STATUSES:
        raise UserError("Use `/switchboard status ok` or `/switchboard status offline`.")
    link = require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    link.front_status = status
    session.add(link)
    enqueue(
        session,
        operation="update_channel",
        front_channel_id=link.front_channel_id,
        lane=channel_lane(link.front_channel_id),
        payload={"status": status},
        context=SlackContext(team_id=team_id, channel_id=slack_channel_id, user_id=user_id),
    )
    return link


def template_variables(body: str) -> list[str]:
    """`{{name}}` placeholders in order of first use."""
    return list(dict.fromkeys(m.group(1) for m in _VARIABLE.finditer(body)))


def template_payload(template: MessageTemplate) -> dict[str, Any]:
    """The spec's ApplicationMessageTemplate body for a template."""
    body = template.body
    blurb = body if len(body) <= BLURB_CHARS else body[: BLURB_CHARS - 1] + "…"
    return {
        "external_id": template.external_id,
        "name": template.name,
        "blurb": blurb,
        # Templates are written by the workspace's own admins: nothing to wait for.
        "status_name": "APPROVED",
        "is_disabled": template.is_disabled,
        "variable_mappings": [
            {"uid": v, "name": v, "type": "text"} for v in template_variables(body)
        ],
        "template_preview": body,
    }


def list_templates(session: Session, *, front_channel_id: str) -> list[MessageTemplate]:
    return list(
        session.exec(
            select(MessageTemplate)
            .where(MessageTemplate.front_channel_id == front_channel_id)
            .order_by(col(MessageTemplate.name))
        )
    )


def channel_templates(
    session: Session, *, team_id: str, slack_channel_id: str
) -> list[MessageTemplate]:
    """The templates of the Front channel this Slack channel is linked to."""
    link = require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    return list_templates(session, front_channel_id=link.front_channel_id)


def get_template(session: Session, *, team_id: str, template_id: int) -> MessageTemplate:
    template = session.get(MessageTemplate, template_id)
    if template is None or template.team_id != team_id:
        raise UserError("That template no longer exists.")
    return template


def _context(team_id: str, slack_channel_id: str, user_id: str) -> SlackContext:
    return SlackContext(team_id=team_id, channel_id=slack_channel_id, user_id=user_id)


def save_template(
    session: Session,
    *,
    team_id: str,
    slack_channel_id: str,
    user_id: str,
    name: str,
    body: str,
    template_id: int | None = None,
) -> MessageTemplate:
    """Create a template (synced to Front with PUT) or edit one (PATCH)."""
    name, body = name.strip(), body.strip()
    missing: dict[str, str] = {}
    if not name:
        missing["name"] = "Give the template a name."
    if not body:
        missing["body"] = "A template needs some text."
    if missing:
        raise InvalidFields(missing)
    link = require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    clash = session.exec(
        select(MessageTemplate).where(
            MessageTemplate.front_channel_id == link.front_channel_id,
            MessageTemplate.name == name,
        )
    ).first()
    if clash is not None and clash.id != template_id:
        raise InvalidFields({"name": f"A template named “{name}” already exists for this channel."})
    if template_id is None:
        template = MessageTemplate(
            external_id=f"sbt_{uuid.uuid4().hex}",
            team_id=team_id,
            front_channel_id=link.front_channel_id,
            name=name,
            body=body,
            created_by=user_id,
        )
        session.add(template)
        session.flush()
        _queue_sync(session, template, _context(team_id, slack_channel_id, user_id))
        return template
    template = get_template(session, team_id=team_id, template_id=template_id)
    template.name, template.body, template.updated_at = name, body, utcnow()
    session.add(template)
    _queue_update(session, template, _context(team_id, slack_channel_id, user_id))
    return template


def set_template_disabled(
    session: Session,
    *,
    team_id: str,
    slack_channel_id: str,
    user_id: str,
    template_id: int,
    disabled: bool,
) -> MessageTemplate:
    template = get_template(session, team_id=team_id, template_id=template_id)
    template.is_disabled, template.updated_at = disabled, utcnow()
    session.add(template)
    _queue_update(session, template, _context(team_id, slack_channel_id, user_id))
    return template


def resync_templates(session: Session, *, team_id: str, slack_channel_id: str, user_id: str) -> int:
    """Import every template of this channel into Front again (PUT is an upsert)."""
    link = require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    templates = list_templates(session, front_channel_id=link.front_channel_id)
    for template in templates:
        _queue_sync(session, template, _context(team_id, slack_channel_id, user_id))
    return len(templates)


def _queue_sync(session: Session, template: MessageTemplate, context: SlackContext) -> None:
    enqueue(
        session,
        operation="sync_application_message_template",
        front_channel_id=template.front_channel_id,
        lane=channel_lane(template.front_channel_id),
        payload=template_payload(template),
        context=context,
    )


def _queue_update(session: Session, template: MessageTemplate, context: SlackContext) -> None:
    full = template_payload(template)
    enqueue(
        session,
        operation="update_application_message_template",
        front_channel_id=template.front_channel_id,
        lane=channel_lane(template.front_channel_id),
        path={"external_id": template.external_id},
        payload={k: v for k, v in full.items() if k != "external_id"},
        context=context,
    )


def record_template_id(session: Session, *, external_id: str, front_template_id: str) -> None:
    """Keep the id Front gave a template (from a delivered sync)."""
    template = session.exec(
        select(MessageTemplate).where(MessageTemplate.external_id == external_id)
    ).first()
    if template is not None:
        template.front_template_id = front_template_id
        session.add(template)


def template_synced(session: Session, row: OutboxRowSnapshot) -> None:
    """Keep the id Front answered for an imported template (shown to admins, used in logs)."""
    if row.template_id is not None:
        record_template_id(
            session,
            external_id=str(row.payload.get("external_id")),
            front_template_id=row.template_id,
        )


def register_delivery_hooks(hooks: DeliveryHooks) -> None:
    hooks.on_delivered("sync_application_message_template", template_synced)


@dataclass(frozen=True)
class HomeSnapshot:
    """What the App Home shows, read in one go."""

    team_id: str
    links: list[ChannelLink]
    alerts_channel_id: str | None
    paused_reason: str | None
    outbox_counts: dict[str, int]
    templates: int


def home_snapshot(session: Session, *, team_id: str) -> HomeSnapshot:
    ws = ensure_workspace(session, team_id=team_id)
    rows = session.exec(
        select(OutboxRow.status, func.count())
        .where(
            OutboxRow.team_id == team_id,
            col(OutboxRow.status).in_(
                [OutboxStatus.pending, OutboxStatus.sending, OutboxStatus.failed]
            ),
        )
        .group_by(OutboxRow.status)
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    templates = session.exec(
        select(func.count()).select_from(MessageTemplate).where(MessageTemplate.team_id == team_id)
    ).one()
    return HomeSnapshot(
        team_id=team_id,
        links=list_links(session, team_id=team_id),
        alerts_channel_id=ws.alerts_channel_id,
        paused_reason=ws.paused_reason,
        outbox_counts=counts,
        templates=int(templates),
    )
