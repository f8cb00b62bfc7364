"""A logged message in Slack after the fact: the bot's card for a /logmsg message, and the
reaction on a Slack message logged with the shortcut, both following its deliveries to
Front. They are Slack posts (`message.card`, `message.react`), queued by the delivery hook
in the transaction that records the outcome, and rendered from the database when sent."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import slack_posts
from bot.core.mrkdwn import escape
from bot.core.phones import display_handle
from bot.core.slack_posts import PostJob
from bot.core.uow import read
from bot.delivery.hooks import DeliveryHooks, OutboxRowSnapshot
from bot.features.messages import service
from bot.features.messages.card_view import (
    DELIVERED_REACTION,
    MessageView,
    card_text,
    message_card,
)
from bot.features.messages.drafts import SYNC_INBOUND, SYNC_OUTBOUND, UPDATE_STATUS, Source
from bot.slack.poster import PostContext, PostKinds
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


async def _message(ctx: PostContext) -> LoggedMessage | None:
    return await read(ctx.runtime, service.find, external_id=str(ctx.args["external_id"]))


async def send_card(ctx: PostContext) -> dict[str, Any] | None:
    """Post the card (first time: in the thread it continues, if any) or update it."""
    message = await _message(ctx)
    if message is None:
        return None
    blocks, text = card(message)
    if message.card_ts is None:
        posted = await ctx.client.chat_postMessage(
            channel=message.slack_channel_id,
            thread_ts=message.thread_ts,
            blocks=blocks,
            text=text,
        )
        return {"ts": str(posted["ts"])}
    await ctx.client.chat_update(
        channel=message.slack_channel_id, ts=message.card_ts, blocks=blocks, text=text
    )
    return None


def record_card(session: Session, job: PostJob, result: dict[str, Any] | None) -> None:
    if result and result.get("ts"):
        service.card_posted(session, external_id=str(job.args["external_id"]), ts=result["ts"])


def card_failed(session: Session, job: PostJob, error: str) -> None:
    """Slack will not take the card: whoever logged the message hears it (a DM); the
    message itself still goes to Front."""
    message = service.find(session, external_id=str(job.args["external_id"]))
    if message is None or message.card_ts is not None:
        return
    slack_posts.tell(
        session,
        team_id=message.team_id,
        user=message.logged_by,
        text=(
            f"I couldn't post the card of the message you logged in "
            f"<#{message.slack_channel_id}> ({escape(error)}). It is logged and goes to "
            "Front; invite me there (`/invite @Switchboard`) to see its card next time."
        ),
    )


async def send_reaction(ctx: PostContext) -> None:
    message = await _message(ctx)
    if message is None or message.slack_ts is None:
        return
    try:
        await ctx.client.reactions_add(
            channel=message.slack_channel_id, timestamp=message.slack_ts, name=DELIVERED_REACTION
        )
    except SlackApiError as exc:
        # At-least-once: a second run finds the reaction already there.
        if exc.response.get("error") != "already_reacted":
            raise


def on_delivery_ended(session: Session, row: OutboxRowSnapshot) -> None:
    """Delivery hook: Front accepted a logged message (a reaction on the Slack message, its
    card updated) or refused it for good (its card says so; the alert says why)."""
    delivered = row.status == "delivered"
    message = service.record_delivery(
        session,
        operation=row.operation,
        payload=row.payload,
        path=row.path,
        delivered=delivered,
        message_uid=row.message_uid if delivered else None,
    )
    if message is None:
        return
    if delivered and row.operation != UPDATE_STATUS and message.source == Source.shortcut:
        service.queue_reaction(session, message)
    if message.source == Source.logmsg:
        service.queue_card(session, message)


def register_hooks(hooks: DeliveryHooks) -> None:
    for operation in (SYNC_INBOUND, SYNC_OUTBOUND, UPDATE_STATUS):
        hooks.on_delivered(operation, on_delivery_ended)
        hooks.on_failed(operation, on_delivery_ended)


def register_posts(kinds: PostKinds) -> None:
    kinds.add(service.CARD, send_card, record_card, card_failed)
    kinds.add(service.REACT, send_reaction)
