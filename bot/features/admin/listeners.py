"""Admin listeners: App Home, `/switchboard status`, `/switchboard templates` and its modals.

The `/switchboard` dispatcher calls the `*_subcommand` functions before it acks; each
returns the text the ack carries (ephemeral), or None when a modal says it all (those run
after the ack, which their modal needs).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import AlreadyHandled, UserError
from bot.core.events import key_of
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
from bot.features.calls import history as call_history
from bot.runtime import Runtime
from bot.slack.forms import Click, Submission, metadata, on_click, trigger_of, view_submission
from bot.slack.permissions import require_admin


async def app_home_opened(
    event: dict[str, Any], body: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
) -> None:
    if event.get("tab") not in (None, "home") or not isinstance(event.get("user"), str):
        return
    runtime: Runtime = context["runtime"]
    # Slack re-sends an event it thinks failed: its id is stored with the snapshot's
    # transaction (which writes: the workspace's row), so a retry does nothing more.
    event_id = body.get("event_id")
    try:
        snapshot = await in_transaction(
            runtime,
            admin.home_snapshot,
            once=key_of("event", event_id) if isinstance(event_id, str) and event_id else None,
            team_id=context["team_id"],
        )
    except AlreadyHandled:
        return
    calls = await call_history.recent_lines(
        runtime, client, team_id=context["team_id"], user_id=event["user"]
    )
    view = home_view(
        snapshot, front_configured=runtime.settings.front_configured, recent_calls=calls
    )
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


# Who may manage templates: every template action checks it, from the verified request.
MANAGE = "manage message templates"


def _meta(click: Click) -> TemplateMeta:
    """The templates modal's channel, in the clicking person's own workspace."""
    meta = metadata(click.body.get("view"), TemplateMeta)
    return meta.model_copy(update={"team_id": click.team_id})


def _view_id(click: Click) -> str:
    view = click.body.get("view")
    view_id = view.get("id") if isinstance(view, dict) else None
    if not isinstance(view_id, str):
        raise UserError("This button is not in a Switchboard form any more.")
    return view_id


async def _refresh_list(
    client: AsyncWebClient, runtime: Runtime, view_id: str, meta: TemplateMeta
) -> None:
    templates = await read(
        runtime, admin.channel_templates, team_id=meta.team_id, slack_channel_id=meta.channel_id
    )
    await client.views_update(view_id=view_id, view=templates_list_view(meta, templates))


async def _template_add(click: Click) -> None:
    meta = _meta(click)
    await require_admin(click.client, click.user_id, MANAGE)
    await click.client.views_push(
        trigger_id=trigger_of(click.body), view=template_form_view(meta, None)
    )


async def _template_edit(click: Click) -> None:
    raw = str(click.action.get("value") or "")
    if not raw.isdigit():
        raise UserError("That button is out of date; nothing was changed.")
    meta = _meta(click).model_copy(update={"template_id": int(raw)})
    await require_admin(click.client, click.user_id, MANAGE)
    template = await read(
        click.runtime, admin.get_template, team_id=click.team_id, template_id=int(raw)
    )
    await click.client.views_push(
        trigger_id=trigger_of(click.body), view=template_form_view(meta, template)
    )


async def _template_toggle(click: Click) -> None:
    template_id, _, disable = str(click.action.get("value") or "").partition(":")
    if not template_id.isdigit() or disable not in ("0", "1"):
        raise UserError("That button is out of date; nothing was changed.")
    meta = _meta(click)
    await require_admin(click.client, click.user_id, MANAGE)
    await in_transaction(
        click.runtime,
        admin.set_template_disabled,
        wake=True,
        team_id=click.team_id,
        slack_channel_id=meta.channel_id,
        user_id=click.user_id,
        template_id=int(template_id),
        disabled=disable == "1",
    )
    await _refresh_list(click.client, click.runtime, _view_id(click), meta)


async def _templates_resync(click: Click) -> None:
    meta = _meta(click)
    await require_admin(click.client, click.user_id, MANAGE)
    await in_transaction(
        click.runtime,
        admin.resync_templates,
        wake=True,
        team_id=click.team_id,
        slack_channel_id=meta.channel_id,
        user_id=click.user_id,
    )
    await _refresh_list(click.client, click.runtime, _view_id(click), meta)


template_add = on_click(_template_add)
template_edit = on_click(_template_edit)
template_toggle = on_click(_template_toggle)
templates_resync = on_click(_templates_resync)


async def _accept_template(sub: Submission[TemplateMeta]) -> None:
    # A short write inside the ack: it is the only way to answer a clash next to the field.
    await require_admin(sub.client, sub.user_id, MANAGE)
    await in_transaction(
        sub.runtime,
        admin.save_template,
        wake=True,
        once=sub.replay_key,
        team_id=sub.team_id,
        slack_channel_id=sub.meta.channel_id,
        user_id=sub.user_id,
        name=sub.state.text(TemplateIds.name_block, TemplateIds.name_input),
        body=sub.state.text(TemplateIds.body_block, TemplateIds.body_input),
        template_id=sub.meta.template_id,
    )


async def _show_list(sub: Submission[TemplateMeta], _saved: None) -> None:
    meta = sub.meta.model_copy(update={"team_id": sub.team_id})
    root = sub.view.get("root_view_id")
    if isinstance(root, str):
        await _refresh_list(sub.client, sub.runtime, root, meta)


template_form_submitted = view_submission(
    TemplateMeta,
    _accept_template,
    _show_list,
    blocks={"name": TemplateIds.name_block, "body": TemplateIds.body_block},
    default_block=TemplateIds.name_block,
)
