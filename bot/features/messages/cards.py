"""A logged message in Slack after the fact: its card (/logmsg) and the reaction on the
message (shortcut) follow its deliveries to Front, through the delivery hooks."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.phones import display_handle
from bot.core.uow import in_transaction
from bot.delivery.hooks import DeliveryHooks, OutboxRowSnapshot
from bot.features.messages import service
from bot.features.messages.card_view import (
    DELIVERED_REACTION,
    MessageView,
    card_text,
    message_card,
)
from bot.features.messages.drafts import SYNC_INBOUND, SYNC_OUTBOUND, UPDATE_STATUS, Source
from bot.runtime import Runtime
from storage.models import LoggedMessage


def view_of(message: LoggedMessage) -> MessageView:
    return MessageView(
        external_id=message.external_id,
        direction=message.direction,
        handle=message.handle,
        name=message.name,
        email=message.email,
        subject=message.subject,
        body_text=message.body_text,
        file_count=message.file_count,
        logged_by=message.logged_by,
        logged_at=message.created_at,
        delivery_state=message.delivery_state,
        front_channel_id=message.front_channel_id,
        source=message.source,
        marked_failed_by=message.marked_failed_by,
        failed_reason=message.failed_reason,
    )


def card(message: LoggedMessage) -> tuple[list[dict[str, Any]], str]:
    """(blocks, text) of a message's card."""
    view = view_of(message)
    display = display_handle(message.handle)
    return message_card(view, display), card_text(view, display)


async def update_card(client: AsyncWebClient, message: LoggedMessage) -> None:
    if not message.card_ts:
        return
    blocks, text = card(message)
    await client.chat_update(
        channel=message.slack_channel_id, ts=message.card_ts, blocks=blocks, text=text
    )


async def on_delivery_ended(runtime: Runtime, row: OutboxRowSnapshot) -> None:
    """Front accepted a logged message (react to the Slack message, update its card) or
    refused it for good (its card says so; the alert says why)."""
    delivered = row.status == "delivered"
    message = await in_transaction(
        runtime,
        service.record_delivery,
        operation=row.operation,
        payload=row.payload,
        path=row.path,
        delivered=delivered,
        message_uid=row.message_uid if delivered else None,
    )
    if message is None:
        return
    client = await runtime.slack_client(row.team_id)
    shortcut = row.operation != UPDATE_STATUS and message.source == Source.shortcut
    if delivered and shortcut:
        assert message.slack_ts is not None
        try:
            await client.reactions_add(
                channel=message.slack_channel_id,
                timestamp=message.slack_ts,
                name=DELIVERED_REACTION,
            )
        except SlackApiError as exc:
            # Delivery is at-least-once: a second run finds the reaction already there.
            if exc.response.get("error") != "already_reacted":
                raise
    await update_card(client, message)


def register_hooks(hooks: DeliveryHooks) -> None:
    for operation in (SYNC_INBOUND, SYNC_OUTBOUND, UPDATE_STATUS):
        hooks.on_delivered(operation, on_delivery_ended)
        hooks.on_failed(operation, on_delivery_ended)
