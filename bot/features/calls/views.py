"""Block Kit for calls: the log-call modal, the call card, and the summary, transcript and
recording modals. Pure functions of plain values; ids in enums; what must survive a round
trip through Slack (channel, thread, call, version) rides in pydantic models.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DateTimePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    UserSelectElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.core.phones import display_handle
from bot.features.calls.service import (
    CallCard,
    DeliveryState,
    Direction,
    Prefill,
    RecordingType,
    Status,
    is_final,
    next_statuses,
    status_label,
)
from storage.models import Call


class CallIds(StrEnum):
    # The log-call modal (first leg or transfer leg).
    log_view = "call_log"
    direction_block = "call_direction"
    direction_input = "direction"
    party_block = "call_party"
    party_input = "party"
    name_block = "call_name"
    name_input = "name"
    status_block = "call_initial_status"
    status_input = "initial_status"
    started_block = "call_started"
    started_input = "started_at"
    agent_block = "call_agent"
    agent_input = "agent"
    # The card.
    status_actions = "call_status_actions"
    more_actions = "call_more_actions"
    set_status = "call_status"  # action ids are `call_status:<status>`
    summary = "call_summary"
    transcript = "call_transcript"
    recording = "call_recording"
    transfer = "call_transfer"
    # The modals opened from the card.
    summary_view = "call_summary_form"
    summary_block = "call_summary_text"
    summary_input = "summary"
    transcript_view = "call_transcript_form"
    transcript_text_block = "call_transcript_text"
    transcript_text_input = "transcript"
    transcript_file_block = "call_transcript_file"
    transcript_file_input = "transcript_file"
    recording_view = "call_recording_form"
    recording_file_block = "call_recording_file"
    recording_file_input = "recording_file"
    recording_type_block = "call_recording_type"
    recording_type_input = "recording_type"
    # An audio file shared in a call's thread.
    thread_recording = "call_thread_recording"  # action ids are `call_thread_recording:<n>`


STATUS_ACTION = re.compile(rf"^{CallIds.set_status}:")
THREAD_RECORDING_ACTION = re.compile(rf"^{CallIds.thread_recording}:")


class _Meta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallModalMeta(_Meta):
    """The log-call modal's private_metadata: where it was opened, and for a next leg, whose."""

    team_id: str
    channel_id: str
    user_id: str
    parent_external_call_id: str | None = None
    # A next leg's card goes in its parent's thread (a root card's thread is its own ts).
    thread_ts: str | None = None
    leg: int = 1


class CallRef(_Meta):
    """A card button's value: the call, and the version of it the card showed."""

    external_call_id: str
    version: int


class TransferRef(_Meta):
    """ "Log transfer"'s value: enough to pre-fill the next leg without reading the database."""

    external_call_id: str
    direction: Direction
    party: str
    name: str | None = None
    leg: int = 1


class CallFormMeta(_Meta):
    """private_metadata of the summary, transcript and recording modals."""

    team_id: str
    channel_id: str
    user_id: str
    external_call_id: str
    thread_ts: str | None = None


class RecordingOffer(_Meta):
    """ "Add as recording"'s value, for an audio file shared in a call's thread."""

    external_call_id: str
    file_id: str
    recording_type: RecordingType = RecordingType.call


DIRECTION_LABELS = {Direction.inbound: "Received", Direction.outbound: "Placed"}
RECORDING_TYPE_LABELS = {RecordingType.call: "Call recording", RecordingType.voicemail: "Voicemail"}
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
AUDIO_FILETYPES = ["mp3", "wav", "m4a", "ogg", "oga", "opus", "aac", "flac", "webm", "amr"]
TRANSCRIPT_FILETYPES = ["vtt", "srt", "txt", "text"]


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=PlainTextObject(text=label))


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


# The log-call modal ------------------------------------------------------------------


