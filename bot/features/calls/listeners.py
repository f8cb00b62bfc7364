"""Calls from Slack: `/logcall`, its modal, and the call card's buttons.

Every listener acks first. Modals open right after the ack (a trigger_id lasts 3 s and
works once), before any database or users.info work. The log-call modal is checked inside
its ack, so a mistake shows next to its field while the modal stays open.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import links
from bot.core.errors import NotLinked, UserError
from bot.core.uow import in_transaction, read
from bot.features.calls import lifecycle, service
from bot.features.calls.card_view import call_card_blocks, card_text
from bot.features.calls.cards import refresh_call_card
from bot.features.calls.forms import FIELD_BLOCKS, read_call_form
from bot.features.calls.ids import CallFormMeta, CallIds, CallModalMeta, CallRef, TransferRef
from bot.features.calls.state import CallCard
from bot.features.calls.views import (
    log_call_modal,
    recording_modal,
    summary_modal,
    transcript_modal,
)
from bot.runtime import Runtime
from bot.slack import lookups
from bot.slack.forms import Submission, view_submission
from bot.slack.modals import notice_modal
from bot.slack.places import place_of
from bot.slack.say import tell
from storage.models import DeliveryState, utcnow

log = logging.getLogger(__name__)


def _runtime(context: dict[str, Any]) -> Runtime:
    runtime: Runtime = context["runtime"]
    return runtime


def action_ms(action: dict[str, Any]) -> int:
    """When the person clicked, in ms (Slack's `action_ts`), else now."""
    stamp = action.get("action_ts")
    if stamp:
        return int(Decimal(str(stamp)) * 1000)
    return lifecycle.epoch_ms(utcnow())


# /logcall ----------------------------------------------------------------------------


async def logcall_command(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    await ack()
    meta = CallModalMeta(
        team_id=command["team_id"], channel_id=command["channel_id"], user_id=command["user_id"]
    )
    prefill = lifecycle.parse_logcall_text(command.get("text") or "")
    opened = await client.views_open(
        trigger_id=command["trigger_id"], view=log_call_modal(meta, prefill, now=utcnow())
    )
    # Only now, with the modal open, is there time to look at the database. The check that
    # counts runs when the call is stored; this one only warns early ("not connected yet").
    runtime = _runtime(context)
    key = (meta.team_id, meta.channel_id)
    if runtime.caches.linked.get(key):
        return
    link = await read(
        runtime, links.get_link, team_id=meta.team_id, slack_channel_id=meta.channel_id
    )
    if link is not None:
        runtime.caches.linked.put(key, True)
    else:
        text = str(NotLinked())
        await client.views_update(
            view_id=opened["view"]["id"], view=notice_modal("Not connected yet", text)
        )
        await respond(response_type="ephemeral", text=text)


async def _accept_call(sub: Submission[CallModalMeta]) -> service.CallDraft:
    return read_call_form(sub.state, region=sub.runtime.settings.default_phone_region, now=utcnow())


async def _post_card(
    client: AsyncWebClient, channel: str, thread_ts: str | None, card: CallCard
) -> str:
    try:
        posted = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=card_text(card.call),
            blocks=call_card_blocks(card),
        )
    except SlackApiError as exc:
        if exc.response.get("error") in ("not_in_channel", "channel_not_found"):
            raise UserError(
                "I can't post in this channel: invite me first (`/invite @Switchboard`), "
                "then log the call again."
            ) from exc
        raise
    return str(posted["ts"])


async def _tell_submitter(
    client: AsyncWebClient, meta: CallModalMeta | CallFormMeta, text: str
) -> None:
    """`tell` the person who submitted a call form, in the call's thread."""
    await tell(
        client, channel=meta.channel_id, user=meta.user_id, text=text, thread_ts=meta.thread_ts
    )


async def _log_call(sub: Submission[CallModalMeta], form: service.CallDraft) -> None:
    runtime, client, meta = sub.runtime, sub.client, sub.meta
    assert form.agent_user_id is not None
    draft = replace(form, agent_email=await lookups.email(runtime, client, form.agent_user_id))
    external_call_id = lifecycle.new_external_call_id()
    leg = service.new_leg(
        team_id=meta.team_id,
        slack_channel_id=meta.channel_id,
        user_id=meta.user_id,
        external_call_id=external_call_id,
        draft=draft,
        parent_external_call_id=meta.parent_external_call_id,
    )
    first_card = CallCard(call=leg, delivery=DeliveryState.queued, leg=meta.leg, has_next_leg=False)
    # The card goes first: its ts is the thread the call is tied to, stored with the call.
    try:
        card_ts = await _post_card(client, meta.channel_id, meta.thread_ts, first_card)
    except UserError as exc:
        await _tell_submitter(client, meta, str(exc))
        return
    try:
        await in_transaction(
            runtime,
            service.create_call,
            wake=True,
            team_id=meta.team_id,
            slack_channel_id=meta.channel_id,
            user_id=meta.user_id,
            external_call_id=external_call_id,
            draft=draft,
            card_ts=card_ts,
            parent_external_call_id=meta.parent_external_call_id,
        )
    except Exception as exc:
        # Nothing was stored: a card for it would lie.
        await client.chat_delete(channel=meta.channel_id, ts=card_ts)
        if isinstance(exc, UserError):
            await _tell_submitter(client, meta, str(exc))
            return
        raise
    if meta.parent_external_call_id:  # the parent's card drops its "Log transfer" button
        await refresh_call_card(runtime, meta.parent_external_call_id, client=client)


log_call_submitted = view_submission(
    CallModalMeta,
    _accept_call,
    _log_call,
    blocks=FIELD_BLOCKS,
    default_block=CallIds.party_block,
)


# The card's buttons ------------------------------------------------------------------


async def status_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    runtime = _runtime(context)
    ref = CallRef.model_validate_json(action["value"])
    status = str(action["action_id"]).split(":", 1)[1]
    user_id = body["user"]["id"]
    occurred_at = lifecycle.from_epoch_ms(action_ms(action))
    email = await lookups.email(runtime, client, user_id)
    try:
        await in_transaction(
            runtime,
            service.set_status,
            wake=True,
            team_id=context["team_id"],
            external_call_id=ref.external_call_id,
            status=status,
            expected_version=ref.version,
            occurred_at=occurred_at,
            user_id=user_id,
            email=email,
        )
    finally:
        # Winner or loser, the card shows the call as it now is.
        await refresh_call_card(runtime, ref.external_call_id, client=client)


def _card_title(body: dict[str, Any]) -> str:
    # The card's text is "Call received from …: Status".
    return str((body.get("message") or {}).get("text") or "This call").rsplit(":", 1)[0]


FormModal = Callable[[CallFormMeta, str], dict[str, Any]]


def _opens(modal: FormModal) -> Callable[..., Awaitable[None]]:
    """A card button that opens one of the call's forms (summary, transcript, recording)."""

    async def clicked(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        await ack()
        ref = CallRef.model_validate_json(action["value"])
        place = place_of(body)
        meta = CallFormMeta(
            team_id=context["team_id"],
            channel_id=str(place.channel_id),
            user_id=body["user"]["id"],
            external_call_id=ref.external_call_id,
            thread_ts=place.root_ts,
        )
        await client.views_open(trigger_id=body["trigger_id"], view=modal(meta, _card_title(body)))

    return clicked


summary_clicked = _opens(summary_modal)
transcript_clicked = _opens(transcript_modal)
recording_clicked = _opens(recording_modal)


async def transfer_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    ref = TransferRef.model_validate_json(action["value"])
    place = place_of(body)
    meta = CallModalMeta(
        team_id=context["team_id"],
        channel_id=str(place.channel_id),
        user_id=body["user"]["id"],
        parent_external_call_id=ref.external_call_id,
        thread_ts=place.root_ts,
        leg=ref.leg,
    )
    prefill = lifecycle.Prefill(party=ref.party, name=ref.name or "", direction=ref.direction)
    await client.views_open(
        trigger_id=body["trigger_id"], view=log_call_modal(meta, prefill, now=utcnow())
    )
