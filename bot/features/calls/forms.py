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
from bot.features.calls.timeline import (
    FUTURE_SLACK,
    IN_PROGRESS,
    NEEDS_DURATION,
    OUTCOME_LABELS,
    TAKES_DURATION,
    Outcome,
    initial_status,
    parse_duration,
    utc_text,
)
from bot.slack.forms import ViewState
from storage.models import Direction

FIELD_BLOCKS: dict[str, str] = {
    "direction": CallIds.direction_block,
    "status": CallIds.status_block,
    "party": CallIds.party_block,
    "started": CallIds.started_block,
    "outcome": CallIds.outcome_block,
    "duration": CallIds.duration_block,
    "agent": CallIds.agent_block,
    "log_summary": CallIds.log_summary_block,
    "voicemail": CallIds.voicemail_block,
    "summary": CallIds.summary_block,
    "transcript": CallIds.transcript_text_block,
    "transcript_file": CallIds.transcript_file_block,
    "recording": CallIds.recording_file_block,
}

TIME_BLOCKS: dict[str, str] = {"status": CallIds.time_status_block, "time": CallIds.time_block}


@dataclass(frozen=True)
class CallForm:
    """The log-call form read: the leg as described, and a voicemail file to fetch after
    the ack (a Slack file object; its bytes are the stored post's to get)."""

    draft: CallDraft
    voicemail: dict[str, Any] | None = None


def _audio_file(files: list[dict[str, Any]], field: str, what: str) -> dict[str, Any]:
    if len(files) > 1:
        raise InvalidFields({field: f"{what} is one file: upload one."})
    first = files[0]
    name, mimetype = str(first.get("name") or "the file"), first.get("mimetype")
    # The type Slack reports is checked in the ack; the bytes (up to 10 MB) come after it.
    if mimetype and audio_type(name, str(mimetype)) is None:
        raise InvalidFields({field: f"{name} is not an audio file ({mimetype})."})
    return first


def _outcome(state: ViewState, errors: dict[str, str]) -> Outcome | None:
    value = state.option(CallIds.outcome_block, CallIds.outcome_input) or IN_PROGRESS
    if value == IN_PROGRESS:
        return None
    if value not in set(Outcome):
        errors["outcome"] = "Choose how the call ended, or In progress."
        return None
    return Outcome(value)


def _duration(text: str, outcome: Outcome | None, errors: dict[str, str]) -> timedelta | None:
    """The connected time the outcome needs, checked: an answered call has one, and only a
    call that was connected (answered, transferred) can have one."""
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        errors["duration"] = str(exc)
        return None
    if duration is None:
        if outcome in NEEDS_DURATION:
            errors["duration"] = "How long did the call last? e.g. 4:30 (it says when it ended)."
        return None
    if outcome is None:
        errors["duration"] = (
            "A call still in progress has no duration yet: choose how it ended, or leave "
            "this empty and hang it up from the card."
        )
    elif outcome not in TAKES_DURATION:
        errors["duration"] = (
            f"A call that was {OUTCOME_LABELS[outcome].lower()} was never connected: "
            "leave the duration empty."
        )
    elif outcome in NEEDS_DURATION and not duration:
        errors["duration"] = "An answered call lasts at least a second."
    return duration


def read_call_form(state: ViewState, *, region: str, now: datetime) -> CallForm:
    """The log-call modal's answers (no email yet); `InvalidFields` otherwise."""
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
    outcome = _outcome(state, errors)
    duration = _duration(state.text(ids.duration_block, ids.duration_input), outcome, errors)
    if duration and "started" not in errors and started_at + duration > now + FUTURE_SLACK:
        errors["duration"] = (
            "Started then, it would end in the future: check when it started and how long "
            "it lasted."
        )
    voicemail = None
    files = state.files(ids.voicemail_block, ids.voicemail_input)
    if files and outcome != Outcome.voicemail:
        errors["voicemail"] = (
            "This file goes to Front as a voicemail: choose Voicemail left, or add a call "
            "recording from the card."
        )
    elif files:
        try:
            voicemail = _audio_file(files, "voicemail", "A voicemail")
        except InvalidFields as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidFields(errors)
    draft = CallDraft(
        direction=Direction(direction),
        party_handle=handle,
        party_name=state.text(ids.name_block, ids.name_input).strip() or None,
        initial_status=initial_status(outcome, Status(status)),
        started_at=started_at,
        agent_user_id=agent,
        outcome=outcome,
        duration=duration,
        summary=state.text(ids.log_summary_block, ids.log_summary_input).strip() or None,
    )
    return CallForm(draft=draft, voicemail=voicemail)


@dataclass(frozen=True)
class TimeForm:
    status: Status
    at: datetime


def read_time_form(state: ViewState, *, now: datetime) -> TimeForm:
    """ "Status at a time…": what happened and when. Its order against the call's other
    times is the service's to check (it holds the call); the future is checked here."""
    errors: dict[str, str] = {}
    status = state.option(CallIds.time_status_block, CallIds.time_status_input)
    if status not in set(Status):
        errors["status"] = "Choose what happened."
    seconds = state.date_time(CallIds.time_block, CallIds.time_input)
    at = from_epoch_ms(seconds * 1000) if seconds is not None else None
    if at is None:
        errors["time"] = "Pick when it happened."
    elif at > now + FUTURE_SLACK:
        errors["time"] = f"{utc_text(at)} is in the future: when did it happen?"
    if errors:
        raise InvalidFields(errors)
    assert status is not None and at is not None
    return TimeForm(status=Status(status), at=at)


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
    first = _audio_file(files, "recording", "A call's recording")
    recording_type = kind if kind in set(RecordingType) else RecordingType.call
    return RecordingForm(file=first, recording_type=RecordingType(recording_type))
