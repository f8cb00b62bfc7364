"""Keeping a call card in Slack up to date: after a click, and when a delivery ends.

`refresh_call_card` reads the call and its deliveries and rewrites the card in place.
`register_hooks` subscribes it to the flusher's delivery hooks (wired in
`bot/server.py`), so the card moves from "queued" to "in Front" or "failed" on its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.uow import in_transaction, read
from bot.features.calls import service as calls
from bot.features.calls.views import call_card_blocks, card_text
from bot.runtime import Runtime

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

# Two refreshes of one card in this process run one after the other, so an older read
# never overwrites a newer card.
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _lock_for(external_call_id: str) -> asyncio.Lock:
    lock = _locks.get(external_call_id)
    if lock is None:
        lock = asyncio.Lock()
        _locks[external_call_id] = lock
    return lock


async def _permalink(client: AsyncWebClient, channel: str, ts: str) -> str | None:
    try:
        resp = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError:
        return None
    link = resp.get("permalink")
    return str(link) if link else None


async def refresh_call_card(
    runtime: Runtime, external_call_id: str, *, client: AsyncWebClient | None = None
) -> None:
    """Rewrite the call's card from what is stored (status, buttons, delivery state)."""
    async with _lock_for(external_call_id):
        card = await read(runtime, calls.call_card, external_call_id=external_call_id)
        call = card.call
        if call.delivery_state != card.delivery:  # a write only when it changed
            await in_transaction(
                runtime, calls.sync_delivery_state, external_call_id=external_call_id
            )
        if call.card_ts is None:
            return
        client = client or await runtime.slack_client(call.team_id)
        alert_url = None
        if card.delivery == calls.DeliveryState.failed and card.alert_channel_id and card.alert_ts:
            alert_url = await _permalink(client, card.alert_channel_id, card.alert_ts)
        await client.chat_update(
            channel=call.slack_channel_id,
            ts=call.card_ts,
            text=card_text(call),
            blocks=call_card_blocks(card, alert_url=alert_url),
        )


class _Row(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def path(self) -> Mapping[str, Any]: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


async def on_call_delivery_ended(runtime: Runtime, row: _Row) -> None:
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
    while not await read(runtime, calls.delivery_alert_posted, row_id=row_id):
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.05)


Hook = Callable[[Runtime, Any], Awaitable[None]]


class _Hooks(Protocol):
    def on_delivered(self, operation: str, handler: Hook, /) -> Any: ...
    def on_failed(self, operation: str, handler: Hook, /) -> Any: ...


def register_hooks(hooks: _Hooks) -> None:
    """Subscribe call cards to the end of each call delivery (bot/delivery/hooks.py)."""
    for operation in CALL_OPERATIONS:
        hooks.on_delivered(operation, on_call_delivery_ended)
        hooks.on_failed(operation, on_call_delivery_ended)


__all__ = [
    "CALL_OPERATIONS",
    "on_call_delivery_ended",
    "refresh_call_card",
    "register_hooks",
]
