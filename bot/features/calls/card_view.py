"""Block Kit for the call card: what happened, its delivery state, and the buttons that
move the call on. Pure functions of plain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.mrkdwn import escape
from bot.core.phones import display_handle
from bot.features.calls.ids import CallIds, CallRef, TransferRef
from bot.features.calls.lifecycle import Status, is_final, next_statuses, status_label
from bot.features.calls.state import CallCard
from storage.models import Call, DeliveryState, Direction


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


BUTTON_LABELS: dict[str, str] = {
    Status.queued: "Queued",
    Status.ringing: "Ringing",
    Status.connected: "Connected",
    Status.hold: "Hold",
    Status.hangup: "Hang up",
    Status.missed: "Missed",
    Status.abandoned: "Abandoned",
    Status.transferred: "Transferred",
}


_DANGER = {Status.hangup, Status.missed, Status.abandoned}


def _when(moment: datetime) -> str:
    seconds = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{seconds}^{{date_short_pretty}} {{time}}|{fallback}>"


def party_text(call: Call) -> str:
    """Who the call was with, as typed (not escaped: escape where it is shown)."""
    handle = display_handle(call.party_handle)
    return f"{call.party_name} ({handle})" if call.party_name else handle


def card_text(call: Call) -> str:
    """The notification text of a card (and what screen readers say)."""
    verb = "received from" if call.direction == Direction.inbound else "placed to"
    return f"Call {verb} {escape(party_text(call))}: {status_label(call.status)}"


def delivery_line(card: CallCard, alert_url: str | None = None) -> str:
    match card.delivery:
        case DeliveryState.delivered:
            return ":white_check_mark: In Front"
        case DeliveryState.failed:
            where = (
                f" <{alert_url}|See the alert> to retry or discard it."
                if alert_url
                else " The alert in this thread offers Retry and Discard."
            )
            reason = f" ({escape(card.failure[:150])})" if card.failure else ""
            return f":x: Not in Front: delivery failed{reason}.{where}"
        case DeliveryState.discarded:
            return ":no_entry_sign: Not in Front: a delivery was discarded"
        case _:
            return ":hourglass_flowing_sand: Queued for Front"


def call_card_blocks(card: CallCard, *, alert_url: str | None = None) -> list[dict[str, Any]]:
    call = card.call
    icon = ":telephone_receiver:" if call.direction == Direction.inbound else ":phone:"
    verb = "received from" if call.direction == Direction.inbound else "placed to"
    leg = f" · leg {card.leg}" if card.leg > 1 else ""
    agent = (
        f"<@{call.agent_user_id}>" if call.agent_user_id else escape(call.agent_email or "nobody")
    )
    status = f"*{status_label(call.status)}*"
    if card.last_changed_by:
        status += f" (by <@{card.last_changed_by}>)"
    blocks: list[Block] = [
        SectionBlock(
            text=_md(f"{icon} *Call {verb} {escape(party_text(call))}*{leg}"),
            fields=[
                _md(f"*Status*\n{status}"),
                _md(f"*Teammate*\n{agent}"),
                _md(f"*Started*\n{_when(call.started_at)}"),
                _md(f"*Logged by*\n<@{call.created_by}>"),
            ],
        ),
        ContextBlock(elements=[_md(delivery_line(card, alert_url))]),
    ]
    ref = CallRef(external_call_id=call.external_call_id, version=call.version).model_dump_json()
    statuses = next_statuses(call.status)
    if statuses:
        blocks.append(
            ActionsBlock(
                block_id=CallIds.status_actions,
                elements=[
                    ButtonElement(
                        text=BUTTON_LABELS[s],
                        action_id=f"{CallIds.set_status}:{s}",
                        value=ref,
                        style="primary"
                        if s == Status.connected
                        else ("danger" if s in _DANGER else None),
                    )
                    for s in statuses
                ],
            )
        )
    more: list[ButtonElement] = []
    if call.status == Status.transferred and not card.has_next_leg:
        transfer = TransferRef(
            external_call_id=call.external_call_id,
            direction=Direction(call.direction),
            party=call.party_handle,
            name=call.party_name,
            leg=card.leg + 1,
        )
        more.append(
            ButtonElement(
                text="Log transfer",
                action_id=CallIds.transfer,
                value=transfer.model_dump_json(exclude_defaults=True),
                style="primary",
            )
        )
    more += [
        ButtonElement(text="Summary", action_id=CallIds.summary, value=ref),
        ButtonElement(text="Transcript", action_id=CallIds.transcript, value=ref),
        ButtonElement(text="Recording", action_id=CallIds.recording, value=ref),
    ]
    blocks.append(ActionsBlock(block_id=CallIds.more_actions, elements=more))
    if is_final(call.status) and call.status != Status.transferred:
        blocks.append(ContextBlock(elements=[_md("This call has ended.")]))
    return [b.to_dict() for b in blocks]
