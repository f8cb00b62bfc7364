"""Mark as failed: an outbound message that never reached the customer. Front reopens its
conversation with the reason given."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.core import slack_posts
from bot.core.errors import InvalidFields
from bot.core.uow import in_transaction
from bot.features.messages import service
from bot.features.messages.drafts import message_external_id
from bot.features.messages.forms import read_reason
from bot.features.messages.ids import MarkFailedMeta, MessageIds
from bot.features.messages.views import mark_failed_modal
from bot.slack.forms import Accepted, Submission, view_submission
from bot.slack.places import place_of


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
        message_external_id(str(place.team_id), channel, ts) if ts else ""
    )
    meta = MarkFailedMeta(
        external_id=external_id, channel_id=channel, card_ts=ts if is_card else None
    )
    modal = mark_failed_modal(meta)
    if place.in_modal:
        await client.views_push(trigger_id=body["trigger_id"], view=modal)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=modal)


def _mark(session: Session, *, team_id: str, external_id: str, reason: str, user_id: str) -> None:
    message = service.mark_failed(
        session, team_id=team_id, external_id=external_id, reason=reason, user_id=user_id
    )
    if message.card_ts:
        service.queue_card(session, message)
        return
    slack_posts.tell(
        session,
        team_id=team_id,
        user=user_id,
        channel=message.slack_channel_id,
        thread_ts=message.thread_ts if message.thread_ts != message.slack_ts else None,
        text=":warning: Marked as failed. Front reopens the conversation with your reason.",
    )


async def _accept(sub: Submission[MarkFailedMeta]) -> Accepted[None]:
    """Store the mark (and its card update or word to the person), then ack."""
    reason = read_reason(sub.state).strip()
    if not reason:
        raise InvalidFields({"reason": "Say what went wrong: Front shows it to the team."})
    await in_transaction(
        sub.runtime,
        _mark,
        wake=True,
        once=sub.replay_key,
        team_id=sub.team_id,
        external_id=sub.meta.external_id,
        reason=reason,
        user_id=sub.user_id,
    )
    # Pushed from the "Already in Front" notice: close both, nothing is left to do there.
    return Accepted(None, clear=bool(sub.view.get("previous_view_id")))


mark_failed_submitted = view_submission(
    MarkFailedMeta, _accept, default_block=MessageIds.reason_block
)