@functools.cache
def _log_call_skeleton() -> str:
    """The log-call modal without its per-call values, built once with slack_sdk's models.

    /logcall opens it right after the ack on the same event loop that acks the next
    requests; the models' validation costs about half a millisecond per build, a copy
    of this JSON a few microseconds.
    """
    direction_options = [_option(d.value, DIRECTION_LABELS[d]) for d in Direction]
    status_options = [
        _option(Status.ringing, "Ringing"),
        _option(Status.queued, "Queued (waiting for a teammate)"),
    ]
    blocks: list[Block] = [
        InputBlock(
            block_id=CallIds.direction_block,
            label="Call",
            element=RadioButtonsElement(
                action_id=CallIds.direction_input,
                options=direction_options,
                initial_option=direction_options[0],
            ),
        ),
        InputBlock(
            block_id=CallIds.party_block,
            label="Their number or handle",
            hint="With the country code, e.g. +33 6 12 34 56 78",
            element=PlainTextInputElement(
                action_id=CallIds.party_input, placeholder="+33 6 12 34 56 78", max_length=200
            ),
        ),
        InputBlock(
            block_id=CallIds.name_block,
            label="Their name",
            optional=True,
            element=PlainTextInputElement(action_id=CallIds.name_input, max_length=255),
        ),
        InputBlock(
            block_id=CallIds.status_block,
            label="Status",
            element=RadioButtonsElement(
                action_id=CallIds.status_input,
                options=status_options,
                initial_option=status_options[0],
            ),
        ),
        InputBlock(
            block_id=CallIds.started_block,
            label="Started",
            element=DateTimePickerElement(action_id=CallIds.started_input),
        ),
        InputBlock(
            block_id=CallIds.agent_block,
            label="Teammate on the call",
            hint="Their Slack email tells Front who took the call.",
            element=UserSelectElement(action_id=CallIds.agent_input),
        ),
    ]
    view = View(
        type="modal",
        callback_id=CallIds.log_view,
        title="Log a call",
        submit="Log call",
        close="Cancel",
        blocks=blocks,
    )
    return json.dumps(view.to_dict())


def log_call_modal(meta: CallModalMeta, prefill: Prefill, *, now: datetime) -> dict[str, Any]:
    """The log-call modal, pre-filled from `/logcall <text>` (or a transfer's first leg)."""
    view: dict[str, Any] = json.loads(_log_call_skeleton())
    elements = {b["block_id"]: b["element"] for b in view["blocks"]}
    direction = elements[CallIds.direction_block]
    chosen = list(Direction).index(prefill.direction or Direction.inbound)
    direction["initial_option"] = direction["options"][chosen]
    if prefill.party:
        elements[CallIds.party_block]["initial_value"] = prefill.party[:200]
    else:
        elements[CallIds.party_block]["focus_on_load"] = True
    if prefill.name:
        elements[CallIds.name_block]["initial_value"] = prefill.name[:255]
    elements[CallIds.started_block]["initial_date_time"] = int(now.timestamp())
    elements[CallIds.agent_block]["initial_user"] = meta.user_id
    if meta.parent_external_call_id is not None:
        view["title"]["text"] = f"Log leg {meta.leg}"
    view["private_metadata"] = meta.model_dump_json(exclude_defaults=True)
    return view


# The call card -----------------------------------------------------------------------


def _when(moment: datetime) -> str:
    seconds = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{seconds}^{{date_short_pretty}} {{time}}|{fallback}>"


def _party(call: Call) -> str:
    handle = display_handle(call.party_handle)
    return f"{call.party_name} ({handle})" if call.party_name else handle


