"""Reading the calls feature's modals: what was typed, checked, as typed values.

Errors are `InvalidFields` keyed by field; `FIELD_BLOCKS` says under which block each
shows. Everything here is cheap enough to run inside Slack's ack window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.errors import InvalidFields, UserError
from bot.core.phones import normalise_handle
from bot.features.calls import transcripts
from bot.features.calls.ids import CallIds
from bot.features.calls.lifecycle import RecordingType, Status, audio_type, from_epoch_ms
from bot.features.calls.service import CallDraft
from bot.slack.forms import ViewState
from storage.models import Direction

# A call logged more than this ahead of now is a typo in the date.
FUTURE_SLACK = timedelta(minutes=10)

FIELD_BLOCKS: dict[str, str] = {
    "direction": CallIds.direction_block,
    "status": CallIds.status_block,
    "party": CallIds.party_block,
    "started": CallIds.started_block,
    "agent": CallIds.agent_block,
    "summary": CallIds.summary_block,
    "transcript": CallIds.transcript_text_block,
    "transcript_file": CallIds.transcript_file_block,
    "recording": CallIds.recording_file_block,
}


def read_call_form(state: ViewState, *, region: str, now: datetime) -> CallDraft:
    """The log-call modal's answers as a draft (no email yet); `InvalidFields` otherwise."""
    ids = CallIds
    errors: dict[str, str] = {}
    handle = ""
    try:
        handle = normalise_handle(state.text(ids.party_block, ids.party_input), region)
    except UserError as exc:
        errors["party"] = str(exc)
    started_at = now
    started = state.date_time(ids.started_block, ids.started_input)
    if started is not None:
        started_at = from_epoch_ms(started * 1000)
        if started_at > now + FUTURE_SLACK:
            errors["started"] = "That is in the future: when did the call start?"
    agent = state.user(ids.agent_block, ids.agent_input)
    if not agent:
        errors["agent"] = "Choose the teammate who was on the call."
    direction = state.option(ids.direction_block, ids.direction_input) or Direction.inbound
    status = state.option(ids.status_block, ids.status_input) or Status.ringing
    if direction not in set(Direction):
        errors["direction"] = "Choose whether the call was received or placed."
    if status not in (Status.ringing, Status.queued):
        errors["status"] = "A call starts ringing or queued."
    if errors:
        raise InvalidFields(errors)
    return CallDraft(
        direction=Direction(direction),
        party_handle=handle,
        party_name=state.text(ids.name_block, ids.name_input).strip() or None,
        initial_status=Status(status),
        started_at=started_at,
        agent_user_id=agent,
    )


def read_summary(state: ViewState) -> str:
    content = state.text(CallIds.summary_block, CallIds.summary_input).strip()
    if not content:
        raise InvalidFields({"summary": "Write a summary."})
    return content


@dataclass(frozen=True)
class TranscriptForm:
    """Pasted text (already parsed) or one uploaded file (parsed once fetched)."""

    utterances: list[transcripts.Utterance]
    text: str
    file: dict[str, Any] | None = None

    @property
    def field(self) -> str:
        return "transcript_file" if self.file is not None else "transcript"


def read_transcript(state: ViewState) -> TranscriptForm:
    text = state.text(CallIds.transcript_text_block, CallIds.transcript_text_input)
    files = state.files(CallIds.transcript_file_block, CallIds.transcript_file_input)
    if not text.strip() and not files:
        raise InvalidFields({"transcript": "Paste a transcript or upload a file."})
    if text.strip() and files:
        raise InvalidFields({"transcript_file": "Paste a transcript or upload a file, not both."})
    if files:
        return TranscriptForm(utterances=[], text="", file=files[0])
    # Pasted text parses in microseconds: check it inside the ack.
    utterances = transcripts.parse_transcript(text)
    if not utterances:
        raise InvalidFields({"transcript": transcripts.NOTHING_PARSED})
    return TranscriptForm(utterances=utterances, text=text)


@dataclass(frozen=True)
class RecordingForm:
    file: dict[str, Any]
    recording_type: RecordingType


def read_recording(state: ViewState) -> RecordingForm:
    files = state.files(CallIds.recording_file_block, CallIds.recording_file_input)
    kind = state.option(CallIds.recording_type_block, CallIds.recording_type_input)
    if not files:
        raise InvalidFields({"recording": "Upload the call's audio file."})
    if len(files) > 1:
        raise InvalidFields({"recording": "A call has one recording: upload one file."})
    first = files[0]
    name, mimetype = str(first.get("name") or "the file"), first.get("mimetype")
    # The type Slack reports is checked in the ack; the bytes (up to 10 MB) come after it.
    if mimetype and audio_type(name, str(mimetype)) is None:
        raise InvalidFields({"recording": f"{name} is not an audio file ({mimetype})."})
    recording_type = kind if kind in set(RecordingType) else RecordingType.call
    return RecordingForm(file=first, recording_type=RecordingType(recording_type))
