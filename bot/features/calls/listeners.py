"""Calls from Slack: `/logcall` (and `/logcall list`), its modal (logging a call, or
correcting it with Edit), and the call card's buttons.

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
from bot.features.calls import edits, followups, history, legs, lifecycle, posts, service, state
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
from bot.slack.forms import (
    Click,
    Submission,
    button_value,
    on_click,
    trigger_of,
    view_submission,
)
from bot.slack.modals import notice_modal
from bot.slack.places import place_of
from storage.models import OutboxStatus, utcnow

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
    runtime = _runtime(context)
    text = (command.get("text") or "").strip()
    if text.lower() == "list":
        await history.list_calls(command, client, runtime, respond)
        return
    meta = CallModalMeta(
        team_id=command["team_id"], channel_id=command["channel_id"], user_id=command["user_id"]
    )
    # A number typed after the command brings the name last written for it: one indexed
    # read, given at most half a second of the trigger's 3 s (none when nothing was typed).
    prefill = await history.with_known_name(
        runtime, command["team_id"], lifecycle.parse_logcall_text(text)
    )
    opened = await client.views_open(
        trigger_id=command["trigger_id"], view=log_call_modal(meta, prefill, now=utcnow())
    )
    # With the modal open there is time for the link check. The check that counts runs
    # when the call is stored; this one only warns early ("not connected yet").
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


def _store_call(
    session: Session,
    *,
    meta: CallModalMeta,
    team_id: str,
    user_id: str,
    draft: service.CallDraft,
    voicemail: dict[str, Any] | None,
) -> None:
    """Log the call (or, from Edit, replace what its form queued), and have its voicemail
    fetched after the ack by a stored post (`call.recording`), like a recording."""
    if meta.edit is None:
        call = service.log_call(
            session,
            team_id=team_id,
            slack_channel_id=meta.channel_id,
            user_id=user_id,
            external_call_id=lifecycle.new_external_call_id(),
            draft=draft,
            parent_external_call_id=meta.parent_external_call_id,
        )
    else:
        call = edits.edit_call(
            session,
            team_id=team_id,
            external_call_id=meta.edit,
            expected_version=meta.version,
            draft=draft,
            user_id=user_id,
        )
    if voicemail is not None:
        args = {
            "team_id": team_id,
            "external_call_id": call.external_call_id,
            "user": user_id,
            "field": "voicemail",
            "file": voicemail,
            "recording_type": lifecycle.RecordingType.voicemail,
        }
        followups.queue_recording(session, args=args)


async def _accept_call(sub: Submission[CallModalMeta]) -> None:
    """Check the form, then store the call, its requests and its card, then ack: once
    Slack has our answer the call is in the database (the card is posted from there)."""
    runtime, client, meta = sub.runtime, sub.client, sub.meta
    form = read_call_form(sub.state, region=runtime.settings.default_phone_region, now=utcnow())
    agent = form.draft.agent_user_id
    # The agent's email is optional in Front: a slow Slack costs it, never the call.
    email = await lookups.email_within(runtime, client, agent, EMAIL_BUDGET)
    try:
        await in_transaction(
            runtime,
            _store_call,
            wake=True,
            once=sub.replay_key,
            meta=meta,
            team_id=sub.team_id,
            user_id=sub.user_id,
            draft=replace(form.draft, agent_email=email),
            voicemail=form.voicemail,
        )
    except NotLinked as exc:
        raise InvalidFields({"party": str(exc)}) from None
    except legs.CallChanged:
        raise InvalidFields(
            {
                "party": "Someone changed this call from its card since this form opened: "
                "close it and press Edit again to see it as it is."
            }
        ) from None


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
    except legs.CallChanged as exc:
        # The loser is told why, and sees the card as it now is.
        posts.queue_card(session, exc.call)
        posts.tell_about(session, exc.call, user=kwargs["user_id"], text=str(exc))
    except InvalidFields as exc:
        # "Now" comes before a time the call already has (a start picked a minute ahead).
        raise UserError(
            f"Nothing was changed: {exc} *Status at a time…* on the card sets when it happened."
        ) from None


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


def card_title(body: dict[str, Any]) -> str:
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
        await client.views_open(trigger_id=trigger_of(body), view=modal(meta, card_title(body)))

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
        trigger_id=trigger_of(body), view=log_call_modal(meta, prefill, now=utcnow())
    )


async def edit_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    """Edit: the log form again, with what the call holds, while Front has not got it."""
    await ack()
    ref = button_value(action, CallRef)
    place = place_of(body)
    opened = await client.views_open(
        trigger_id=trigger_of(body), view=notice_modal("Edit call", "Loading…")
    )
    view_id = opened["view"]["id"]
    try:
        snap = await read(
            _runtime(context),
            state.edit_snapshot,
            team_id=str(place.team_id),
            external_call_id=ref.external_call_id,
        )
    except UserError as exc:
        await client.views_update(view_id=view_id, view=notice_modal("Edit call", str(exc)))
        return
    if snap.create_status != OutboxStatus.pending:
        text = edits.why_not(snap.create_status or "")
        await client.views_update(view_id=view_id, view=notice_modal("Edit call", text))
        return
    call = snap.call
    meta = CallModalMeta(
        team_id=str(place.team_id),
        channel_id=call.slack_channel_id,
        user_id=str(place.user_id),
        edit=call.external_call_id,
        version=call.version,
    )
    await client.views_update(
        view_id=view_id, view=log_call_modal(meta, history.edit_prefill(snap), now=utcnow())
    )
