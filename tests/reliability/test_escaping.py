"""Finding 2: Slack formatting typed by a person was posted raw, so a caller named
`<!channel>` pinged the whole channel. Everything typed is escaped once, where views are
built: in a card's blocks and in its notification `text` alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import migrated_database
from tests.helpers.app import RunningApp
from tests.helpers.delivery import deliver, settle
from tests.helpers.fake_slack import FakeSlack
from tests.reliability.flows import (
    ESCAPED,
    HOSTILE,
    HOSTILE_TOKENS,
    card_calls,
    open_logmsg,
    strings,
    submit_call,
    wait_until,
)
from tests.reliability.flows import message_payload as msg


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    # What is shown does not depend on the database: SQLite alone.
    return migrated_database(request, "sqlite")


def assert_escaped_once(what: str, post: dict[str, Any]) -> None:
    """No typed token survives anywhere in the post; nothing is escaped twice."""
    shown = [post.get("text") or "", *strings(post.get("blocks") or [])]
    for text in shown:
        for token in HOSTILE_TOKENS:
            assert token not in text, f"{what}: {token!r} posted raw in {text!r}"
        assert "&amp;lt;" not in text and "&amp;gt;" not in text, f"{what}: escaped twice"


def test_a_callers_name_is_escaped_in_the_cards_blocks_and_text(
    live: RunningApp, fake_slack: FakeSlack
) -> None:
    resp = live.interact(submit_call(name=HOSTILE))
    assert resp.status_code == 200 and resp.text == ""
    settle(live.runtime)
    (card,) = card_calls(fake_slack)
    assert_escaped_once("call card", card)
    assert ESCAPED in card["text"], card["text"]
    assert ESCAPED in card["blocks"][0]["text"]["text"]
    # The card as updated once Front has the call: still escaped.
    deliver(live.runtime)
    (update,) = card_calls(fake_slack, "chat.update")
    assert_escaped_once("updated call card", update)
    assert ESCAPED in update["text"] and "In Front" in json.dumps(update["blocks"])


def test_a_message_cards_quote_contact_name_subject_and_text_are_escaped(
    live: RunningApp, fake_slack: FakeSlack
) -> None:
    form = open_logmsg(live, fake_slack)
    body = f"first line\n{HOSTILE}"
    resp = live.interact(msg(form, name=HOSTILE, subject=HOSTILE, body=body))
    assert resp.status_code == 200 and resp.text == ""
    settle(live.runtime)  # the message.log post stores it and queues its card
    (card,) = wait_until(lambda: fake_slack.succeeded("chat.postMessage"), what="the card")
    assert_escaped_once("message card", card)
    section = card["blocks"][0]["text"]["text"]
    lines = section.split("\n")
    # Each piece on its own, so that dropping any one escape is caught by name.
    assert lines[0].startswith(":incoming_envelope: *Received from* " + ESCAPED), "contact name"
    assert f"*Subject:* {ESCAPED}" in lines, "subject"
    assert lines[-2:] == ["> first line", f"> {ESCAPED}"], "quoted text"
    assert card["text"] == f"Message received from {ESCAPED}, logged to Front", "text"
