"""`/switchboard connect` (with an id, or the picker of channels Front authorized) and
`/switchboard capture on|off|emoji NAME`. Admins only, checked from the verified request;
what is chosen is stored inside the ack (the picker's submission), as everywhere."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.core import front_channels, links, slack_posts
from bot.core.errors import InvalidFields, UserError
from bot.core.links import CaptureMode
from bot.core.uow import in_transaction, read
from bot.features.admin.channel_views import (
    ConnectIds,
    ConnectMeta,
    capture_text,
    connect_picker_view,
    connected_text,
)
from bot.features.admin.views import LOADING
from bot.runtime import Runtime
from bot.slack import lookups
from bot.slack.forms import Submission, view_submission
from bot.slack.modals import notice_modal
from bot.slack.permissions import require_admin
from storage.models import utcnow

CONNECT = "connect a channel to Front"
TITLE = "Connect to Front"


async def connect_subcommand(
    *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
) -> str | None:
    """With an id: connect now (before the ack, which says so). Without: the picker
    (after the ack: its trigger opens the modal)."""
    if not args.strip():
        await _open_picker(client, command, runtime)
        return None
    await require_admin(client, command["user_id"], CONNECT)
    front_channel_id = links.parse_front_channel_id(args)
    await in_transaction(
        runtime,
        links.connect,
        team_id=command["team_id"],
        slack_channel_id=command["channel_id"],
        front_channel_id=front_channel_id,
        user_id=command["user_id"],
    )
    return connected_text(command["channel_id"], front_channel_id)


async def _open_picker(client: AsyncWebClient, command: dict[str, Any], runtime: Runtime) -> None:
    # The trigger lasts 3 s and works once: open first, check and fill in afterwards.
    opened = await client.views_open(
        trigger_id=command["trigger_id"], view=notice_modal(TITLE, LOADING)
    )
    view_id = opened["view"]["id"]
    try:
        await require_admin(client, command["user_id"], CONNECT)
    except UserError as exc:
        await client.views_update(view_id=view_id, view=notice_modal(TITLE, str(exc)))
        return
    channels = await read(runtime, front_channels.available)
    meta = ConnectMeta(channel_id=command["channel_id"])
    await client.views_update(
        view_id=view_id, view=connect_picker_view(meta, channels, now=utcnow())
    )


def connect_picked(
    session: Session,
    *,
    team_id: str,
    slack_channel_id: str,
    front_channel_id: str,
    user_id: str,
    picked: bool,
) -> None:
    """Connect, and say so to the admin in the channel (a queued ephemeral)."""
    taken = front_channels.user_of(session, front_channel_id=front_channel_id)
    if picked and taken is not None and taken.slack_channel_id != slack_channel_id:
        raise InvalidFields({"pick": "Another Slack channel took this one meanwhile."})
    links.connect(
        session,
        team_id=team_id,
        slack_channel_id=slack_channel_id,
        front_channel_id=front_channel_id,
        user_id=user_id,
    )
    slack_posts.tell(
        session,
        team_id=team_id,
        user=user_id,
        channel=slack_channel_id,
        text=connected_text(slack_channel_id, front_channel_id),
    )


async def _accept_connect(sub: Submission[ConnectMeta]) -> None:
    await require_admin(sub.client, sub.user_id, CONNECT)
    picked = sub.state.option(ConnectIds.pick_block, ConnectIds.pick_input)
    typed = sub.state.text(ConnectIds.manual_block, ConnectIds.manual_input).strip()
    if not picked and not typed:
        raise InvalidFields({"pick": "Pick a channel Front authorized, or type its id below."})
    if picked and typed and picked != typed:
        raise InvalidFields({"manual": "Pick a channel or type one, not both."})
    try:
        front_channel_id = links.parse_front_channel_id(typed or str(picked))
    except UserError as exc:
        raise InvalidFields({"manual" if typed else "pick": str(exc)}) from None
    await in_transaction(
        sub.runtime,
        connect_picked,
        wake=True,
        once=sub.replay_key,
        team_id=sub.team_id,
        slack_channel_id=sub.meta.channel_id,
        front_channel_id=front_channel_id,
        user_id=sub.user_id,
        picked=not typed,
    )


connect_submitted = view_submission(
    ConnectMeta,
    _accept_connect,
    blocks={"pick": ConnectIds.pick_block, "manual": ConnectIds.manual_block},
    default_block=ConnectIds.manual_block,
)


# /switchboard capture --------------------------------------------------------------------


CAPTURE_USAGE = (
    "Use `/switchboard capture on`, `/switchboard capture off` or "
    "`/switchboard capture emoji ticket`."
)


def _capture_state(session: Session, *, team_id: str, slack_channel_id: str) -> tuple[str, str]:
    link = links.require_link(session, team_id=team_id, slack_channel_id=slack_channel_id)
    return link.capture, link.capture_emoji or links.DEFAULT_CAPTURE_EMOJI


async def capture_subcommand(
    *, client: AsyncWebClient, command: dict[str, Any], runtime: Runtime, args: str
) -> str | None:
    await require_admin(client, command["user_id"], "change auto-capture")
    team_id, channel_id = command["team_id"], command["channel_id"]
    word, _, rest = args.strip().partition(" ")
    word = word.lower()
    if word in ("", "status"):
        mode, emoji = await read(
            runtime, _capture_state, team_id=team_id, slack_channel_id=channel_id
        )
        return capture_text(channel_id, mode, emoji)
    if word not in set(CaptureMode):
        raise UserError(CAPTURE_USAGE)
    chosen = links.parse_emoji(rest) if word == CaptureMode.emoji and rest.strip() else None
    link = await in_transaction(
        runtime,
        links.set_capture,
        team_id=team_id,
        slack_channel_id=channel_id,
        mode=CaptureMode(word),
        user_id=command["user_id"],
        emoji=chosen,
    )
    shared = True
    if link.capture == CaptureMode.on:
        shared = await lookups.externally_shared(client, channel_id)
    return capture_text(channel_id, link.capture, link.capture_emoji, shared=shared)
