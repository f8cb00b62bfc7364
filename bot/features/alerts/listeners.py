"""Failure alerts: the Retry and Discard buttons, and `/switchboard alerts #channel`."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.core.errors import UserError
from bot.core.uow import in_transaction, read
from bot.delivery import alert_actions, alerts
from bot.features.alerts import posts
from bot.features.alerts.views import AlertButton
from bot.runtime import Runtime
from bot.slack.forms import Click, button_value, on_click
from bot.slack.lookups import is_external
from bot.slack.permissions import is_workspace_admin, require_admin
from bot.slack.say import post_joining
from storage.models import Workspace

# Slack escapes a picked channel as <#C123|name> (the command has should_escape: true).
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$|^([CG][A-Z0-9]{6,})$")
_OFF = {"off", "none", "thread", "threads"}


def _retry(session: Session, *, team_id: str, alert_id: int, user_id: str) -> None:
    alert_actions.retry_alert(session, team_id=team_id, alert_id=alert_id, user_id=user_id)
    posts.queue_refresh(session, [alert_id])


async def _retry_clicked(click: Click) -> None:
    # Open to everyone who sees the alert: a retry sends the same requests again with the
    # same external ids (at-least-once, Front does not duplicate) and loses nothing.
    button = button_value(click.action, AlertButton)
    # wake: the flusher takes the rows (and the poster the alert) now, not at the next tick.
    await in_transaction(
        click.runtime,
        _retry,
        wake=True,
        team_id=click.team_id,
        alert_id=button.alert_id,
        user_id=click.user_id,
    )


def _discard(session: Session, *, alert_id: int, **kwargs: Any) -> alert_actions.AlertActionResult:
    result = alert_actions.discard_alert(session, alert_id=alert_id, **kwargs)
    posts.queue_refresh(session, [alert_id])
    return result


async def _discard_clicked(click: Click) -> None:
    button = button_value(click.action, AlertButton)
    try:
        admin = await is_workspace_admin(click.client, click.user_id)
    except SlackApiError:
        admin = False  # the person who logged the rows may still discard them
    # Later rows of the lanes may go now.
    result = await in_transaction(
        click.runtime,
        _discard,
        wake=True,
        team_id=click.team_id,
        alert_id=button.alert_id,
        user_id=click.user_id,
        is_admin=admin,
        confirmed_dependents=button.dependents,
    )
    if result.stale:
        raise UserError(result.message)


retry_clicked = on_click(_retry_clicked)
discard_clicked = on_click(_discard_clicked)


def parse_channel(text: str) -> str | None:
    """A channel id from `<#C123|name>` or `C123`; None for `off`. UserError otherwise."""
    value = text.strip()
    if value.lower() in _OFF:
        return None
    match = _CHANNEL.match(value)
    if not match:
        raise UserError(
            f"`{value}` is not a channel I can use. Pick one from the list as you type "
            "`/switchboard alerts #` (for example `/switchboard alerts #support-alerts`), "
            "or `/switchboard alerts off` to report failures in their threads only."
        )
    return match.group(1) or match.group(2)


def _current(*, session: Session, team_id: str) -> str | None:
    ws = session.get(Workspace, team_id)
    return ws.alerts_channel_id if ws is not None else None


async def alerts_subcommand(
    *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
) -> str:
    """`/switchboard alerts [#channel|off]`: where failed deliveries are reported."""
    team_id = command["team_id"]
    if not args.strip():
        current = await read(runtime, _current, team_id=team_id)
        where = f"in <#{current}> and" if current else "only"
        return (
            f"Failed deliveries are reported {where} in the thread where they were logged. "
            "Change it with `/switchboard alerts #channel` (admins) or "
            "`/switchboard alerts off`."
        )
    await require_admin(client, command["user_id"], "choose where delivery alerts go")
    channel_id = parse_channel(args)
    if channel_id is not None:
        await _refuse_shared(client, channel_id)
        await _say_hello(client, channel_id, command["user_id"])
    await in_transaction(runtime, alerts.set_alerts_channel, team_id=team_id, channel_id=channel_id)
    if channel_id is None:
        return "Failed deliveries are now reported in their threads only."
    return (
        f"Failed deliveries will be reported in <#{channel_id}> (and in their threads), "
        "with Retry and Discard buttons."
    )


async def _refuse_shared(client: AsyncWebClient, channel_id: str) -> None:
    """Alerts show Front's errors and Retry/Discard: never to people of another
    organisation (a Slack Connect channel, or one being shared)."""
    try:
        resp = await client.conversations_info(channel=channel_id)
    except SlackApiError as exc:
        raise UserError(
            f"I can't see <#{channel_id}> ({exc.response.get('error')}). "
            "Invite me there first (`/invite @Switchboard`), then try again."
        ) from None
    if is_external(resp.get("channel") or {}):
        raise UserError(
            f"<#{channel_id}> is shared with another organisation (Slack Connect): its "
            "members would see Front's error messages and the Retry and Discard buttons. "
            "Pick a channel only your workspace can see."
        )


async def _say_hello(client: AsyncWebClient, channel_id: str, user_id: str) -> None:
    """Post once in the new alerts channel: proves the bot can post there before saving."""
    text = (
        f"<@{user_id}> chose this channel for Switchboard's delivery alerts: when something "
        "logged from Slack cannot reach Front, it shows up here with Retry and Discard."
    )
    try:
        await post_joining(client, channel=channel_id, text=text)
    except SlackApiError as exc:
        raise UserError(
            f"I can't post in <#{channel_id}> ({exc.response.get('error')}). "
            "Invite me there first (`/invite @Switchboard`), then try again."
        ) from None
