"""Block Kit for the calls feature's modals: logging a call (or its next leg, or editing
it), a status at a given time, and the summary, transcript and recording forms. Pure
functions of plain values; the ids and the round-tripped models are in `ids`, the card in
`card_view`.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
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

from bot.features.calls.ids import (
    CallFormMeta,
    CallIds,
    CallModalMeta,
    CallTimeMeta,
    RecordingOffer,
    TimeRef,
)
from bot.features.calls.lifecycle import (
    STATUS_LABELS,
    Prefill,
    RecordingType,
    Status,
    next_statuses,
)
from bot.features.calls.timeline import IN_PROGRESS, OUTCOME_LABELS
from storage.models import Call, Direction

DIRECTION_LABELS = {Direction.inbound: "Received", Direction.outbound: "Placed"}
RECORDING_TYPE_LABELS = {RecordingType.call: "Call recording", RecordingType.voicemail: "Voicemail"}
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
    of this JSON a few microseconds. One screen for a live call and a finished one alike
    (no view changes as it is filled in): what a field means for each outcome is in its hint.
    """
    direction_options = [_option(d.value, DIRECTION_LABELS[d]) for d in Direction]
    status_options = [
        _option(Status.ringing, "Ringing"),
        _option(Status.queued, "Queued (waiting for a teammate)"),
    ]
    outcome_options = [_option(value, label) for value, label in OUTCOME_LABELS.items()]
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
            label="It started",
            hint="An abandoned call is one the caller left while queued.",
            element=RadioButtonsElement(
                action_id=CallIds.status_input,
                options=status_options,
                initial_option=status_options[0],
            ),
        ),
        InputBlock(
            block_id=CallIds.started_block,
            label="Started at",
            hint="When the call began, in your time zone.",
            element=DateTimePickerElement(action_id=CallIds.started_input),
        ),
        InputBlock(
            block_id=CallIds.outcome_block,
            label="Outcome",
            element=RadioButtonsElement(
                action_id=CallIds.outcome_input,
                options=outcome_options,
                initial_option=outcome_options[0],
            ),
        ),
        InputBlock(
            block_id=CallIds.duration_block,
            label="Duration",
            optional=True,
            hint="How long it was connected: 4:30, 4m30s, 270, 1h2m or 1:02:03. "
            "Needed for an answered call; a transferred call is handed over after it.",
            element=PlainTextInputElement(
                action_id=CallIds.duration_input, placeholder="4:30", max_length=20
            ),
        ),
        InputBlock(
            block_id=CallIds.agent_block,
            label="Teammate on the call",
            hint="Their Slack email tells Front who took the call.",
            element=UserSelectElement(action_id=CallIds.agent_input),
        ),
        InputBlock(
            block_id=CallIds.log_summary_block,
            label="Summary",
            optional=True,
            hint="What was said, for an answered call. Sent to Front after the call's statuses.",
            element=PlainTextInputElement(
                action_id=CallIds.log_summary_input, multiline=True, max_length=3000
            ),
        ),
        InputBlock(
            block_id=CallIds.voicemail_block,
            label="Voicemail",
            optional=True,
            hint="For Voicemail left: the audio file (mp3, wav, m4a… up to 10 MB).",
            element=FileInputElement(
                action_id=CallIds.voicemail_input, filetypes=AUDIO_FILETYPES, max_files=1
            ),
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


def _choose(element: dict[str, Any], value: str) -> None:
    """Select the radio option with `value` (kept as it is when there is none)."""
    for option in element["options"]:
        if option["value"] == value:
            element["initial_option"] = option


def log_call_modal(meta: CallModalMeta, prefill: Prefill, *, now: datetime) -> dict[str, Any]:
    """The log-call modal, filled in from `/logcall <text>` and the workspace's history, a
    transfer's first leg, or (Edit) what the call's form said."""
    view: dict[str, Any] = json.loads(_log_call_skeleton())
    elements = {b["block_id"]: b["element"] for b in view["blocks"]}
    _choose(elements[CallIds.direction_block], prefill.direction or Direction.inbound)
    if prefill.party:
        elements[CallIds.party_block]["initial_value"] = prefill.party[:200]
    else:
        elements[CallIds.party_block]["focus_on_load"] = True
    if prefill.name:
        elements[CallIds.name_block]["initial_value"] = prefill.name[:255]
    if prefill.initial_status:
        _choose(elements[CallIds.status_block], prefill.initial_status)
    started = prefill.started_at or now
    elements[CallIds.started_block]["initial_date_time"] = int(started.timestamp())
    _choose(elements[CallIds.outcome_block], prefill.outcome or IN_PROGRESS)
    if prefill.duration:
        elements[CallIds.duration_block]["initial_value"] = prefill.duration[:20]
    elements[CallIds.agent_block]["initial_user"] = prefill.agent_user_id or meta.user_id
    if prefill.summary:
        elements[CallIds.log_summary_block]["initial_value"] = prefill.summary[:3000]
    if meta.edit is not None:
        view["title"]["text"] = "Edit call"
        view["submit"]["text"] = "Save"
        hint = "A voicemail already sent with this call stays; a file here adds one."
        voicemail = next(b for b in view["blocks"] if b["block_id"] == CallIds.voicemail_block)
        voicemail["hint"]["text"] = hint
    elif meta.parent_external_call_id is not None:
        view["title"]["text"] = f"Log leg {meta.leg}"
    view["private_metadata"] = meta.model_dump_json(exclude_defaults=True)
    return view


# "Status at a time…" -----------------------------------------------------------------


def time_modal(
    meta: CallTimeMeta, ref: TimeRef, call_title: str, *, now: datetime
) -> dict[str, Any]:
    """What happened next on a live call, and when (prefilled with now): for a teammate
    recording a call's statuses after the fact."""
    options = [_option(s.value, STATUS_LABELS[s]) for s in next_statuses(ref.status)]
    since = f"<!date^{ref.since}^{{date_short_pretty}} {{time_secs}}|{ref.since}>"
    return View(
        type="modal",
        callback_id=CallIds.time_view,
        title="Status at a time",
        submit="Save",
        close="Cancel",
        private_metadata=meta.model_dump_json(),
        blocks=[
            SectionBlock(text=_md(f"*{call_title}*\n{STATUS_LABELS[ref.status]} since {since}.")),
            InputBlock(
                block_id=CallIds.time_status_block,
                label="It became",
                element=RadioButtonsElement(action_id=CallIds.time_status_input, options=options),
            ),
            InputBlock(
                block_id=CallIds.time_block,
                label="At",
                hint="In your time zone: not before its last status, nor in the future.",
                element=DateTimePickerElement(
                    action_id=CallIds.time_input, initial_date_time=int(now.timestamp())
                ),
            ),
        ],
    ).to_dict()


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
