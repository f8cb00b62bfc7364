from __future__ import annotations

import pytest

from bot.core.errors import UserError
from bot.features.calls.transcripts import (
    UNKNOWN_SPEAKER,
    Utterance,
    decode_text,
    front_lines,
    parse_transcript,
    seconds,
    teammate_matcher,
)


def test_seconds() -> None:
    assert seconds("01:23") == 83
    assert seconds("00:01:23") == 83
    assert seconds("1:02:03") == 3723
    assert seconds("00:00:05.500") == 5.5
    assert seconds("00:00:05,250") == 5.25
    assert seconds("00:00:07.000") == 7


def test_pasted_lines_with_every_timestamp_style() -> None:
    text = """
    Ada: Hello, Switchboard support.
    [00:05] Bob Smith: My printer is on fire
    and it smells.
    00:01:23 Ada: Have you tried turning it off?
    [1:02:03] - Bob Smith: Yes: twice.
    Bob Smith: Still burning.
    """
    assert parse_transcript(text) == [
        Utterance("Ada", "Hello, Switchboard support.", 0),
        Utterance("Bob Smith", "My printer is on fire and it smells.", 5),
        Utterance("Ada", "Have you tried turning it off?", 83),
        Utterance("Bob Smith", "Yes: twice.", 3723),
        Utterance("Bob Smith", "Still burning.", 3723),
    ]


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n", "no speakers here\njust prose", "Please note that all of this: is prose"],
)
def test_text_without_speakers_parses_to_nothing(text: str) -> None:
    assert parse_transcript(text) == []


VTT = """WEBVTT
Kind: captions

NOTE exported by a phone system

1
00:00:01.000 --> 00:00:04.000 align:start
<v Ada>Hello, <i>Switchboard</i> support.</v>

00:05.500 --> 00:00:08.000
<v.loud Bob Smith>My printer
is on fire

00:00:09.000 --> 00:00:10.000
Still burning.

00:00:11.000 --> 00:00:12.000
Ada: Oh no.
"""


def test_webvtt_voices_prefixes_and_carried_speakers() -> None:
    assert parse_transcript(VTT, filename="call.vtt") == [
        Utterance("Ada", "Hello, Switchboard support.", 1),
        Utterance("Bob Smith", "My printer is on fire", 5.5),
        Utterance("Bob Smith", "Still burning.", 9),
        Utterance("Ada", "Oh no.", 11),
    ]
    # Recognised by content too, with a BOM and CRLF line ends.
    crlf = "\ufeff" + VTT.replace("\n", "\r\n")
    assert parse_transcript(crlf, filename="transcript.txt")[0].speaker == "Ada"


def test_srt() -> None:
    srt = (
        "1\n00:00:01,000 --> 00:00:04,000\nAda: Hello.\n\n"
        "2\n00:00:04,250 --> 00:00:06,000\n- Bob: Hi!\nIt's me.\n\n"
        "3\n00:00:07,000 --> 00:00:08,000\nNo speaker here\n"
    )
    assert parse_transcript(srt) == [
        Utterance("Ada", "Hello.", 1),
        Utterance("Bob", "Hi! It's me.", 4.25),
        Utterance("Bob", "No speaker here", 7),
    ]


def test_subtitles_without_any_speaker() -> None:
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhello\n"
    assert parse_transcript(vtt) == [Utterance(UNKNOWN_SPEAKER, "hello", 1)]


def test_malformed_files_say_what_is_expected() -> None:
    with pytest.raises(UserError, match="WEBVTT"):
        parse_transcript("hello", filename="x.vtt")
    with pytest.raises(UserError, match="-->"):
        parse_transcript("hello", filename="x.srt")


def test_decode_text() -> None:
    assert decode_text("\ufeffAda: é".encode(), "a.txt") == "Ada: é"
    assert decode_text("Ada: é".encode("cp1252"), "a.txt") == "Ada: é"
    with pytest.raises(UserError, match="not a text file"):
        decode_text(b"ID3\x00\x00binary", "a.mp3")
    with pytest.raises(UserError, match="over 1 MB"):
        decode_text(b"a" * (1024 * 1024 + 1), "big.txt")


def test_teammates_are_internal_everyone_else_external() -> None:
    is_teammate = teammate_matcher(["Ada Lovelace", "ada.l", "", "Grace"])
    assert is_teammate("ada") and is_teammate("ADA  LOVELACE") and is_teammate("@ada.l")
    assert is_teammate("Grace") and not is_teammate("Bob") and not is_teammate("Lovelace")
    lines = front_lines([Utterance("Ada", "Hello", 0), Utterance("Bob", "Hi", 1.5)], is_teammate)
    assert lines == [
        {
            "speaker_name": "Ada",
            "content": "Hello",
            "start_time_seconds": 0,
            "speaker_type": "internal",
        },
        {
            "speaker_name": "Bob",
            "content": "Hi",
            "start_time_seconds": 1.5,
            "speaker_type": "external",
        },
    ]
