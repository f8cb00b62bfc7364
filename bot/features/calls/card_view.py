"""Block Kit for the call card (what happened and when, its delivery state, the buttons
that move the call on or correct it), its four-hour reminder, and the lines of a person's
last calls. Pure functions of plain values; times in each viewer's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
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
from bot.features.calls.ids import CallIds, CallRef, TimeRef, TransferRef
from bot.features.calls.lifecycle import Status, is_final, next_statuses, status_label
from bot.features.calls.state import CallCard
from bot.features.calls.timeline import format_duration, outcome_label
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


def _when(moment: datetime, *, seconds: bool = False) -> str:
    """A time as each viewer reads it (Slack's date token), UTC where tokens don't render."""
    stamp = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")
    clock = "{time_secs}" if seconds else "{time}"
    return f"<!date^{stamp}^{{date_short_pretty}} {clock}|{fallback}>"


def duration_of(call: Call) -> timedelta | None:
    """How long the call was connected, once it has ended (none if it never connected)."""
    if call.connected_at is None or call.ended_at is None:
        return None
    return call.ended_at - call.connected_at


def outcome_text(call: Call) -> str | None:
    """Answered, Missed, Voicemail left…: how an ended call went; None while it goes on."""
    return outcome_label(
        call.status,
        connected=call.connected_at is not None,
        voicemail=call.voicemail,
        final=is_final(call.status),
    )


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


def _front_note(card: CallCard) -> str | None:
    """What can still change, and why the rest cannot."""
    ended = is_final(card.call.status)
    if card.editable:
        return ":pencil2: Not in Front yet: *Edit* corrects what the form said until Front has it."
    if card.in_front:
        status = "" if ended else "its status, "
        return (
            ":lock: Front has this call: its number, name, direction, start and teammate stay "
            "as Front received them (Front's Channel API creates a call once and cannot change "
            f"it). You can still add {status}a summary, a transcript or a recording."
        )
    return None


def _fields(card: CallCard) -> list[MarkdownTextObject]:
    call = card.call
    agent = (
        f"<@{call.agent_user_id}>" if call.agent_user_id else escape(call.agent_email or "nobody")
    )
    by = f" (by <@{card.last_changed_by}>)" if card.last_changed_by else ""
    outcome = outcome_text(call)
    if outcome is not None:
        fields = [_md(f"*Outcome*\n*{outcome}*{by}")]
    else:
        since = f"\nsince {_when(call.status_at)}" if call.status_at else ""
        fields = [_md(f"*Status*\n*{status_label(call.status)}*{by}{since}")]
    fields += [_md(f"*Teammate*\n{agent}"), _md(f"*Started*\n{_when(call.started_at)}")]
    if call.ended_at is not None:
        fields.append(_md(f"*Ended*\n{_when(call.ended_at)}"))
    duration = duration_of(call)
    if duration is not None:
        fields.append(_md(f"*Duration*\n{format_duration(duration)}"))
    fields.append(_md(f"*Logged by*\n<@{call.created_by}>"))
    return fields


def _status_buttons(call: Call, ref: str) -> list[ButtonElement]:
    buttons = [
        ButtonElement(
            text=BUTTON_LABELS[s],
            action_id=f"{CallIds.set_status}:{s}",
            value=ref,
            style="primary" if s == Status.connected else ("danger" if s in _DANGER else None),
        )
        for s in next_statuses(call.status)
    ]
    # Each button means "now"; this one says when, for a teammate catching up afterwards.
    when = TimeRef(
        external_call_id=call.external_call_id,
        version=call.version,
        status=Status(call.status),
        since=int((call.status_at or call.started_at).timestamp()),
    )
    buttons.append(
        ButtonElement(
            text="Status at a time…", action_id=CallIds.set_time, value=when.model_dump_json()
        )
    )
    return buttons


def call_card_blocks(card: CallCard, *, alert_url: str | None = None) -> list[dict[str, Any]]:
    call = card.call
    icon = ":telephone_receiver:" if call.direction == Direction.inbound else ":phone:"
    verb = "received from" if call.direction == Direction.inbound else "placed to"
    leg = f" · leg {card.leg}" if card.leg > 1 else ""
    blocks: list[Block] = [
        SectionBlock(
            text=_md(f"{icon} *Call {verb} {escape(party_text(call))}*{leg}"),
            fields=_fields(card),
        ),
        ContextBlock(elements=[_md(delivery_line(card, alert_url))]),
    ]
    ref = CallRef(external_call_id=call.external_call_id, version=call.version).model_dump_json()
    if not is_final(call.status):
        blocks.append(
            ActionsBlock(block_id=CallIds.status_actions, elements=_status_buttons(call, ref))
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
    if card.editable:
        more.append(ButtonElement(text="Edit", action_id=CallIds.edit, value=ref))
    more += [
        ButtonElement(text="Summary", action_id=CallIds.summary, value=ref),
        ButtonElement(text="Transcript", action_id=CallIds.transcript, value=ref),
        ButtonElement(text="Recording", action_id=CallIds.recording, value=ref),
    ]
    blocks.append(ActionsBlock(block_id=CallIds.more_actions, elements=more))
    notes = []
    if is_final(call.status) and call.status != Status.transferred:
        notes.append("This call has ended.")
    note = _front_note(card)
    if note:
        notes.append(note)
    if notes:
        blocks.append(ContextBlock(elements=[_md(" ".join(notes))]))
    return [b.to_dict() for b in blocks]


def reminder_text(call: Call) -> str:
    """The thread's word about a call still open four hours in (its people are mentioned)."""
    people = " ".join(f"<@{u}>" for u in dict.fromkeys((call.agent_user_id, call.created_by)) if u)
    return (
        f"{people} this call with {escape(party_text(call))}, started "
        f"{_when(call.started_at)}, is still *{status_label(call.status).lower()}*. If it has "
        "ended, *Status at a time…* on the card records when, so that Front shows how long "
        "it lasted."
    )


DELIVERY_WORDS: dict[str, str] = {
    DeliveryState.queued: "queued for Front",
    DeliveryState.delivered: "in Front",
    DeliveryState.failed: "delivery failed",
    DeliveryState.discarded: "discarded",
}


def history_line(call: Call, link: str | None) -> str:
    """One of a person's last calls: when, with whom, how it went, and where Front is."""
    icon = ":telephone_receiver:" if call.direction == Direction.inbound else ":phone:"
    how = outcome_text(call) or f"{status_label(call.status)} (in progress)"
    duration = duration_of(call)
    parts = [f"*{how}*"] + ([format_duration(duration)] if duration is not None else [])
    parts.append(DELIVERY_WORDS.get(call.delivery_state, call.delivery_state))
    card = f" · <{link}|card>" if link else ""
    when = _when(call.started_at)
    return f"• {when} {icon} {escape(party_text(call))}: {' · '.join(parts)}{card}"


MAX_TEXT = 3000  # Slack's limit for a section's text


def history_text(lines: list[str], heading: str) -> str:
    """The lines under `heading`, whole lines only, within a section's 3,000 characters."""
    text = heading
    for n, line in enumerate(lines):
        more = f"\n…and {len(lines) - n} more"
        if len(text) + 1 + len(line) + len(more) > MAX_TEXT:
            return text + more
        text += "\n" + line
    return text


def history_blocks(lines: list[str]) -> list[dict[str, Any]]:
    """`/logcall list`: the lines under a heading, or how to log a first call."""
    if not lines:
        text = "You have no calls logged yet. `/logcall +33 6 12 34 56 78` logs one."
    else:
        text = history_text(lines, f"*Your last {len(lines)} calls*")
    return [SectionBlock(text=_md(text)).to_dict()]
