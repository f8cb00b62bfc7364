"""What the workspace already knows about calls: a number seen before fills in its name in
/logcall, `/logcall list` and the App Home show a person's last calls (with a link to
each card), and Edit opens the form with what a call holds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import contacts
from bot.core.uow import read
from bot.features.calls import state
from bot.features.calls.card_view import duration_of, history_blocks, history_line
from bot.features.calls.lifecycle import Prefill, Status
from bot.features.calls.timeline import TAKES_DURATION, format_duration, outcome_of
from bot.runtime import Runtime
from bot.slack.lookups import permalink
from storage.models import Call, Direction

log = logging.getLogger(__name__)


async def with_known_name(runtime: Runtime, team_id: str, prefill: Prefill) -> Prefill:
    """`prefill` with the name last written for its number or handle, when none was typed."""
    if not prefill.party or prefill.name:
        return prefill
    known = await contacts.known_for(runtime, team_id=team_id, typed=prefill.party)
    if known is None or not known.name:
        return prefill
    return replace(prefill, name=known.name)


def edit_prefill(snap: state.EditSnapshot) -> Prefill:
    """The log form as the call stands: what create-call says, how it went, its summary."""
    call = snap.call
    outcome = outcome_of(
        call.status, connected=call.connected_at is not None, voicemail=call.voicemail
    )
    duration = duration_of(call)
    return Prefill(
        party=call.party_handle,
        name=call.party_name or "",
        direction=Direction(call.direction),
        initial_status=Status(snap.initial_status),
        started_at=call.started_at,
        agent_user_id=call.agent_user_id,
        outcome=outcome,
        duration=format_duration(duration) if duration and outcome in TAKES_DURATION else "",
        summary=snap.summary,
    )


async def _links(client: AsyncWebClient, calls: list[Call]) -> list[str | None]:
    return list(
        await asyncio.gather(*(permalink(client, c.slack_channel_id, c.card_ts) for c in calls))
    )


async def recent_lines(
    runtime: Runtime, client: AsyncWebClient, *, team_id: str, user_id: str
) -> list[str]:
    """A person's last calls, one line each (for `/logcall list` and the App Home)."""
    calls = await read(runtime, state.recent_calls, team_id=team_id, user_id=user_id)
    return [
        history_line(c, link) for c, link in zip(calls, await _links(client, calls), strict=True)
    ]


async def list_calls(
    command: dict[str, Any], client: AsyncWebClient, runtime: Runtime, respond: AsyncRespond
) -> None:
    """`/logcall list`: the person's last calls, only to them."""
    lines = await recent_lines(
        runtime, client, team_id=command["team_id"], user_id=command["user_id"]
    )
    text = f"Your last {len(lines)} calls" if lines else "You have no calls logged yet."
    await respond(response_type="ephemeral", text=text, blocks=history_blocks(lines))
