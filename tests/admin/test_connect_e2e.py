"""Connecting from Front, end to end: the simulator's signed callbacks (authorization,
delete) to the running app, `/switchboard connect`'s picker through signed Slack requests,
and what a removed channel does to what was queued for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from bot.core import links
from bot.features.admin import service as admin
from bot.features.admin.channel_views import ConnectIds
from storage.engine import session_scope
from storage.models import (
    AlertState,
    ChannelLink,
    DeliveryAlert,
    FrontChannel,
    OutboxRow,
)
from tests.conftest import make_settings
from tests.front.simulator import APP_SECRET, APP_UID, simulator
from tests.helpers.app import RunningApp, running_app
from tests.helpers.delivery import deliver, settle_all
from tests.helpers.fake_slack import FakeSlack
from tests.messages.payloads import view_submission

TEAM = "T1"
ADMIN = "UADMIN"


class World:
    def __init__(self, app: RunningApp, sim_url: str, state: Any) -> None:
        self.app, self.sim_url, self.state = app, sim_url, state

    def sim(self, route: str, channel_id: str) -> dict[str, Any]:
        answer = httpx.post(f"{self.sim_url}{route}", json={"channel_id": channel_id}, timeout=10)
        assert answer.status_code == 200, answer.text
        got: dict[str, Any] = answer.json()
        return got


@pytest.fixture
def world(database_url: str, fake_slack: FakeSlack) -> Iterator[World]:
    fake_slack.add_user("UADMIN", name="Ann Admin", email="ann@acme.example", is_admin=True)
    fake_slack.add_user("U1", name="Bob Agent", email="bob@acme.example")
    with simulator() as (url, state):
        settings = make_settings(
            database_url=database_url,
            slack_api_url=fake_slack.api_url,
            front_app_uid=APP_UID,
            front_app_secret=APP_SECRET,
            front_api_url=url,
            outbox_max_attempts=1,
            public_url="https://sb.example.com",
        )
        with running_app(settings) as app:
            state.configure(webhook_url=f"{app.base_url}/front/webhook")
            yield World(app, url, state)


def open_picker(world: World, fake: FakeSlack, user: str = "UADMIN") -> dict[str, Any]:
    updates = len(fake.called("views.update"))
    resp = world.app.command("/switchboard", "connect", user_id=user, channel_id="C1")
    assert resp.status_code == 200 and not resp.content  # acked at once; the modal says it
    view: dict[str, Any] = fake.wait_for("views.update", updates + 1)[-1]["view"]
    return view


def options(view: dict[str, Any]) -> list[str]:
    for block in view["blocks"]:
        if block.get("block_id") == ConnectIds.pick_block:
            return [o["value"] for o in block["element"]["options"]]
    return []


def picked(value: str | None, typed: str | None = None) -> dict[str, Any]:
    option = {"value": value} if value else None
    return {
        ConnectIds.pick_block: {
            ConnectIds.pick_input: {"type": "static_select", "selected_option": option}
        },
        ConnectIds.manual_block: {
            ConnectIds.manual_input: {"type": "plain_text_input", "value": typed}
        },
    }


def test_connect_by_picking_a_channel_front_authorized(world: World, fake_slack: FakeSlack) -> None:
    # Front connects channels to the app: each authorization is answered and recorded.
    for channel in ("cha_old", "cha_taken", "cha_new"):
        answer = world.sim("/_sim/authorize", channel)
        assert answer["body"] == {
            "type": "success",
            "webhook_url": "https://sb.example.com/front/webhook",
        }
    with session_scope(world.app.runtime.engine) as s:
        assert {c.front_channel_id for c in s.exec(select(FrontChannel))} == {
            "cha_old",
            "cha_taken",
            "cha_new",
        }
        links.connect(
            s, team_id=TEAM, slack_channel_id="C2", front_channel_id="cha_taken", user_id="U9"
        )

    # Not an admin: the modal says so and offers nothing.
    view = open_picker(world, fake_slack, user="U1")
    assert "Only workspace admins" in json.dumps(view)

    view = open_picker(world, fake_slack)
    assert view["callback_id"] == ConnectIds.view
    assert options(view) == ["cha_new", "cha_old"]  # newest first, none in use
    assert json.loads(view["private_metadata"]) == {"channel_id": "C1"}

    # Whoever submits must be an admin (a form opened by one, sent by another: refused).
    forged = world.app.interact(view_submission(view, picked("cha_new"), user_id="U1"))
    assert "Only workspace admins" in forged.json()["errors"][ConnectIds.manual_block]
    # Both a pick and a different typed id: which one? Said next to the field.
    both = world.app.interact(view_submission(view, picked("cha_new", "cha_other"), user_id=ADMIN))
    assert both.json()["errors"] == {
        ConnectIds.manual_block: "Pick a channel or type one, not both."
    }
    nothing = world.app.interact(view_submission(view, picked(None), user_id=ADMIN))
    assert ConnectIds.pick_block in nothing.json()["errors"]

    done = world.app.interact(view_submission(view, picked("cha_new"), user_id=ADMIN))
    assert done.status_code == 200 and not done.content  # the modal closes
    with session_scope(world.app.runtime.engine, readonly=True) as s:
        link = s.exec(select(ChannelLink).where(ChannelLink.slack_channel_id == "C1")).one()
    assert (link.front_channel_id, link.created_by) == ("cha_new", "UADMIN")
    settle_all(world.app.runtime)
    (told,) = fake_slack.called("chat.postEphemeral")
    assert told["user"] == "UADMIN" and "Front channel `cha_new`" in told["text"]
    # The next picker offers what is left.
    assert options(open_picker(world, fake_slack)) == ["cha_old"]

    # With an id it works as before.
    typed = world.app.command("/switchboard", "connect cha_old", user_id="UADMIN", channel_id="C3")
    assert "Front channel `cha_old`" in typed.json()["text"]
    empty = open_picker(world, fake_slack)
    assert options(empty) == [] and "type the channel's id below" in json.dumps(empty)


def rows(world: World) -> list[OutboxRow]:
    with session_scope(world.app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(OutboxRow).order_by(col(OutboxRow.id))))


def test_delete_unlinks_and_discards_quietly(world: World, fake_slack: FakeSlack) -> None:
    app = world.app
    world.sim("/_sim/authorize", "cha_gone")
    with session_scope(app.runtime.engine) as s:
        for channel in ("C1", "C2"):
            links.connect(
                s,
                team_id=TEAM,
                slack_channel_id=channel,
                front_channel_id="cha_gone",
                user_id="UADMIN",
            )
        links.connect(
            s, team_id=TEAM, slack_channel_id="C3", front_channel_id="cha_stays", user_id="U1"
        )
        admin.set_channel_status(
            s, team_id=TEAM, slack_channel_id="C1", status="ok", user_id="UADMIN"
        )
    # Front is down: the row fails (one attempt allowed here) and an alert goes out.
    world.state.configure(error_rate=1.0)
    deliver(app.runtime)
    (failed,) = rows(world)
    assert failed.status == "failed" and failed.alert_id is not None
    posted = len(fake_slack.called("chat.postMessage"))
    assert posted >= 1  # the alert
    with session_scope(app.runtime.engine) as s:
        admin.set_channel_status(
            s, team_id=TEAM, slack_channel_id="C2", status="offline", user_id="UADMIN"
        )
        admin.set_channel_status(s, team_id=TEAM, slack_channel_id="C3", status="ok", user_id="U1")

    answer = world.sim("/_sim/delete", "cha_gone")
    assert answer["body"] == {"type": "success"}

    with session_scope(app.runtime.engine, readonly=True) as s:
        left = s.exec(select(ChannelLink)).all()
        alert = s.get(DeliveryAlert, failed.alert_id)
    assert [link.slack_channel_id for link in left] == ["C3"]
    assert alert is not None and alert.state == AlertState.resolved
    gone = [r for r in rows(world) if r.front_channel_id == "cha_gone"]
    assert [(r.status, r.last_error) for r in gone] == [
        ("discarded", "channel removed in Front"),
        ("discarded", "channel removed in Front"),
    ]
    world.state.configure(error_rate=0.0)
    stats = deliver(app.runtime)
    assert stats.delivered == 1 and stats.failed == 0  # only cha_stays' row
    assert [r["channel_id"] for r in world.state.requests()] == ["cha_stays"]

    settle_all(app.runtime)
    dms = [c for c in fake_slack.called("chat.postMessage")[posted:] if c["channel"] == "UADMIN"]
    (dm,) = dms  # one word to the admin who linked both channels
    assert "Front removed the channel `cha_gone`" in dm["text"]
    assert "<#C1>" in dm["text"] and "<#C2>" in dm["text"]
    # The removed channel is not offered, and cannot be connected by hand…
    assert "cha_gone" not in options(open_picker(world, fake_slack))
    refused = app.command("/switchboard", "connect cha_gone", user_id="UADMIN")
    assert "Front removed the channel `cha_gone`" in refused.json()["text"]
    # …until Front authorizes it again.
    world.sim("/_sim/authorize", "cha_gone")
    assert options(open_picker(world, fake_slack)) == ["cha_gone"]


def test_a_bad_channel_id_in_a_callback_is_a_bad_request(world: World) -> None:
    answer = world.sim("/_sim/authorize", "not a channel")
    assert answer["status"] == 400
