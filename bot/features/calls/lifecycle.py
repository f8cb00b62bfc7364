"""A call's lifecycle as Front's voice channel defines it: statuses, the transitions
allowed between them, their labels, and the small facts around them (ids, times, audio)."""

from __future__ import annotations

import mimetypes
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.core.errors import UserError
from storage.models import Direction


class Status(StrEnum):
    queued = "queued"
    ringing = "ringing"
    connected = "connected"
    hold = "hold"
    hangup = "hangup"
    missed = "missed"
    abandoned = "abandoned"
    transferred = "transferred"


class RecordingType(StrEnum):
    call = "call"
    voicemail = "voicemail"


INITIAL_STATUSES: tuple[Status, ...] = (Status.ringing, Status.queued)


# Front's call lifecycle (its voice channel docs); each tuple is in the order the card
# shows the buttons. A transfer ends the leg: what follows is a new leg (a new call).
LIFECYCLE: dict[Status | None, tuple[Status, ...]] = {
    None: INITIAL_STATUSES,
    Status.queued: (Status.connected, Status.hangup, Status.missed, Status.abandoned),
    Status.ringing: (
        Status.connected,
        Status.queued,
        Status.missed,
        Status.abandoned,
        Status.transferred,
    ),
    Status.connected: (Status.hold, Status.transferred, Status.hangup),
    Status.hold: (Status.connected, Status.transferred, Status.hangup),
    Status.hangup: (),
    Status.missed: (),
    Status.abandoned: (),
    Status.transferred: (),
}


def next_statuses(status: str | None) -> tuple[Status, ...]:
    """The statuses a call in `status` may move to next (none once it has ended)."""
    return LIFECYCLE[Status(status) if status is not None else None]


def is_final(status: str) -> bool:
    return not next_statuses(status)


def new_external_call_id() -> str:
    """Made once per leg, before anything is sent: Front's idempotency key for the call."""
    return f"sb-call-{uuid.uuid4().hex}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (integer arithmetic: no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return (moment - _EPOCH) // _MS


def from_epoch_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


STATUS_LABELS: dict[str, str] = {
    Status.queued: "Queued",
    Status.ringing: "Ringing",
    Status.connected: "Connected",
    Status.hold: "On hold",
    Status.hangup: "Hung up",
    Status.missed: "Missed",
    Status.abandoned: "Abandoned",
    Status.transferred: "Transferred",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@dataclass(frozen=True)
class Prefill:
    """What the log-call form opens with: `/logcall <text>` typed ahead the party, their
    name and the direction; a transfer's next leg, the history, or an Edit, the rest."""

    party: str = ""
    name: str = ""
    direction: Direction | None = None
    initial_status: Status | None = None
    started_at: datetime | None = None
    agent_user_id: str | None = None
    outcome: str | None = None
    duration: str = ""
    summary: str = ""


_DIRECTION_WORDS: dict[str, Direction] = {
    **dict.fromkeys(("in", "inbound", "incoming", "received"), Direction.inbound),
    **dict.fromkeys(("out", "outbound", "outgoing", "placed"), Direction.outbound),
}


_PHONE_TOKEN = re.compile(r"^[\d+()./\-]+$")


def parse_logcall_text(text: str) -> Prefill:
    """`+33 6 12 34 56 78 Ada Lovelace out` → the number, the name and outbound.

    The number is the run of phone-like words at the start (people type spaces in
    numbers); failing that, the first word is a handle. What follows is the name; a
    direction word anywhere sets the direction.
    """
    words, direction = [], None
    for word in text.split():
        if word.lower() in _DIRECTION_WORDS:
            direction = _DIRECTION_WORDS[word.lower()]
        else:
            words.append(word)
    count = 0
    while count < len(words) and _PHONE_TOKEN.match(words[count]):
        count += 1
    if count == 0 and words:
        count = 1
    return Prefill(" ".join(words[:count]), " ".join(words[count:]), direction)


def is_audio(content_type: str | None) -> bool:
    return bool(content_type) and str(content_type).lower().startswith("audio/")


def audio_type(filename: str, content_type: str | None) -> str | None:
    """The audio/* type of a file, from its declared type or else its name; None if not audio.

    Slack sometimes labels audio by container (`video/mp4` for an .m4a, or
    `application/octet-stream`); Front wants `audio/*`.
    """
    if is_audio(content_type):
        return content_type
    guessed, _ = mimetypes.guess_type(filename)
    if is_audio(guessed):
        return guessed
    return None


def check_recording(filename: str, content_type: str | None) -> None:
    if not is_audio(content_type):
        raise UserError(
            f"{filename} is not an audio file ({content_type or 'unknown type'}): "
            "a recording must be audio, such as .mp3, .wav or .m4a."
        )
