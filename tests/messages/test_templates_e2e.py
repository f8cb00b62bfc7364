"""Message templates from Slack: /logmsg offers the channel's enabled templates; picking one
fills the message from the form (editable, nothing typed lost), through signed requests."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from bot.features.admin import service as admin
from bot.features.messages.ids import MessageIds
from bot.features.messages.templates import fill
from storage.engine import session_scope
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle_all
from tests.helpers.fake_slack import FakeSlack
from tests.messages.conftest import Sim, deliver
from tests.messages.payloads import CHANNEL, TEAM, form_values, initial_values, view_submission
from tests.messages.test_messages_e2e import rows, shortcut_form

ids = MessageIds
BODY = "Hi {{first_name}}, we tried {{number}} about {{ order }} — {{name}}"


@pytest.fixture
def with_templates(linked: RunningApp) -> dict[str, int]:
    made: dict[str, int] = {}
    with session_scope(linked.runtime.engine) as s:
        for name, body in (("Callback", BODY), ("Old", "Old text"), ("Thanks", "Thanks!")):
            template = admin.save_template(
                s, team_id=TEAM, slack_channel_id=CHANNEL, user_id="U0", name=name, body=body
            )
            assert template.id is not None
            made[name] = template.id
        admin.set_template_disabled(
            s,
            team_id=TEAM,
            slack_channel_id=CHANNEL,
            user_id="U0",
            template_id=made["Old"],
            disabled=True,
        )
    return made


def picked(view: dict[str, Any], template_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The block action Slack sends when a template is picked in the open form."""
    action = {
        "type": "static_select",
        "action_id": ids.template_input,
        "block_id": ids.template_block,
        "selected_option": {"value": str(template_id)},
        "action_ts": f"{uuid.uuid4().int % 10**9}.000001",
    }
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": "U1", "team_id": TEAM, "name": "u1"},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "trig-pick",
        "container": {"type": "view", "view_id": "VFORM"},
        "view": {**view, "id": "VFORM", "hash": "h-before", "state": {"values": values}},
        "actions": [action],
        "is_enterprise_install": False,
    }


def test_a_template_fills_the_logmsg_form_and_is_logged_as_edited(
    linked: RunningApp, fake_slack: FakeSlack, sim: Sim, with_templates: dict[str, int]
) -> None:
    app = linked
    assert app.command("/logmsg", "+33 6 12 34 56 78").status_code == 200
    opened = fake_slack.wait_for("views.open")[0]
    (update,) = fake_slack.wait_for("views.update")  # the same form, with its templates
    assert update["hash"].startswith("h") and update["view_id"].startswith("V")
    form = update["view"]
    blocks = {b["block_id"]: b for b in form["blocks"] if "block_id" in b}
    select = blocks[ids.template_block]
    assert select["dispatch_action"] is True
    assert [o["text"]["text"] for o in select["element"]["options"]] == ["Callback", "Thanks"]
    assert initial_values(form)[ids.handle_block] == "+33 6 12 34 56 78"
    assert opened["view"]["blocks"] != form["blocks"]

    typed = form_values(handle="+33 6 12 34 56 78", name="Ada Lovelace", subject="Your order")
    typed[ids.email_block][ids.email_input]["value"] = "ada@example.com"
    resp = app.interact(picked(form, with_templates["Callback"], typed))
    assert resp.status_code == 200
    applied = fake_slack.wait_for("views.update", 2)[-1]
    assert (applied["view_id"], applied["hash"]) == ("VFORM", "h-before")
    shown = initial_values(applied["view"])
    body_id = f"{ids.body_block}.1"  # a new block id: Slack shows the new text
    assert shown[body_id] == "Hi Ada, we tried +33 6 12 34 56 78 about {{ order }} — Ada Lovelace"
    # What the person typed is still there.
    assert shown[ids.handle_block] == "+33 6 12 34 56 78"
    assert shown[ids.name_block] == "Ada Lovelace"
    assert shown[ids.email_block] == "ada@example.com"
    assert shown[ids.subject_block] == "Your order"
    assert shown[ids.direction_block] == "inbound"
    assert json.loads(applied["view"]["private_metadata"]) == json.loads(form["private_metadata"])

    # An empty message is said under the body, whatever its block id is now.
    values = form_values(handle="+33 6 12 34 56 78", name="Ada Lovelace", direction="outbound")
    values[body_id] = values.pop(ids.body_block)
    refused = app.interact(view_submission(applied["view"], values))
    assert list(refused.json()["errors"]) == [body_id]

    values[body_id][ids.body_input]["value"] = "Hi Ada, we tried to call you about order 42."
    assert app.interact(view_submission(applied["view"], values)).status_code == 200
    settle_all(app.runtime)
    (row,) = [r for r in rows(app) if r.operation == "sync_outbound_message"]
    assert row.payload["body"] == "<div>Hi Ada, we tried to call you about order 42.</div>"
    assert deliver(app).delivered == 5  # the templates' syncs, then the message
    (got,) = sim.state.requests("sync_outbound_message")
    assert got["body"]["body"] == row.payload["body"]


def test_a_disabled_or_foreign_template_is_not_applied(
    linked: RunningApp, fake_slack: FakeSlack, with_templates: dict[str, int]
) -> None:
    assert linked.command("/logmsg").status_code == 200
    form = fake_slack.wait_for("views.update")[0]["view"]
    linked.interact(picked(form, with_templates["Old"], form_values()))
    (told,) = fake_slack.wait_for("chat.postMessage")  # from a modal: a direct message
    assert told["channel"] == "U1" and "no longer offered" in told["text"]
    assert len(fake_slack.called("views.update")) == 1


def test_fill_leaves_what_it_does_not_know() -> None:
    assert fill("{{first_name}} {{last_name}}", name=" Ada  King ", handle="") == "Ada King"
    assert fill("Hi {{name}}", name="", handle="+14155550100") == "Hi {{name}}"
    assert fill("Call {{phone}}", name="", handle="+14155550100") == "Call +1 415-555-0100"


def test_the_shortcuts_form_offers_them_too(
    linked: RunningApp, fake_slack: FakeSlack, with_templates: dict[str, int]
) -> None:
    message = {"user": "UEXT", "user_team": "T9", "ts": "1800000000.000100", "text": "Hello"}
    form = shortcut_form(linked, fake_slack, message)
    options = [
        o["text"]["text"]
        for b in form["blocks"]
        if b.get("block_id") == ids.template_block
        for o in b["element"]["options"]
    ]
    assert options == ["Callback", "Thanks"]
