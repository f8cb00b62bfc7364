"""When things happened on a call: the statuses a finished call's outcome stands for and
their times, durations as people type them, and the checks a status's time must pass.

Pure functions of plain values. Times reach Front as entered: a finished call logged
afterwards is sent with its own start and duration, never with the moment of the click.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.errors import InvalidFields
from bot.features.calls.lifecycle import Status, status_label


class Outcome(StrEnum):
    """How a call logged after the fact ended (the form's choice; none: still going)."""

    answered = "answered"
    missed = "missed"
    voicemail = "voicemail"
    abandoned = "abandoned"
    transferred = "transferred"


# The form's value for "still going": the card's buttons move it on.
IN_PROGRESS = "in_progress"

OUTCOME_LABELS: dict[str, str] = {
    IN_PROGRESS: "In progress — update it from the card",
    Outcome.answered: "Answered",
    Outcome.missed: "Missed",
    Outcome.voicemail: "Voicemail left",
    Outcome.abandoned: "Abandoned",
    Outcome.transferred: "Transferred",
}

# A duration is how long the call was connected: it says when it hung up or was transferred.
TAKES_DURATION = frozenset({Outcome.answered, Outcome.transferred})
NEEDS_DURATION = frozenset({Outcome.answered})
MAX_DURATION = timedelta(hours=24)

# Slack's date and time picker chooses minutes: a time in the current minute may lie a few
# seconds ahead of our clock. Anything further ahead has not happened yet.
FUTURE_SLACK = timedelta(minutes=1)

DURATION_HELP = "Write it as 4:30, 4m30s, 270 (seconds), 1h2m or 1:02:03."

_UNITS = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta | None:
    """`4:30`, `4m30s`, `270`, `1h2m`, `1:02:03` → a timedelta; None when empty.

    Raises ValueError, saying how to write it, for anything else (or more than a day).
    """
    value = re.sub(r"\s+", "", text.strip().lower())
    if not value:
        return None
    seconds: int | None = None
    if value.isdigit():
        seconds = int(value)
    elif ":" in value:
        parts = value.split(":")
        if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
            numbers = [int(p) for p in parts]
            # m:ss or h:mm:ss; the leading part may be as large as it likes.
            if all(n < 60 for n in numbers[1:]):
                seconds = sum(n * 60**i for i, n in enumerate(reversed(numbers)))
    else:
        match = _UNITS.match(value)
        if match and any(match.groups()):
            h, m, s = (int(g) if g else 0 for g in match.groups())
            seconds = h * 3600 + m * 60 + s
    if seconds is None:
        raise ValueError(f"I can't read “{text.strip()[:40]}” as a duration. {DURATION_HELP}")
    duration = timedelta(seconds=seconds)
    if duration > MAX_DURATION:
        raise ValueError("That is longer than a day: check the duration. " + DURATION_HELP)
    return duration


def format_duration(duration: timedelta) -> str:
    """`4:30`, `1:02:03`: how the card and the form show a duration."""
    total = max(0, int(duration.total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def initial_status(outcome: Outcome | None, chosen: Status) -> Status:
    """How the call starts in Front: as the person chose, but an abandoned call is one the
    caller left while it was queued."""
    return Status.queued if outcome == Outcome.abandoned else chosen


def statuses_for(
    outcome: Outcome | None, start: datetime, duration: timedelta | None
) -> list[tuple[Status, datetime]]:
    """The statuses, with their times, that tell Front how a finished call went."""
    end = start + (duration or timedelta(0))
    match outcome:
        case Outcome.answered:
            return [(Status.connected, start), (Status.hangup, end)]
        case Outcome.missed | Outcome.voicemail:
            return [(Status.missed, start)]
        case Outcome.abandoned:
            return [(Status.abandoned, start)]
        case Outcome.transferred:
            return [(Status.connected, start), (Status.transferred, end)]
        case _:
            return []


def utc_text(moment: datetime) -> str:
    """A time in a field error (plain text: Slack's date tokens do not render there)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def check_status_time(
    at: datetime,
    *,
    started_at: datetime,
    previous: Status | None,
    previous_at: datetime | None,
    now: datetime,
    field: str = "time",
) -> None:
    """A status's time must not come before the call's start, nor before the status it
    follows (Front's timeline only moves forward), nor after now. InvalidFields otherwise."""
    if at > now + FUTURE_SLACK:
        raise InvalidFields({field: f"{utc_text(at)} is in the future: when did it happen?"})
    if at < started_at:
        raise InvalidFields(
            {field: f"That is before the call started ({utc_text(started_at)}): pick a later time."}
        )
    if previous is not None and previous_at is not None and at < previous_at:
        raise InvalidFields(
            {
                field: f"That is before it became {status_label(previous).lower()} "
                f"({utc_text(previous_at)}): pick a later time."
            }
        )


def outcome_label(status: str, *, connected: bool, voicemail: bool, final: bool) -> str | None:
    """How an ended call went, for the card and the history; None while it goes on."""
    if not final:
        return None
    match status:
        case Status.hangup:
            return "Answered" if connected else "Hung up"
        case Status.missed:
            return "Voicemail left" if voicemail else "Missed"
        case Status.abandoned:
            return "Abandoned"
        case Status.transferred:
            return "Transferred"
    return status_label(status)


def outcome_of(status: str, *, connected: bool, voicemail: bool) -> Outcome | None:
    """The form's outcome for a call as it stands (an Edit form opens with it)."""
    match status:
        case Status.hangup if connected:
            return Outcome.answered
        case Status.missed:
            return Outcome.voicemail if voicemail else Outcome.missed
        case Status.abandoned:
            return Outcome.abandoned
        case Status.transferred:
            return Outcome.transferred
    return None
