"""Keeping a call card in Slack up to date: after a click, and when a delivery ends.

`refresh_call_card` reads the call and its deliveries and rewrites the card in place.
`register_hooks` subscribes it to the flusher's delivery hooks (wired in
`bot/server.py`), so the card moves from "queued" to "in Front" or "failed" on its own.
"""

from __future__ import annotations

import asyncio
import logging
import time

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.uow import in_transaction, read
from bot.delivery.hooks import DeliveryHooks, OutboxRowSnapshot
from bot.features.calls import service as calls
from bot.features.calls import state
from bot.features.calls.card_view import call_card_blocks, card_text
from bot.runtime import Runtime
from bot.slack.lookups import permalink
from storage.models import DeliveryState

log = logging.getLogger(__name__)

# The operations whose outcome a call card shows.
CALL_OPERATIONS = (
    "create_call",
    "update_call",
    "add_call_summary",
    "add_call_transcript",
    "add_call_recording",
)

# How long a failed delivery's card waits for its alert to be posted, to link to it.
ALERT_WAIT_SECONDS = 3.0


async def refresh_call_card(
    runtime: Runtime, external_call_id: str, *, client: AsyncWebClient | None = None
) -> None:
    """Rewrite the call's card from what is stored (status, buttons, delivery state)."""
    # Two refreshes of one card run one after the other: an older read never overwrites
    # a newer card.
    async with runtime.caches.locks(("call card", external_call_id)):
        card = await read(runtime, state.call_card, external_call_id=external_call_id)
        call = card.call
        if call.delivery_state != card.delivery:  # a write only when it changed
            await in_transaction(
                runtime, state.sync_delivery_state, external_call_id=external_call_id
            )
        if call.card_ts is None:
            return
        client = client or await runtime.slack_client(call.team_id)
        alert_url = None
        if card.delivery == DeliveryState.failed and card.alert_channel_id and card.alert_ts:
            alert_url = await permalink(client, card.alert_channel_id, card.alert_ts)
        await client.chat_update(
            channel=call.slack_channel_id,
            ts=call.card_ts,
            text=card_text(call),
            blocks=call_card_blocks(card, alert_url=alert_url),
        )


async def on_call_delivery_ended(runtime: Runtime, row: OutboxRowSnapshot) -> None:
    """Delivery hook: a call's request was delivered or failed; show it on the card."""
    external_call_id = row.path.get("external_call_id") or row.payload.get("external_call_id")
    if not external_call_id:
        return
    if row.status == "failed":
        # The failure alert is posted beside this hook, at the same time: give it a moment
        # so that the card can link to it.
        await _wait_for_alert_post(runtime, row.id)
    try:
        await refresh_call_card(runtime, str(external_call_id))
    except calls.CallNotFound:
        log.info("call %s is gone; no card to refresh", external_call_id)


async def _wait_for_alert_post(runtime: Runtime, row_id: int) -> None:
    deadline = time.monotonic() + ALERT_WAIT_SECONDS
    while not await read(runtime, state.delivery_alert_posted, row_id=row_id):
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.05)


def register_hooks(hooks: DeliveryHooks) -> None:
    """Subscribe call cards to the end of each call delivery (bot/delivery/hooks.py)."""
    for operation in CALL_OPERATIONS:
        hooks.on_delivered(operation, on_call_delivery_ended)
        hooks.on_failed(operation, on_call_delivery_ended)
