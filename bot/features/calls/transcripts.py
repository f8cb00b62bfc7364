"""Call transcripts: pasted lines, WebVTT and SRT files → Front's transcript lines.

Pasted text takes one line per utterance, `Speaker: what they said`, optionally led by a
timestamp: `[01:23] Ada: hello`, `00:01:23 Ada: hello` or `[1:02:03] - Ada: hello`. A line
with no `Speaker:` continues the line before it. Subtitle files are read with webvtt-py;
their speaker is the WebVTT voice (`<v Ada>`) or a `Speaker:` prefix, else the previous
cue's speaker. Whether a speaker is a teammate (`internal`) is decided by the caller, who
knows the Slack users involved.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import webvtt
from webvtt.errors import MalformedFileError

from bot.core.errors import UserError

# A transcript is text: anything bigger than this is not one.
MAX_TRANSCRIPT_BYTES = 1024 * 1024
UNKNOWN_SPEAKER = "Unknown speaker"

_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_PLAIN_LINE = re.compile(
    rf"""^\s*
    (?:\[(?P<bracketed>{_TIME})\]|(?P<bare>{_TIME}))?   # optional timestamp
    \s*[-–—]?\s*                                        # optional dash after it
    (?P<speaker>[^\s:\[\]][^:\[\]]{{0,59}}?)\s*:\s+      # Speaker:
    (?P<content>\S.*)$""",
    re.VERBOSE,
)
# `Speaker: text` inside a subtitle cue (no timestamps there).
_CUE_SPEAKER = re.compile(
    r"^\s*[-–—]?\s*(?P<speaker>[^\s:\[\]<>][^:\[\]<>]{0,59}?)\s*:\s+(?P<content>\S.*)$"
)
_SRT_TIMING = re.compile(r"^\s*\d{1,2}:\d{2}:\d{2},\d{1,3}\s*-->", re.MULTILINE)


@dataclass(frozen=True)
class Utterance:
    speaker: str
    content: str
    start_seconds: int | float


def seconds(timestamp: str) -> int | float:
    """`01:23` → 83, `1:02:03` → 3723, `00:00:05.500` → 5.5."""
    whole, _, fraction = timestamp.replace(",", ".").partition(".")
    total = 0
    for part in whole.split(":"):
        total = total * 60 + int(part)
    if fraction.strip("0"):
        return total + int(fraction.ljust(3, "0")[:3]) / 1000
    return total


def _plausible_speaker(name: str) -> bool:
    # "Note: ..." or a sentence with a colon is not a speaker: names are a few words.
    return len(name.split()) <= 4 and not name[:1].isdigit()


def parse_plain(text: str) -> list[Utterance]:
    out: list[Utterance] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _PLAIN_LINE.match(line)
        if match and _plausible_speaker(match["speaker"]):
            stamp = match["bracketed"] or match["bare"]
            start = seconds(stamp) if stamp else (out[-1].start_seconds if out else 0)
            out.append(Utterance(match["speaker"].strip(), match["content"].strip(), start))
        elif out:
            last = out[-1]
            out[-1] = Utterance(last.speaker, f"{last.content} {line}", last.start_seconds)
    return out


def _from_captions(captions: Iterable[Any]) -> list[Utterance]:
    out: list[Utterance] = []
    for caption in captions:
        content = " ".join(part.strip() for part in caption.text.splitlines() if part.strip())
        if not content:
            continue
        speaker = (caption.voice or "").strip()
        if not speaker:
            match = _CUE_SPEAKER.match(content)
            if match and _plausible_speaker(match["speaker"]):
                speaker, content = match["speaker"].strip(), match["content"].strip()
        if not speaker:
            speaker = out[-1].speaker if out else UNKNOWN_SPEAKER
        start_ms = caption.start_time.in_milliseconds()
        start = start_ms // 1000 if start_ms % 1000 == 0 else start_ms / 1000
        out.append(Utterance(speaker, content, start))
    return out


def parse_webvtt(text: str) -> list[Utterance]:
    try:
        captions = webvtt.from_string(text.lstrip("\ufeff")).captions
    except MalformedFileError:
        raise UserError(
            "This WebVTT file could not be read: it should start with `WEBVTT` and hold "
            "cues such as `00:00:01.000 --> 00:00:04.000`."
        ) from None
    return _from_captions(captions)


def parse_srt(text: str) -> list[Utterance]:
    try:
        captions = webvtt.from_buffer(io.StringIO(text.lstrip("\ufeff")), format="srt").captions
    except MalformedFileError:
        raise UserError(
            "This SRT file could not be read: each cue needs a number, a line such as "
            "`00:00:01,000 --> 00:00:04,000` and its text."
        ) from None
    return _from_captions(captions)


def parse_transcript(text: str, *, filename: str | None = None) -> list[Utterance]:
    """Utterances from pasted text or a file's text; the format is told by name or content."""
    name = (filename or "").lower()
    head = text.lstrip("\ufeff \t\r\n")
    if name.endswith(".vtt") or head.startswith("WEBVTT"):
        return parse_webvtt(text)
    if name.endswith(".srt") or _SRT_TIMING.search(text[:2000]):
        return parse_srt(text)
    return parse_plain(text)


def decode_text(data: bytes, filename: str) -> str:
    """A transcript file's text: UTF-8 (with or without BOM), else Windows-1252."""
    if len(data) > MAX_TRANSCRIPT_BYTES:
        raise UserError(f"{filename} is over 1 MB: that is not a transcript I can read.")
    if b"\x00" in data[:4096]:
        raise UserError(f"{filename} is not a text file: upload a .vtt, .srt or .txt transcript.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _key(name: str) -> str:
    return " ".join(name.casefold().replace("@", "").split())


def teammate_matcher(names: Iterable[str]) -> Callable[[str], bool]:
    """A test for "this speaker is a teammate", from the teammates' Slack names.

    A speaker matches a full name, display name or user name, or the first name of a full
    name (`Ada` for `Ada Lovelace`), ignoring case, spacing and a leading `@`.
    """
    known: set[str] = set()
    for name in names:
        key = _key(name)
        if key:
            known.add(key)
            known.add(key.split()[0])
    return lambda speaker: _key(speaker) in known


def front_lines(
    utterances: Sequence[Utterance], is_teammate: Callable[[str], bool]
) -> list[dict[str, Any]]:
    """The `lines` of Front's add-call-transcript body."""
    return [
        {
            "speaker_name": u.speaker,
            "content": u.content,
            "start_time_seconds": u.start_seconds,
            "speaker_type": "internal" if is_teammate(u.speaker) else "external",
        }
        for u in utterances
    ]


NOTHING_PARSED = (
    "I found no transcript lines in this. Write one line per utterance as `Speaker: text`, "
    "optionally led by a time: `[01:23] Ada: Hello`, or upload a WebVTT, SRT or text file."
)


__all__ = [
    "MAX_TRANSCRIPT_BYTES",
    "NOTHING_PARSED",
    "UNKNOWN_SPEAKER",
    "Utterance",
    "decode_text",
    "front_lines",
    "parse_plain",
    "parse_srt",
    "parse_transcript",
    "parse_webvtt",
    "seconds",
    "teammate_matcher",
]
