"""Admin listeners: App Home, `/switchboard status`, `/switchboard templates` and its modals.

The `/switchboard` dispatcher calls the `*_subcommand` functions after it has acked;
each returns the text to show the admin (ephemeral), or None when a modal says it all.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import UserError
from bot.core.uow import in_transaction, read
from bot.features.admin import service as admin
from bot.features.admin.home import home_view
from bot.features.admin.views import (
    LOADING,
    TemplateIds,
    TemplateMeta,
    template_form_view,
    templates_list_view,
    templates_notice_view,
)
from bot.runtime import Runtime
from bot.slack.forms import Submission, view_submission
from bot.slack.permissions import require_admin


async def app_home_opened(
    event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
) -> None:
    if event.get("tab") not in (None, "home"):
        return
    runtime: Runtime = context["runtime"]
    snapshot = await in_transaction(runtime, admin.home_snapshot, team_id=context["team_id"])
    view = home_view(snapshot, front_configured=runtime.settings.front_configured)
    await client.views_publish(user_id=event["user"], view=view)


async def status_subcommand(
    *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
) -> str:
    await require_admin(client, command["user_id"], "set the Front channel's status")
    link = await in_transaction(
        runtime,
        admin.set_channel_status,
        wake=True,
        team_id=command["team_id"],
        slack_channel_id=command["channel_id"],
        status=args,
        user_id=command["user_id"],
    )
    return (
        f"Front channel `{link.front_channel_id}` will be set to *{link.front_status}*. "
        "You'll hear from me here if Front refuses it."
    )


async def templates_subcommand(
    *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
) -> str | None:
    meta = TemplateMeta(team_id=command["team_id"], channel_id=command["channel_id"])
    # The trigger lasts 3 s and works once: open first, check and fill in afterwards.
    opened = await client.views_open(
        trigger_id=command["trigger_id"], view=templates_notice_view(LOADING)
    )
    view_id = opened["view"]["id"]
    try:
        await require_admin(client, command["user_id"], "manage message templates")
        templates = await read(
            runtime, admin.channel_templates, team_id=meta.team_id, slack_channel_id=meta.channel_id
        )
    except UserError as exc:
        await client.views_update(view_id=view_id, view=templates_notice_view(str(exc)))
        return None
    await client.views_update(view_id=view_id, view=templates_list_view(meta, templates))
    return None


def _meta(body: dict[str, Any]) -> TemplateMeta:
    return TemplateMeta.model_validate_json(body["view"]["private_metadata"])


async def _refresh_list(
    client: AsyncWebClient, runtime: Runtime, view_id: str, meta: TemplateMeta
) -> None:
    templates = await read(
        runtime, admin.channel_templates, team_id=meta.team_id, slack_channel_id=meta.channel_id
    )
    await client.views_update(view_id=view_id, view=templates_list_view(meta, templates))


async def template_add(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    await ack()
    await client.views_push(
        trigger_id=body["trigger_id"], view=template_form_view(_meta(body), None)
    )


async def template_edit(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    runtime: Runtime = context["runtime"]
    meta = _meta(body).model_copy(update={"template_id": int(action["value"])})
    pushed = await client.views_push(
        trigger_id=body["trigger_id"],
        view=templates_notice_view(LOADING, callback_id=TemplateIds.form_view),
    )
    try:
        template = await read(
            runtime, admin.get_template, team_id=meta.team_id, template_id=meta.template_id or 0
        )
    except UserError as exc:
        await client.views_update(
            view_id=pushed["view"]["id"], view=templates_notice_view(str(exc))
        )
        return
    await client.views_update(view_id=pushed["view"]["id"], view=template_form_view(meta, template))


async def template_toggle(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    runtime: Runtime = context["runtime"]
    meta = _meta(body)
    template_id, disable = action["value"].split(":")
    await in_transaction(
        runtime,
        admin.set_template_disabled,
        wake=True,
        team_id=meta.team_id,
        slack_channel_id=meta.channel_id,
        user_id=body["user"]["id"],
        template_id=int(template_id),
        disabled=disable == "1",
    )
    await _refresh_list(client, runtime, body["view"]["id"], meta)


async def templates_resync(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    runtime: Runtime = context["runtime"]
    meta = _meta(body)
    await in_transaction(
        runtime,
        admin.resync_templates,
        wake=True,
        team_id=meta.team_id,
        slack_channel_id=meta.channel_id,
        user_id=body["user"]["id"],
    )
    await _refresh_list(client, runtime, body["view"]["id"], meta)


async def _accept_template(sub: Submission[TemplateMeta]) -> None:
    # A short write inside the ack: it is the only way to answer a clash next to the field.
    meta = sub.meta
    await in_transaction(
        sub.runtime,
        admin.save_template,
        wake=True,
        team_id=meta.team_id,
        slack_channel_id=meta.channel_id,
        user_id=sub.user_id,
        name=sub.state.text(TemplateIds.name_block, TemplateIds.name_input),
        body=sub.state.text(TemplateIds.body_block, TemplateIds.body_input),
        template_id=meta.template_id,
    )


async def _show_list(sub: Submission[TemplateMeta], _saved: None) -> None:
    await _refresh_list(sub.client, sub.runtime, sub.view["root_view_id"], sub.meta)


template_form_submitted = view_submission(
    TemplateMeta,
    _accept_template,
    _show_list,
    blocks={"name": TemplateIds.name_block, "body": TemplateIds.body_block},
    default_block=TemplateIds.name_block,
)
