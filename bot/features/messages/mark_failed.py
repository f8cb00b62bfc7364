"""Mark as failed: an outbound message that never reached the customer. Front reopens its
conversation with the reason given."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import InvalidFields, UserError
from bot.core.uow import in_transaction
from bot.features.messages import service
from bot.features.messages.cards import update_card
from bot.features.messages.drafts import message_external_id
from bot.features.messages.forms import read_reason
from bot.features.messages.ids import MarkFailedMeta, MessageIds
from bot.features.messages.views import mark_failed_modal
from bot.slack.forms import Accepted, Submission, view_submission
from bot.slack.places import place_of
from bot.slack.say import tell


async def mark_failed_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    await ack()
    action = (body.get("actions") or [{}])[0]
    place = place_of(body)
    channel, ts = str(place.channel_id or ""), place.message_ts
    if place.in_modal:  # the "Already in Front" notice: the message's channel is in its text
        channel = ""
    is_card = not place.in_modal and not place.ephemeral
    external_id = action.get("value") or (
        message_external_id(body["team"]["id"], channel, ts) if ts else ""
    )
    meta = MarkFailedMeta(
        external_id=external_id, channel_id=channel, card_ts=ts if is_card else None
    )
    modal = mark_failed_modal(meta)
    if place.in_modal:
        await client.views_push(trigger_id=body["trigger_id"], view=modal)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def _accept(sub: Submission[MarkFailedMeta]) -> Accepted[str]:
    reason = read_reason(sub.state).strip()
    if not reason:
        raise InvalidFields({"reason": "Say what went wrong: Front shows it to the team."})
    # Pushed from the "Already in Front" notice: close both, nothing is left to do there.
    return Accepted(reason, clear=bool(sub.view.get("previous_view_id")))


async def _mark(sub: Submission[MarkFailedMeta], reason: str) -> None:
    user_id, meta = sub.user_id, sub.meta
    try:
        message = await in_transaction(
            sub.runtime,
            service.mark_failed,
            wake=True,
            team_id=sub.team_id,
            external_id=meta.external_id,
            reason=reason,
            user_id=user_id,
        )
    except UserError as exc:
        await tell(sub.client, channel=meta.channel_id or user_id, user=user_id, text=str(exc))
        return
    if message.card_ts:
        await update_card(sub.client, message)
    else:
        await tell(
            sub.client,
            channel=message.slack_channel_id,
            user=user_id,
            thread_ts=message.thread_ts if message.thread_ts != message.slack_ts else None,
            text=":warning: Marked as failed. Front reopens the conversation with your reason.",
        )


mark_failed_submitted = view_submission(
    MarkFailedMeta, _accept, _mark, default_block=MessageIds.reason_block
)