def card_text(call: Call) -> str:
    """The notification text of a card (and what screen readers say)."""
    verb = "received from" if call.direction == Direction.inbound else "placed to"
    return f"Call {verb} {_party(call)}: {status_label(call.status)}"


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
            reason = f" ({card.failure[:150]})" if card.failure else ""
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
    agent = f"<@{call.agent_user_id}>" if call.agent_user_id else (call.agent_email or "nobody")
    status = f"*{status_label(call.status)}*"
    if card.last_changed_by:
        status += f" (by <@{card.last_changed_by}>)"
    blocks: list[Block] = [
        SectionBlock(
            text=_md(f"{icon} *Call {verb} {_party(call)}*{leg}"),
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


# Modals opened from the card ---------------------------------------------------------


def _form(
    callback_id: str, title: str, submit: str, meta: CallFormMeta, blocks: list[Block]
) -> dict[str, Any]:
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Cancel",
        private_metadata=meta.model_dump_json(exclude_none=True),
        blocks=blocks,
    ).to_dict()


def _about(call_title: str) -> SectionBlock:
    return SectionBlock(text=_md(f"*{call_title}*"))


def summary_modal(meta: CallFormMeta, party: str) -> dict[str, Any]:
    return _form(
        CallIds.summary_view,
        "Call summary",
        "Add summary",
        meta,
        [
            _about(party),
            InputBlock(
                block_id=CallIds.summary_block,
                label="Summary",
                element=PlainTextInputElement(
                    action_id=CallIds.summary_input, multiline=True, max_length=3000
                ),
            ),
        ],
    )


def transcript_modal(meta: CallFormMeta, party: str) -> dict[str, Any]:
    return _form(
        CallIds.transcript_view,
        "Call transcript",
        "Add transcript",
        meta,
        [
            _about(party),
            InputBlock(
                block_id=CallIds.transcript_text_block,
                label="Paste the transcript",
                optional=True,
                hint="One line each: `Ada: Hello`, optionally with a time: `[01:23] Ada: Hello`",
                element=PlainTextInputElement(
                    action_id=CallIds.transcript_text_input,
                    multiline=True,
                    placeholder="[00:00] Ada: Hello, this is support.\n[00:04] Bob: Hi!",
                ),
            ),
            InputBlock(
                block_id=CallIds.transcript_file_block,
                label="…or upload a file",
                optional=True,
                hint="WebVTT (.vtt), SubRip (.srt) or text",
                element=FileInputElement(
                    action_id=CallIds.transcript_file_input,
                    filetypes=TRANSCRIPT_FILETYPES,
                    max_files=1,
                ),
            ),
        ],
    )


def recording_modal(meta: CallFormMeta, party: str) -> dict[str, Any]:
    types = [_option(t.value, RECORDING_TYPE_LABELS[t]) for t in RecordingType]
    return _form(
        CallIds.recording_view,
        "Call recording",
        "Add recording",
        meta,
        [
            _about(party),
            InputBlock(
                block_id=CallIds.recording_file_block,
                label="Audio file",
                hint="One file: mp3, wav, m4a, ogg… up to 10 MB",
                element=FileInputElement(
                    action_id=CallIds.recording_file_input,
                    filetypes=AUDIO_FILETYPES,
                    max_files=1,
                ),
            ),
            InputBlock(
                block_id=CallIds.recording_type_block,
                label="It is a",
                element=RadioButtonsElement(
                    action_id=CallIds.recording_type_input, options=types, initial_option=types[0]
                ),
            ),
        ],
    )


# An audio file shared in a call's thread ---------------------------------------------


def recording_offer_blocks(filename: str, file_id: str, legs: list[Call]) -> list[dict[str, Any]]:
    """Buttons to add a shared audio file to the thread's call (one per leg, latest first)."""
    buttons: list[ButtonElement] = []
    latest = list(reversed(legs))[:4]
    for n, call in enumerate(latest):
        offer = RecordingOffer(external_call_id=call.external_call_id, file_id=file_id)
        leg_number = legs.index(call) + 1
        label = "Add as recording" if len(legs) == 1 else f"Add to leg {leg_number}"
        buttons.append(
            ButtonElement(
                text=label,
                action_id=f"{CallIds.thread_recording}:{n}",
                value=offer.model_dump_json(),
                style="primary" if n == 0 else None,
            )
        )
    if latest:
        voicemail = RecordingOffer(
            external_call_id=latest[0].external_call_id,
            file_id=file_id,
            recording_type=RecordingType.voicemail,
        )
        buttons.append(
            ButtonElement(
                text="Add as voicemail",
                action_id=f"{CallIds.thread_recording}:{len(latest)}",
                value=voicemail.model_dump_json(),
            )
        )
    blocks: list[Block] = [
        SectionBlock(text=_md(f"Send *{filename}* to Front with this call?")),
        ActionsBlock(block_id=CallIds.thread_recording, elements=buttons),
    ]
    return [b.to_dict() for b in blocks]


__all__ = [
    "STATUS_ACTION",
    "THREAD_RECORDING_ACTION",
    "CallFormMeta",
    "CallIds",
    "CallModalMeta",
    "CallRef",
    "RecordingOffer",
    "TransferRef",
    "call_card_blocks",
    "card_text",
    "delivery_line",
    "log_call_modal",
    "recording_modal",
    "recording_offer_blocks",
    "summary_modal",
    "transcript_modal",
]
