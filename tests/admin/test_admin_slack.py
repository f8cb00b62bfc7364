"""Admin surfaces through signed HTTP requests to the running app and the fake Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.core import links
from bot.features.admin import service as admin
from bot.features.admin.views import TemplateIds, TemplateMeta
from storage.engine import session_scope
from storage.models import MessageTemplate, OutboxRow
from tests.conftest import make_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import command_body, event_body


@pytest.fixture
def app(database_url: str, fake_slack: FakeSlack) -> Iterator[RunningApp]:
    settings = make_settings(database_url=database_url, slack_api_url=fake_slack.api_url)
    # Every template form and button checks the person is an admin (users.info).
    fake_slack.add_user("UADMIN", name="Ada Admin", is_admin=True)
    with running_app(settings) as running:
        with session_scope(running.runtime.engine) as s:
            links.connect(
                s, team_id="T1", slack_channel_id="C1", front_channel_id="cha_9", user_id="UADMIN"
            )
        yield running


def _home_event(event_id: str) -> str:
    return event_body(
        {
            "type": "app_home_opened",
            "user": "U1",
            "channel": "D1",
            "tab": "home",
            "event_ts": "1.1",
        },
        event_id=event_id,
    )


def test_app_home_shows_links_and_deliveries(app: RunningApp, fake_slack: FakeSlack) -> None:
    with session_scope(app.runtime.engine) as s:
        admin.set_channel_status(
            s, team_id="T1", slack_channel_id="C1", status="ok", user_id="UADMIN"
        )
    assert app.post(_home_event("Ev-home-1"), content_type="application/json").status_code == 200
    (call,) = fake_slack.wait_for("views.publish")
    assert call["user_id"] == "U1"
    text = json.dumps(call["view"], ensure_ascii=False)
    assert "<#C1> → `cha_9` (status: ok)" in text
    assert "1 on the way to Front" in text
    assert "Front credentials are not set" in text


def test_a_retried_event_is_handled_once(app: RunningApp, fake_slack: FakeSlack) -> None:
    for _ in range(2):
        assert app.post(_home_event("Ev-dup"), content_type="application/json").status_code == 200
    fake_slack.wait_for("views.publish")
    app.post(_home_event("Ev-other"), content_type="application/json")
    assert len(fake_slack.wait_for("views.publish", 2)) == 2
    time.sleep(0.5)  # listeners run after the ack: give a second run time to show itself
    assert len(fake_slack.called("views.publish")) == 2


def _form_submission(
    name: str, body: str, template_id: int | None = None, user_id: str = "UADMIN"
) -> dict[str, Any]:
    meta = TemplateMeta(team_id="T1", channel_id="C1", template_id=template_id)
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": user_id, "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "trig",
        "view": {
            "id": "VFORM",
            "type": "modal",
            "root_view_id": "VROOT",
            "callback_id": TemplateIds.form_view,
            "private_metadata": meta.model_dump_json(),
            "state": {
                "values": {
                    TemplateIds.name_block: {
                        TemplateIds.name_input: {"type": "plain_text_input", "value": name}
                    },
                    TemplateIds.body_block: {
                        TemplateIds.body_input: {"type": "plain_text_input", "value": body}
                    },
                }
            },
        },
    }


def test_template_form_saves_queues_and_refreshes_the_list(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    resp = app.interact(_form_submission("Reminder", "Hi {{name}}, see you at {{time}}"))
    assert resp.status_code == 200 and resp.text == ""
    (update,) = fake_slack.wait_for("views.update")
    assert update["view_id"] == "VROOT"
    assert "Reminder" in json.dumps(update["view"])
    with session_scope(app.runtime.engine, readonly=True) as s:
        (row,) = s.exec(select(OutboxRow)).all()
    assert row.operation == "sync_application_message_template"
    assert [m["name"] for m in row.payload["variable_mappings"]] == ["name", "time"]


def test_template_name_clash_is_answered_next_to_the_field(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    app.interact(_form_submission("Reminder", "one"))
    resp = app.interact(_form_submission("Reminder", "two"))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {
            TemplateIds.name_block: "A template named “Reminder” already exists for this channel."
        },
    }


def test_template_form_from_a_member_is_refused_next_to_the_field(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("UMEMBER", name="Max Member")
    resp = app.interact(_form_submission("Reminder", "text", user_id="UMEMBER"))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {
            TemplateIds.name_block: "Only workspace admins and owners can manage message "
            "templates. Ask one of them to do it."
        },
    }
    with session_scope(app.runtime.engine, readonly=True) as s:
        assert s.exec(select(MessageTemplate)).all() == []
        assert s.exec(select(OutboxRow)).all() == []


def _toggle_click(template_id: int, *, disable: bool) -> dict[str, Any]:
    meta = TemplateMeta(team_id="T1", channel_id="C1")
    return {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "UADMIN", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "trig",
        "container": {"type": "view", "view_id": "VROOT"},
        "view": {
            "id": "VROOT",
            "callback_id": TemplateIds.list_view,
            "private_metadata": meta.model_dump_json(),
        },
        "actions": [
            {
                "action_id": TemplateIds.toggle,
                "block_id": "b",
                "type": "button",
                "value": f"{template_id}:{int(disable)}",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def test_disable_button_patches_the_template(app: RunningApp, fake_slack: FakeSlack) -> None:
    app.interact(_form_submission("Reminder", "text"))
    with session_scope(app.runtime.engine, readonly=True) as s:
        template = s.exec(select(MessageTemplate)).one()
    resp = app.interact(_toggle_click(template.id or 0, disable=True))
    assert resp.status_code == 200
    updates = fake_slack.wait_for("views.update", 2)
    assert "_(disabled)_" in json.dumps(updates[-1]["view"])
    with session_scope(app.runtime.engine, readonly=True) as s:
        ops = [r.operation for r in s.exec(select(OutboxRow).order_by(OutboxRow.id))]  # type: ignore[arg-type]
    assert ops == ["sync_application_message_template", "update_application_message_template"]


def test_a_replayed_request_acts_once(app: RunningApp, fake_slack: FakeSlack) -> None:
    def operations() -> list[str]:
        with session_scope(app.runtime.engine, readonly=True) as s:
            return [r.operation for r in s.exec(select(OutboxRow).order_by(OutboxRow.id))]  # type: ignore[arg-type]

    # A view submission sent again as it was (same view, same values).
    form = _form_submission("Reminder", "text")
    assert app.interact(form).text == ""
    again = app.interact(form)
    assert again.status_code == 200 and again.text == ""
    with session_scope(app.runtime.engine, readonly=True) as s:
        template = s.exec(select(MessageTemplate)).one()
    assert operations() == ["sync_application_message_template"]

    # A click sent again (same action_ts).
    click = _toggle_click(template.id or 0, disable=True)
    assert app.interact(click).status_code == 200
    assert app.interact(click).status_code == 200
    assert operations() == [
        "sync_application_message_template",
        "update_application_message_template",
    ]

    # A command sent again (same trigger id): answered once, done once.
    body = command_body("/switchboard", "status offline", user_id="UADMIN", trigger_id="trig-1")
    assert "will be set to *offline*" in app.post(body).text
    replayed = app.post(body)
    assert replayed.status_code == 200 and replayed.text == ""
    assert operations()[-1] == "update_channel"
    assert operations().count("update_channel") == 1


def test_status_subcommand_is_for_admins_and_queues_update_channel(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("UADMIN", name="Ada Admin", is_admin=True)
    fake_slack.add_user("UMEMBER", name="Max Member")
    url = f"{fake_slack.base_url}/respond/1"
    # The answer is the ack's own body (an ephemeral reply), not a post after it.
    refused = app.command("/switchboard", "status offline", user_id="UMEMBER", response_url=url)
    assert refused.status_code == 200
    assert "Only workspace admins and owners can set the Front channel's status" in refused.text
    with session_scope(app.runtime.engine, readonly=True) as s:
        assert s.exec(select(OutboxRow)).all() == []
    answer = app.command("/switchboard", "status offline", user_id="UADMIN", response_url=url)
    assert answer.status_code == 200
    assert "`cha_9` will be set to *offline*" in answer.text
    with session_scope(app.runtime.engine, readonly=True) as s:
        (row,) = s.exec(select(OutboxRow)).all()
    assert (row.operation, row.payload) == ("update_channel", {"status": "offline"})
    assert fake_slack.responses == [] and fake_slack.called("chat.postEphemeral") == []


def test_templates_subcommand_opens_at_once_then_shows_the_list(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("UADMIN", name="Ada Admin", is_owner=True)
    app.command("/switchboard", "templates", user_id="UADMIN", trigger_id="trig-t")
    (opened,) = fake_slack.wait_for("views.open")
    # The trigger is spent before any users.info or database work.
    assert opened["trigger_id"] == "trig-t"
    assert "Loading" in json.dumps(opened["view"])
    (update,) = fake_slack.wait_for("views.update")
    assert update["view"]["callback_id"] == TemplateIds.list_view
    assert "No templates yet." in json.dumps(update["view"])
    methods = [c.method for c in fake_slack.calls]
    assert methods.index("views.open") < methods.index("users.info")


def test_templates_subcommand_tells_a_member_why_not_in_the_modal(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("UMEMBER", name="Max Member")
    app.command("/switchboard", "templates", user_id="UMEMBER")
    (update,) = fake_slack.wait_for("views.update")
    assert "Only workspace admins and owners can manage message templates" in json.dumps(
        update["view"]
    )


def test_other_message_events_are_acknowledged(app: RunningApp) -> None:
    body = event_body(
        {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "5.5"},
        event_id="Ev-msg",
    )
    assert app.post(body, content_type="application/json").status_code == 200
