"""Ids of the calls feature's blocks and actions, and what rides through Slack in
`private_metadata` and button values (pydantic models, never hand-parsed JSON)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.features.calls.lifecycle import RecordingType, Status
from storage.models import Direction


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
    outcome_block = "call_outcome"
    outcome_input = "outcome"
    duration_block = "call_duration"
    duration_input = "duration"
    agent_block = "call_agent"
    agent_input = "agent"
    log_summary_block = "call_log_summary"
    log_summary_input = "log_summary"
    voicemail_block = "call_voicemail"
    voicemail_input = "voicemail_file"
    # The card.
    status_actions = "call_status_actions"
    more_actions = "call_more_actions"
    set_status = "call_status"  # action ids are `call_status:<status>`
    summary = "call_summary"
    transcript = "call_transcript"
    recording = "call_recording"
    transfer = "call_transfer"
    edit = "call_edit"
    set_time = "call_set_time"
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
    # "Status at a time…": what happened, and when.
    time_view = "call_time_form"
    time_status_block = "call_time_status"
    time_status_input = "time_status"
    time_block = "call_time_at"
    time_input = "time_at"
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
    # Edit: the call whose details the form corrects, and the version it opened with.
    edit: str | None = None
    version: int = 0


class CallRef(_Meta):
    """A card button's value: the call, and the version of it the card showed."""

    external_call_id: str
    version: int


class TimeRef(_Meta):
    """ "Status at a time…"'s value: the call as the card showed it (its status, and since
    when in epoch seconds), to offer what may come next without reading the database."""

    external_call_id: str
    version: int
    status: Status
    since: int


class CallTimeMeta(_Meta):
    """private_metadata of the "Status at a time…" modal."""

    channel_id: str
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
