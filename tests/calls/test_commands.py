"""`/switchboard help|connect|disconnect` through signed requests to the running app."""

from __future__ import annotations

from sqlmodel import select

from bot.features.admin.commands import SUBCOMMANDS, split_subcommand
from storage.engine import session_scope
from storage.models import ChannelLink
from tests.calls.conftest import wait_responses
from tests.helpers.app import RunningApp
from tests.helpers.fake_slack import FakeSlack


def _links(app: RunningApp) -> list[tuple[str, str]]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return [(x.slack_channel_id, x.front_channel_id) for x in s.exec(select(ChannelLink))]


def test_split_subcommand() -> None:
    assert split_subcommand("") == ("help", "")
    assert split_subcommand("  Connect   cha_1 ") == ("connect", "cha_1")
    assert {"help", "connect", "disconnect"} <= set(SUBCOMMANDS)


def test_help_lists_every_command_with_an_example(app: RunningApp, fake_slack: FakeSlack) -> None:
    resp = app.command("/switchboard", "help", response_url=f"{fake_slack.base_url}/respond/1")
    assert resp.status_code == 200
    (answer,) = wait_responses(fake_slack)
    text = answer["blocks"][0]["text"]["text"]
    for example in (
        "/logcall +33",
        "/logmsg +33",
        "/switchboard connect cha_",
        "/switchboard disconnect",
        "/switchboard help",
    ):
        assert example in text
    assert answer["response_type"] == "ephemeral"


def test_unknown_subcommand_shows_help(app: RunningApp, fake_slack: FakeSlack) -> None:
    app.command("/switchboard", "frobnicate", response_url=f"{fake_slack.base_url}/respond/1")
    (answer,) = wait_responses(fake_slack)
    assert "frobnicate" in answer["text"]
    assert "/logcall" in str(answer["blocks"])


def test_admin_connects_and_disconnects(app: RunningApp, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", name="Ada Admin", is_admin=True)
    url = f"{fake_slack.base_url}/respond/1"
    app.command("/switchboard", "connect cha_abc123", response_url=url, channel_id="C9")
    (answer,) = wait_responses(fake_slack)
    assert "cha_abc123" in answer["text"] and answer["response_type"] == "ephemeral"
    assert _links(app) == [("C9", "cha_abc123")]

    # Re-linking moves the channel to another Front channel.
    relink = "connect alt:address:+14155550100"
    app.command("/switchboard", relink, response_url=url, channel_id="C9")
    wait_responses(fake_slack, 2)
    assert _links(app) == [("C9", "alt:address:+14155550100")]

    app.command("/switchboard", "disconnect", response_url=url, channel_id="C9")
    answers = wait_responses(fake_slack, 3)
    assert "Disconnected" in answers[2]["text"]
    assert _links(app) == []


def test_owner_may_connect_too(app: RunningApp, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", name="Olga Owner", is_owner=True)
    app.command("/switchboard", "connect cha_1", response_url=f"{fake_slack.base_url}/respond/1")
    wait_responses(fake_slack)
    assert _links(app) == [("C1", "cha_1")]


def test_non_admin_connect_is_told_why(app: RunningApp, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U2", name="Max Member")
    # The command was acked (200) even though the listener raised after its ack.
    assert app.command("/switchboard", "connect cha_1", user_id="U2").status_code == 200
    (told,) = fake_slack.wait_for("chat.postEphemeral")
    assert told["user"] == "U2" and told["channel"] == "C1"
    assert "Only workspace admins and owners can connect a channel" in told["text"]
    assert _links(app) == []


def test_connect_with_a_bad_id_says_what_an_id_looks_like(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U1", name="Ada Admin", is_admin=True)
    app.command("/switchboard", "connect front-support")
    (told,) = fake_slack.wait_for("chat.postEphemeral")
    assert "is not a Front channel id" in told["text"] and "cha_" in told["text"]
    app.command("/switchboard", "connect", response_url=f"{fake_slack.base_url}/respond/1")
    (answer,) = wait_responses(fake_slack)
    assert "/switchboard connect cha_123" in answer["text"]
    assert _links(app) == []


def test_disconnect_of_an_unlinked_channel_says_how_to_link(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U1", name="Ada Admin", is_admin=True)
    app.command("/switchboard", "disconnect")
    (told,) = fake_slack.wait_for("chat.postEphemeral")
    assert "not connected to Front yet" in told["text"]
