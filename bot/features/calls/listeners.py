"""Calls from Slack: `/logcall`, its modal, and the call card's buttons.

Commands and buttons that open a modal ack first and open it at once (a trigger_id lasts
3 s and works once). A submission or a status click is checked and stored inside the ack
window, then acked: a mistake shows next to its field while the modal stays open, and
what Slack saw acked is in the database. The card is posted from there (`cards`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.core import links
from bot.core.errors import InvalidFields, NotLinked, UserError
from bot.core.uow import in_transaction, read
from bot.features.calls import lifecycle, service
from bot.features.calls.forms import FIELD_BLOCKS, read_call_form
from bot.features.calls.ids import CallFormMeta, CallIds, CallModalMeta, CallRef, TransferRef
from bot.features.calls.views import (
    log_call_modal,
    recording_modal,
    summary_modal,
    transcript_modal,
)
from bot.runtime import Runtime
from bot.slack import lookups
from bot.slack.forms import Click, Submission, button_value, on_click, view_submission
from bot.slack.modals import notice_modal
from bot.slack.places import place_of
from storage.models import utcnow

log = logging.getLogger(__name__)


# How long the agent's email may hold a submission's ack (Slack allows 3 s in all).
EMAIL_BUDGET = 1.0


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


async def _accept_call(sub: Submission[CallModalMeta]) -> None:
    """Check the form, then store the call, its create-call and its card, then ack: once
    Slack has our answer the call is in the database (the card is posted from there)."""
    runtime, client, meta = sub.runtime, sub.client, sub.meta
    form = read_call_form(sub.state, region=runtime.settings.default_phone_region, now=utcnow())
    assert form.agent_user_id is not None
    # The agent's email is optional in Front: a slow Slack costs it, never the call.
    email = await lookups.email_within(runtime, client, form.agent_user_id, EMAIL_BUDGET)
    try:
        await in_transaction(
            runtime,
            service.log_call,
            wake=True,
            once=sub.replay_key,
            team_id=sub.team_id,
            slack_channel_id=meta.channel_id,
            user_id=sub.user_id,
            external_call_id=lifecycle.new_external_call_id(),
            draft=replace(form, agent_email=email),
            parent_external_call_id=meta.parent_external_call_id,
        )
    except NotLinked as exc:
        raise InvalidFields({"party": str(exc)}) from None


log_call_submitted = view_submission(
    CallModalMeta,
    _accept_call,
    blocks=FIELD_BLOCKS,
    default_block=CallIds.party_block,
)


# The card's buttons ------------------------------------------------------------------


def _store_status(session: Session, *, ref: CallRef, **kwargs: Any) -> None:
    try:
        service.set_status(
            session, external_call_id=ref.external_call_id, expected_version=ref.version, **kwargs
        )
    except service.CallChanged as exc:
        # The loser is told why, and sees the card as it now is.
        service.queue_card(session, exc.call)
        service.tell_about(session, exc.call, user=kwargs["user_id"], text=str(exc))


async def _status_clicked(click: Click) -> None:
    """Store the new status (and its card update), then ack."""
    ref = button_value(click.action, CallRef)
    status = str(click.action.get("action_id", "")).partition(":")[2]
    if status not in set(lifecycle.Status):
        raise UserError("That button is out of date; nothing was changed.")
    occurred_at = lifecycle.from_epoch_ms(action_ms(click.action))
    email = await lookups.email_within(click.runtime, click.client, click.user_id, EMAIL_BUDGET)
    await in_transaction(
        click.runtime,
        _store_status,
        wake=True,
        ref=ref,
        team_id=click.team_id,
        status=status,
        occurred_at=occurred_at,
        user_id=click.user_id,
        email=email,
    )


status_clicked = on_click(_status_clicked)


def _trigger(body: dict[str, Any]) -> str:
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        raise UserError("Slack sent this click without what opens a form; please click again.")
    return trigger


def _card_title(body: dict[str, Any]) -> str:
    # The card's text is "Call received from …: Status" (already escaped for mrkdwn).
    message = body.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    return str(text or "This call").rsplit(":", 1)[0]


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
        ref = button_value(action, CallRef)
        place = place_of(body)
        meta = CallFormMeta(
            team_id=str(place.team_id),
            channel_id=str(place.channel_id),
            user_id=str(place.user_id),
            external_call_id=ref.external_call_id,
            thread_ts=place.root_ts,
        )
        await client.views_open(trigger_id=_trigger(body), view=modal(meta, _card_title(body)))

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
    ref = button_value(action, TransferRef)
    place = place_of(body)
    meta = CallModalMeta(
        team_id=str(place.team_id),
        channel_id=str(place.channel_id),
        user_id=str(place.user_id),
        parent_external_call_id=ref.external_call_id,
        thread_ts=place.root_ts,
        leg=ref.leg,
    )
    prefill = lifecycle.Prefill(party=ref.party, name=ref.name or "", direction=ref.direction)
    await client.views_open(
        trigger_id=_trigger(body), view=log_call_modal(meta, prefill, now=utcnow())
    )
