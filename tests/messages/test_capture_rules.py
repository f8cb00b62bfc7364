"""What auto-capture takes from an event, decided without Slack or a database."""

from __future__ import annotations

from typing import Any

import pytest

from bot.features.messages.capture import _emoji_name, author_is_us, is_person_message

PERSON: dict[str, Any] = {"type": "message", "user": "UEXT", "ts": "1.1", "text": "hi"}


@pytest.mark.parametrize(
    ("change", "taken"),
    [
        ({}, True),
        ({"subtype": "file_share"}, True),
        ({"subtype": "thread_broadcast", "thread_ts": "1.0"}, True),
        ({"subtype": "channel_join"}, False),
        ({"subtype": "channel_topic"}, False),
        ({"subtype": "bot_message", "bot_id": "B1"}, False),
        ({"bot_id": "B1"}, False),  # an app posting as a user
        ({"bot_profile": {"id": "B1"}}, False),
        ({"user": "UBOT"}, False),  # the app's own
        ({"user": None}, False),
        ({"hidden": True}, False),
        ({"subtype": "message_changed"}, False),
        ({"subtype": "message_deleted"}, False),
    ],
)
def test_only_peoples_messages(change: dict[str, Any], taken: bool) -> None:
    assert is_person_message({**PERSON, **change}, "UBOT") is taken


def test_slack_says_who_is_of_this_workspace() -> None:
    assert author_is_us("T1", {"user_team": "T1"})
    assert author_is_us("T1", {"team": "T1"})
    assert not author_is_us("T1", {"user_team": "T9", "team": "T1"})
    assert not author_is_us("T1", {})  # unknown: the post asks Slack


def test_skin_tones_are_the_same_emoji() -> None:
    assert _emoji_name("ticket") == "ticket"
    assert _emoji_name("thumbsup::skin-tone-3") == "thumbsup"
