"""`/switchboard help|connect|disconnect` through signed requests to the running app."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.features.admin.commands import SUBCOMMANDS, split_subcommand
from storage.engine import session_scope
from storage.models import ChannelLink
from tests.helpers.app import RunningApp
from tests.helpers.fake_slack import FakeSlack


def _links(app: RunningApp) -> list[tuple[str, str]]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return [(x.slack_channel_id, x.front_channel_id) for x in s.exec(select(ChannelLink))]


def test_split_subcommand() -> None:
    assert split_subcommand("") == ("help", "")
    assert split_subcommand("  Connect   cha_1 ") == ("connect", "cha_1")
    assert {"help", "connect", "disconnect"} <= set(SUBCOMMANDS)


def _answer(app: RunningApp, text: str, **kw: str) -> dict[str, Any]:
    """The ephemeral answer a /switchboard command gets in its ack (the HTTP response)."""
    resp = app.command("/switchboard", text, **kw)
    assert resp.status_code == 200
    answer: dict[str, Any] = resp.json()
    assert answer["response_type"] == "ephemeral"
    return answer


def test_help_lists_every_command_with_an_example(app: RunningApp) -> None:
    answer = _answer(app, "help")
    text = answer["blocks"][0]["text"]["text"]
    for example in (
        "/logcall +33",
        "/logmsg +33",
        "/switchboard connect cha_",
        "/switchboard disconnect",
        "/switchboard help",
    ):
        assert example in text


def test_unknown_subcommand_shows_help(app: RunningApp) -> None:
    answer = _answer(app, "frobnicate")
    assert "frobnicate" in answer["text"]
    assert "/logcall" in str(answer["blocks"])


def test_a_huge_or_hostile_subcommand_is_not_echoed(app: RunningApp) -> None:
    answer = _answer(app, "x" * 100_000)
    assert len(answer["text"]) < 200 and "…" in answer["text"]
    answer = _answer(app, "<!channel>")
    assert "<!channel>" not in json.dumps(answer) and "&lt;!channel&gt;" in answer["text"]


def test_admin_connects_and_disconnects(app: RunningApp, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", name="Ada Admin", is_admin=True)
    answer = _answer(app, "connect cha_abc123", channel_id="C9")
    assert "cha_abc123" in answer["text"]
    assert _links(app) == [("C9", "cha_abc123")]

    # Re-linking moves the channel to another Front channel.
    _answer(app, "connect alt:address:+14155550100", channel_id="C9")
    assert _links(app) == [("C9", "alt:address:+14155550100")]

    assert "Disconnected" in _answer(app, "disconnect", channel_id="C9")["text"]
    assert _links(app) == []


def test_owner_may_connect_too(app: RunningApp, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", name="Olga Owner", is_owner=True)
    _answer(app, "connect cha_1")
    assert _links(app) == [("C1", "cha_1")]


def test_non_admin_connect_is_told_why(app: RunningApp, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U2", name="Max Member")
    answer = _answer(app, "connect cha_1", user_id="U2")
    assert "Only workspace admins and owners can connect a channel" in answer["text"]
    assert _links(app) == []


def test_non_admin_disconnect_is_refused(app: RunningApp, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", name="Ada Admin", is_admin=True)
    fake_slack.add_user("U2", name="Max Member")
    _answer(app, "connect cha_1")
    answer = _answer(app, "disconnect", user_id="U2")
    assert "Only workspace admins and owners can disconnect" in answer["text"]
    assert _links(app) == [("C1", "cha_1")]


def test_connect_with_a_bad_id_says_what_an_id_looks_like(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U1", name="Ada Admin", is_admin=True)
    answer = _answer(app, "connect front-support")
    assert "is not a Front channel id" in answer["text"] and "cha_" in answer["text"]
    # Without an id: the picker of channels Front authorized (tests/admin/test_connect_e2e.py).
    assert app.command("/switchboard", "connect").status_code == 200
    assert fake_slack.wait_for("views.open")
    assert _links(app) == []


def test_disconnect_of_an_unlinked_channel_says_how_to_link(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U1", name="Ada Admin", is_admin=True)
    assert "not connected to Front yet" in _answer(app, "disconnect")["text"]
