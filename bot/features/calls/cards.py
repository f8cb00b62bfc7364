"""The call card in Slack: posted once the call is stored, and updated whenever it changes
(a click, a delivery's end), always from what is stored when the post goes.

`send_card` is the `call.card` Slack post (`bot.slack.poster`); `on_delivery_ended` is
the delivery hook that queues it when one of the call's requests reaches Front or fails.
`send_reminder` is the `call.reminder` post: a call still open four hours in is asked
about in its thread.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from bot.core import slack_posts
from bot.core.mrkdwn import escape
from bot.core.slack_posts import PostJob
from bot.core.uow import read
from bot.delivery.hooks import DeliveryHooks, OutboxRowSnapshot
from bot.features.calls import legs, posts, state
from bot.features.calls.card_view import call_card_blocks, card_text, party_text, reminder_text
from bot.features.calls.lifecycle import is_final
from bot.slack.lookups import permalink
from bot.slack.poster import PostContext, PostKinds
from storage.models import Call, DeliveryState

log = logging.getLogger(__name__)

# The operations whose outcome a call card shows.
CALL_OPERATIONS = (
    "create_call",
    "update_call",
    "add_call_summary",
    "add_call_transcript",
    "add_call_recording",
)


async def send_card(ctx: PostContext) -> dict[str, Any] | None:
    """Post the card (first time) or update it; returns the new card's ts."""
    external_call_id = str(ctx.args["external_call_id"])
    try:
        card = await read(ctx.runtime, state.call_card, external_call_id=external_call_id)
    except legs.CallNotFound:
        log.info("call %s is gone; no card to show", external_call_id)
        return None
    call, client = card.call, ctx.client
    alert_url = None
    if card.delivery == DeliveryState.failed and card.alert_channel_id and card.alert_ts:
        alert_url = await permalink(client, card.alert_channel_id, card.alert_ts)
    blocks = call_card_blocks(card, alert_url=alert_url)
    if call.card_ts is None:
        if ctx.args.get("update_only"):
            return None  # its pending post shows all this when it goes
        posted = await client.chat_postMessage(
            channel=call.slack_channel_id,
            thread_ts=call.thread_ts,
            text=card_text(call),
            blocks=blocks,
        )
        return {"ts": str(posted["ts"])}
    await client.chat_update(
        channel=call.slack_channel_id, ts=call.card_ts, text=card_text(call), blocks=blocks
    )
    return None


def record_card(session: Session, job: PostJob, result: dict[str, Any] | None) -> None:
    external_call_id = str(job.args["external_call_id"])
    if result and result.get("ts"):
        posts.card_posted(session, external_call_id=external_call_id, ts=str(result["ts"]))
    try:
        state.sync_delivery_state(session=session, external_call_id=external_call_id)
    except legs.CallNotFound:
        pass


def card_failed(session: Session, job: PostJob, error: str) -> None:
    """Slack will not take the card (the channel is private and the bot not in it, or it
    is gone): the person who logged the call hears it in a DM; the call still goes."""
    call = session.exec(
        select(Call).where(Call.external_call_id == str(job.args["external_call_id"]))
    ).first()
    if call is None or call.card_ts is not None:
        return
    slack_posts.tell(
        session,
        team_id=call.team_id,
        user=call.created_by,
        text=(
            f"I couldn't post the card of your call with {escape(party_text(call))} in "
            f"<#{call.slack_channel_id}> ({escape(error)}). The call is logged and goes to "
            "Front; invite me there (`/invite @Switchboard`) to see its card next time."
        ),
    )


def on_delivery_ended(session: Session, row: OutboxRowSnapshot) -> None:
    """Delivery hook: a call's request was delivered or failed; the card shows it (after
    the failure alert, when there is one, so that it can link to it)."""
    external_call_id = row.path.get("external_call_id") or row.payload.get("external_call_id")
    if not external_call_id:
        return
    call = session.exec(select(Call).where(Call.external_call_id == str(external_call_id))).first()
    if call is None:
        return
    if row.status == "failed" and row.alert_id is not None:
        posts.queue_card(session, call, lane=f"alert:{row.alert_id}")
    else:
        posts.queue_card(session, call)


def register_hooks(hooks: DeliveryHooks) -> None:
    for operation in CALL_OPERATIONS:
        hooks.on_delivered(operation, on_delivery_ended)
        hooks.on_failed(operation, on_delivery_ended)


async def send_reminder(ctx: PostContext) -> None:
    """The `call.reminder` post, due four hours in: a word in the thread of a call that is
    still open, asking how it ended; nothing once it has ended (or has no card)."""
    external_call_id = str(ctx.args["external_call_id"])
    try:
        call = await read(ctx.runtime, state.call_by_id, external_call_id=external_call_id)
    except legs.CallNotFound:
        return
    if is_final(call.status) or call.card_ts is None:
        return
    await ctx.client.chat_postMessage(
        channel=call.slack_channel_id,
        thread_ts=call.thread_ts or call.card_ts,
        text=reminder_text(call),
    )


def register_posts(kinds: PostKinds) -> None:
    kinds.add(posts.CARD, send_card, record_card, card_failed)
    kinds.add(posts.REMINDER, send_reminder)
