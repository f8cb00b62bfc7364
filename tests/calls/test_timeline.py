"""When things happened: durations as people type them, the statuses each outcome stands
for, the checks on a status's time, and milliseconds computed exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import InvalidFields
from bot.features.calls.lifecycle import Status, epoch_ms, from_epoch_ms
from bot.features.calls.timeline import (
    Outcome,
    check_status_time,
    format_duration,
    initial_status,
    outcome_label,
    parse_duration,
    statuses_for,
)

START = datetime(2025, 11, 24, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("4:30", 270),
        ("4m30s", 270),
        ("270", 270),
        ("1h2m", 3720),
        ("1:02:03", 3723),
        (" 4m 30s ", 270),
        ("90:00", 5400),
        ("45s", 45),
        ("2H", 7200),
        ("0", 0),
    ],
)
def test_durations_as_people_type_them(typed: str, seconds: int) -> None:
    assert parse_duration(typed) == timedelta(seconds=seconds)


@pytest.mark.parametrize("typed", ["4 minutes", "4:75", "1:60:00", "1:2:3:4", "m", "4.5", "-3"])
def test_what_is_not_a_duration_says_how_to_write_one(typed: str) -> None:
    with pytest.raises(ValueError, match="4:30, 4m30s, 270"):
        parse_duration(typed)


def test_an_empty_duration_is_none_and_a_day_is_the_most() -> None:
    assert parse_duration("  ") is None
    assert parse_duration("24:00:00") == timedelta(hours=24)
    with pytest.raises(ValueError, match="longer than a day"):
        parse_duration("24:00:01")


def test_durations_read_back() -> None:
    assert [format_duration(timedelta(seconds=s)) for s in (0, 59, 270, 3723)] == [
        "0:00",
        "0:59",
        "4:30",
        "1:02:03",
    ]


def test_each_outcome_is_its_statuses_at_their_times() -> None:
    d = timedelta(minutes=25)
    end = START + d
    assert statuses_for(Outcome.answered, START, d) == [
        (Status.connected, START),
        (Status.hangup, end),
    ]
    assert statuses_for(Outcome.missed, START, None) == [(Status.missed, START)]
    assert statuses_for(Outcome.voicemail, START, None) == [(Status.missed, START)]
    assert statuses_for(Outcome.abandoned, START, None) == [(Status.abandoned, START)]
    assert statuses_for(Outcome.transferred, START, d) == [
        (Status.connected, START),
        (Status.transferred, end),
    ]
    assert statuses_for(Outcome.transferred, START, None)[-1] == (Status.transferred, START)
    assert statuses_for(None, START, None) == []
    assert initial_status(Outcome.abandoned, Status.ringing) == Status.queued
    assert initial_status(Outcome.answered, Status.queued) == Status.queued


def test_a_status_time_is_checked_against_the_call() -> None:
    now = START + timedelta(hours=1)
    ok = {"started_at": START, "previous": Status.connected, "now": now}
    check_status_time(START + timedelta(minutes=5), previous_at=START, **ok)
    check_status_time(now + timedelta(seconds=30), previous_at=START, **ok)
    with pytest.raises(InvalidFields, match="before the call started") as refused:
        check_status_time(START - timedelta(seconds=1), previous_at=None, **ok)
    assert list(refused.value.errors) == ["time"]
    with pytest.raises(InvalidFields, match="before it became connected"):
        check_status_time(START, previous_at=START + timedelta(minutes=1), **ok)
    with pytest.raises(InvalidFields, match="in the future"):
        check_status_time(now + timedelta(minutes=2), previous_at=None, **ok)


def test_outcomes_read_from_statuses() -> None:
    assert outcome_label("hangup", connected=True, voicemail=False, final=True) == "Answered"
    assert outcome_label("hangup", connected=False, voicemail=False, final=True) == "Hung up"
    assert outcome_label("missed", connected=False, voicemail=True, final=True) == "Voicemail left"
    assert outcome_label("connected", connected=True, voicemail=False, final=False) is None


def test_milliseconds_are_exact() -> None:
    for ms in (1764000100250, 1764000300999, 1764000000001, 0):
        assert epoch_ms(from_epoch_ms(ms)) == ms
    with pytest.raises(ValueError):
        epoch_ms(datetime(2025, 1, 1))
