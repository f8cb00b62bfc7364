"""Statuses at the time they happened: "Status at a time…" on a live call's card opens a
small form (what happened next, and when, prefilled with now) for a teammate catching up
after the fact. The time is checked against the call's start, its last status and now,
and refused next to the field; the card's other buttons keep meaning "now"."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import InvalidFields, UserError
from bot.core.uow import in_transaction
from bot.features.calls import legs, service
from bot.features.calls.forms import TIME_BLOCKS, read_time_form
from bot.features.calls.ids import CallIds, CallTimeMeta, TimeRef
from bot.features.calls.lifecycle import status_label
from bot.features.calls.listeners import card_title
from bot.features.calls.views import time_modal
from bot.slack import lookups
from bot.slack.forms import Submission, button_value, trigger_of, view_submission
from bot.slack.places import place_of
from storage.models import utcnow

# How long the teammate's email may hold the form's ack (Slack allows 3 s in all).
EMAIL_BUDGET = 1.0


async def time_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
) -> None:
    await ack()
    ref = button_value(action, TimeRef)
    place = place_of(body)
    meta = CallTimeMeta(
        channel_id=str(place.channel_id),
        external_call_id=ref.external_call_id,
        version=ref.version,
    )
    await client.views_open(
        trigger_id=trigger_of(body), view=time_modal(meta, ref, card_title(body), now=utcnow())
    )


async def _accept_time(sub: Submission[CallTimeMeta]) -> None:
    """Check the time against the call as stored (start, last status, now) and store the
    status with it, or say what is wrong next to the field; the card follows."""
    form = read_time_form(sub.state, now=utcnow())
    email = await lookups.email_within(sub.runtime, sub.client, sub.user_id, EMAIL_BUDGET)
    try:
        await in_transaction(
            sub.runtime,
            service.set_status,
            wake=True,
            once=sub.replay_key,
            team_id=sub.team_id,
            external_call_id=sub.meta.external_call_id,
            status=form.status,
            expected_version=sub.meta.version,
            occurred_at=form.at,
            user_id=sub.user_id,
            email=email,
        )
    except legs.CallChanged as exc:
        now = status_label(exc.status).lower()
        raise InvalidFields(
            {
                "status": f"Someone made this call {now} since this form opened: close it and "
                "start again from the card."
            }
        ) from None
    except InvalidFields:
        raise
    except UserError as exc:  # a status the call can't take now, or a call that is gone
        raise InvalidFields({"status": str(exc)}) from None


time_submitted = view_submission(
    CallTimeMeta, _accept_time, blocks=TIME_BLOCKS, default_block=CallIds.time_status_block
)
