"""Finding 8: who may act was read from what the payload carried back (`private_metadata`,
button values): template buttons worked for anyone, and a summary whose metadata named
another workspace's call was added to it. Every command, button, modal and shortcut the
features register is tried here by someone it must refuse: a member for what is an
admin's (`ADMIN`), another workspace for what belongs to a team (everything). Each must
say no and store nothing. A listener registered without a case here fails
`test_every_listener_has_a_case`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import SQLModel, select

from bot.features.admin.channel_views import ConnectIds, ConnectMeta
from bot.features.admin.commands import SUBCOMMANDS
from bot.features.admin.views import TemplateMeta
from bot.features.alerts.views import AlertButton
from bot.features.calls.ids import (
    CallFormMeta,
    CallIds,
    CallModalMeta,
    CallRef,
    CallTimeMeta,
    RecordingOffer,
    TimeRef,
)
from bot.features.calls.ids import TransferRef as Transfer
from bot.features.messages.ids import FormMeta, MarkFailedMeta, MessageIds
from bot.frontsim import SimConfig, running_simulator
from storage.engine import session_scope
from storage.models import (
    Call,
    ChannelLink,
    DeliveryAlert,
    Direction,
    LoggedMessage,
    MessageTemplate,
    OutboxRow,
    ThreadLink,
    Workspace,
)
from tests.calls.payloads import call_values, time_values
from tests.delivery.conftest import APP_SECRET, APP_UID
from tests.delivery.conftest import CHANNEL as T1_FRONT_CHANNEL
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import running_fake_slack
from tests.messages.payloads import block_actions, form_values, message_action, view_submission
from tests.reliability.authz import (
    World,
    expect_errors,
    populate,
    registered_listeners,
    shown,
    told,
)
from tests.reliability.conftest import live_app
from tests.reliability.flows import wait_until

MEMBER = {"user_id": "U2", "team": "T1"}  # of the workspace whose rows these are
OTHER = {"user_id": "V1", "team": "T2"}  # an admin of another workspace
NOT_ADMIN = "Only workspace admins and owners"
NO_CALL = "can't find this call"
NOT_LINKED = "not connected to Front"
SIM = SimConfig(app_uid=APP_UID, app_secret=APP_SECRET)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """T1's rows of every kind: a call with its card, a /logmsg message sent to a customer
    (whose delivery failed, so an alert exists), a template. Shared by the module's tests:
    each is a refusal that must leave it as it was (which each checks)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('authz') / 'switchboard.db'}"
    with running_fake_slack() as fake, running_simulator(SIM) as (front_url, _state):
        with live_app(url, fake, front_url) as app:
            yield populate(app, fake)


TABLES: tuple[type[SQLModel], ...] = (
    Workspace,
    ChannelLink,
    ThreadLink,
    Call,
    LoggedMessage,
    OutboxRow,
    MessageTemplate,
    DeliveryAlert,
)

Case = Callable[[World], None]
CASES: dict[str, Case] = {}
# What only workspace admins and owners may do (a member is tried too).
ADMIN = {"action:template_add", "action:template_edit", "action:template_toggle"}
ADMIN |= {"action:templates_resync", "view:template_form", "command:/switchboard"}


def case(key: str) -> Callable[[Case], Case]:
    def add(fn: Case) -> Case:
        CASES[key] = fn
        return fn

    return add


def modal(callback_id: str, meta: str) -> dict[str, Any]:
    return {"type": "modal", "callback_id": callback_id, "private_metadata": meta, "blocks": []}


def text_value(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


# Calls -------------------------------------------------------------------------------


def _ref(w: World) -> str:
    return CallRef(
        external_call_id=w.call.external_call_id, version=w.call.version
    ).model_dump_json()


def _card_click(w: World, action_id: str, value: str, who: dict[str, str]) -> dict[str, Any]:
    return block_actions(action_id, value=value, message_ts=w.call.card_ts, **who)


@case("command:/logcall")
def _logcall(w: World) -> None:
    w.app.command("/logcall", user_id="V1", team_id="T2", channel_id="C1")
    shown(w, NOT_LINKED)


@case("view:call_log")
def _call_log(w: World) -> None:
    forged = CallModalMeta(team_id="T1", channel_id="C1", user_id="U1")
    view = modal(CallIds.log_view, forged.model_dump_json())
    expect_errors(
        w.app.interact(view_submission(view, call_values(agent="V1"), **OTHER)), NOT_LINKED
    )
    leg = forged.model_copy(update={"parent_external_call_id": w.call.external_call_id})
    view = modal(CallIds.log_view, leg.model_dump_json())
    expect_errors(w.app.interact(view_submission(view, call_values(agent="V1"), **OTHER)), NO_CALL)


@case(f"action:^{CallIds.set_status}:")
def _status(w: World) -> None:
    w.app.interact(_card_click(w, f"{CallIds.set_status}:connected", _ref(w), OTHER))
    told(w, "V1", NO_CALL)


def _opens_then_refused(w: World, click: dict[str, Any], values: dict[str, Any]) -> None:
    """A card button that only opens a form: the form it opens is refused when submitted."""
    w.app.interact(click)
    opened = wait_until(lambda: w.calls("views.open"), what="the form")[-1]["view"]
    expect_errors(w.app.interact(view_submission(opened, values, **OTHER)), NO_CALL)


@case(f"action:{CallIds.transfer}")
def _transfer(w: World) -> None:
    ref = Transfer(
        external_call_id=w.call.external_call_id, direction=Direction.inbound, party="+3361"
    )
    click = _card_click(w, CallIds.transfer, ref.model_dump_json(), OTHER)
    _opens_then_refused(w, click, call_values(agent="V1"))


SUMMARY = {CallIds.summary_block: {CallIds.summary_input: text_value("Not yours")}}
TRANSCRIPT = {
    CallIds.transcript_text_block: {CallIds.transcript_text_input: text_value("Ada: Hi\nBo: Yo")}
}
AUDIO = {"id": "F1", "name": "call.mp3", "mimetype": "audio/mpeg", "size": 10}
RECORDING = {
    CallIds.recording_file_block: {
        CallIds.recording_file_input: {"type": "file_input", "files": [AUDIO]}
    }
}
FORMS = {
    CallIds.summary: (CallIds.summary_view, SUMMARY),
    CallIds.transcript: (CallIds.transcript_view, TRANSCRIPT),
    CallIds.recording: (CallIds.recording_view, RECORDING),
}


def _form_button(button: str) -> Case:
    def run(w: World) -> None:
        _opens_then_refused(w, _card_click(w, button, _ref(w), OTHER), FORMS[button][1])

    return run


def _form_view(button: str) -> Case:
    def run(w: World) -> None:
        # The metadata names T1's call and even claims T1: the verified team decides.
        meta = CallFormMeta(
            team_id="T1", channel_id="C1", user_id="U1", external_call_id=w.call.external_call_id
        )
        view = modal(FORMS[button][0], meta.model_dump_json())
        expect_errors(w.app.interact(view_submission(view, FORMS[button][1], **OTHER)), NO_CALL)

    return run


for _button in FORMS:
    case(f"action:{_button}")(_form_button(_button))
    case(f"view:{FORMS[_button][0]}")(_form_view(_button))


@case(f"action:^{CallIds.thread_recording}:")
def _thread_recording(w: World) -> None:
    offer = RecordingOffer(external_call_id=w.call.external_call_id, file_id="F1")
    click = block_actions(
        f"{CallIds.thread_recording}:0",
        value=offer.model_dump_json(),
        message_ts="1.1",
        thread_ts=w.call.card_ts,
        ephemeral=True,
        **OTHER,
    )
    w.app.interact(click)
    told(w, "V1", NO_CALL)


@case(f"action:{CallIds.edit}")
def _edit(w: World) -> None:
    w.app.interact(_card_click(w, CallIds.edit, _ref(w), OTHER))
    shown(w, NO_CALL)


def _time_values() -> dict[str, Any]:
    return time_values("connected", int(time.time()) - 1)


@case(f"action:{CallIds.set_time}")
def _set_time(w: World) -> None:
    ref = TimeRef(
        external_call_id=w.call.external_call_id,
        version=w.call.version,
        status=w.call.status,
        since=int(time.time()) - 60,
    )
    click = _card_click(w, CallIds.set_time, ref.model_dump_json(), OTHER)
    _opens_then_refused(w, click, _time_values())


@case(f"view:{CallIds.time_view}")
def _time_view(w: World) -> None:
    meta = CallTimeMeta(
        channel_id="C1", external_call_id=w.call.external_call_id, version=w.call.version
    )
    view = modal(CallIds.time_view, meta.model_dump_json())
    expect_errors(w.app.interact(view_submission(view, _time_values(), **OTHER)), NO_CALL)


# Messages ----------------------------------------------------------------------------


@case(f"shortcut:{MessageIds.shortcut}")
def _shortcut(w: World) -> None:
    message = {"user": "U1", "ts": str(w.message.card_ts), "text": "a card of T1's"}
    w.app.interact(message_action(message, user_id="V1", team="T2", channel="C1"))
    shown(w, NOT_LINKED)


@case("command:/logmsg")
def _logmsg(w: World) -> None:
    w.app.command("/logmsg", user_id="V1", team_id="T2", channel_id="C1")
    shown(w, NOT_LINKED)


@case(f"view:{MessageIds.form_view}")
def _message_form(w: World) -> None:
    values = form_values(handle="+33612345678", body="Not yours")
    forged = FormMeta(source="logmsg", team_id="T1", channel_id="C1")
    view = modal(MessageIds.form_view, forged.model_dump_json())
    expect_errors(w.app.interact(view_submission(view, values, **OTHER)), NOT_LINKED)
    # Continuing T1's conversation (its card's thread): the post that stores it refuses.
    thread = forged.model_copy(update={"root_ts": w.message.card_ts})
    view = modal(MessageIds.form_view, thread.model_dump_json())
    assert w.app.interact(view_submission(view, values, **OTHER)).status_code == 200
    settle(w.app.runtime)
    told(w, "V1", "Nothing was logged to Front")


@case(f"action:{MessageIds.add_message}")
def _add_message(w: World) -> None:
    w.app.interact(block_actions(MessageIds.add_message, message_ts=w.message.card_ts, **OTHER))
    shown(w, "not a Front conversation")


@case(f"action:{MessageIds.template_input}")
def _template_picked(w: World) -> None:
    # The log form's template select, in a form whose metadata names T1's channel.
    meta = FormMeta(source="logmsg", team_id="T1", channel_id="C1")
    view = {"id": "VFORM", **modal(MessageIds.form_view, meta.model_dump_json())}
    click = block_actions(MessageIds.template_input, view=view, **OTHER)
    click["actions"][0]["selected_option"] = {"value": str(w.template_id)}
    w.app.interact(click)
    told(w, "V1", "no longer offered")
    assert not w.calls("views.update")


MARK = {MessageIds.reason_block: {MessageIds.reason_input: text_value("bounced")}}
NO_MESSAGE = "no record of this message"


@case(f"action:{MessageIds.mark_failed}")
def _mark_failed(w: World) -> None:
    click = block_actions(
        MessageIds.mark_failed, value=w.message.external_id, message_ts=w.message.card_ts, **OTHER
    )
    w.app.interact(click)
    opened = wait_until(lambda: w.calls("views.open"), what="the form")[-1]["view"]
    expect_errors(w.app.interact(view_submission(opened, MARK, **OTHER)), NO_MESSAGE)


@case(f"view:{MessageIds.mark_failed_view}")
def _mark_failed_view(w: World) -> None:
    meta = MarkFailedMeta(external_id=w.message.external_id, channel_id="C1")
    view = modal(MessageIds.mark_failed_view, meta.model_dump_json())
    expect_errors(w.app.interact(view_submission(view, MARK, **OTHER)), NO_MESSAGE)


# Admin -------------------------------------------------------------------------------

SUBCOMMAND_ARGS = {
    "connect": "cha_mine",
    "status": "offline",
    "alerts": "C0ALERTS",
    "capture": "on",
}
PUBLIC_SUBCOMMANDS = {"help"}


@case("command:/switchboard")
def _switchboard(w: World) -> None:
    for name in sorted(set(SUBCOMMANDS) - PUBLIC_SUBCOMMANDS):
        text = f"{name} {SUBCOMMAND_ARGS.get(name, '')}".strip()
        resp = w.app.command("/switchboard", text, user_id="U2")
        if name == "templates":  # answered in its modal
            shown(w, NOT_ADMIN + " can manage message templates")
        else:
            assert NOT_ADMIN in resp.json()["text"], (name, resp.text)
    # Another workspace's admin, in a channel T1 linked: T1's link is not theirs.
    for name in ("disconnect", "status", "capture"):
        text = f"{name} {SUBCOMMAND_ARGS.get(name, '')}".strip()
        resp = w.app.command("/switchboard", text, user_id="V1", team_id="T2")
        assert "not connected to Front yet" in resp.json()["text"], (name, resp.text)
    # Nor is T1's Front channel, typed by id from a channel of T2's.
    resp = w.app.command(
        "/switchboard", f"connect {T1_FRONT_CHANNEL}", user_id="V1", team_id="T2", channel_id="C9"
    )
    assert "connected to another Slack workspace" in resp.json()["text"], resp.text


CONNECT = {ConnectIds.manual_block: {ConnectIds.manual_input: text_value(T1_FRONT_CHANNEL)}}


@case(f"view:{ConnectIds.view}")
def _connect_view(w: World) -> None:
    view = modal(ConnectIds.view, ConnectMeta(channel_id="C1").model_dump_json())
    expect_errors(w.app.interact(view_submission(view, CONNECT, **MEMBER)), NOT_ADMIN)
    # The channel comes from the metadata; the workspace from the verified request, and
    # T1's Front channel is not another workspace's to take.
    view = modal(ConnectIds.view, ConnectMeta(channel_id="C9").model_dump_json())
    expect_errors(
        w.app.interact(view_submission(view, CONNECT, **OTHER)), "another Slack workspace"
    )


def _list_modal(w: World) -> dict[str, Any]:
    """The templates list as T1's modal shows it (the metadata names T1's channel)."""
    meta = TemplateMeta(team_id="T1", channel_id="C1")
    return {
        "id": "VLIST",
        "callback_id": "templates_list",
        "private_metadata": meta.model_dump_json(),
    }


def _template_button(action: str, value: Callable[[World], str | None], other: str) -> Case:
    def run(w: World) -> None:
        w.app.interact(block_actions(action, value=value(w), view=_list_modal(w), **MEMBER))
        told(w, "U2", NOT_ADMIN)
        w.app.interact(block_actions(action, value=value(w), view=_list_modal(w), **OTHER))
        if other:
            told(w, "V1", other)
        else:  # opens an empty form: its submission is refused (T2 has no link here)
            pushed = wait_until(lambda: w.calls("views.push"), what="the form")[-1]["view"]
            values = _template_values("Mine", "Hello")
            expect_errors(w.app.interact(view_submission(pushed, values, **OTHER)), NOT_LINKED)

    return run


NO_TEMPLATE = "template"
case("action:template_add")(_template_button("template_add", lambda w: None, ""))
case("action:template_edit")(
    _template_button("template_edit", lambda w: str(w.template_id), NO_TEMPLATE)
)
case("action:template_toggle")(
    _template_button("template_toggle", lambda w: f"{w.template_id}:1", NO_TEMPLATE)
)
case("action:templates_resync")(_template_button("templates_resync", lambda w: None, NOT_LINKED))


def _template_values(name: str, body: str) -> dict[str, Any]:
    return {
        "template_name": {"name": text_value(name)},
        "template_body": {"body": text_value(body)},
    }


@case("view:template_form")
def _template_form(w: World) -> None:
    meta = TemplateMeta(team_id="T1", channel_id="C1", template_id=w.template_id)
    view = modal("template_form", meta.model_dump_json())
    values = _template_values("Stolen", "Not yours")
    expect_errors(w.app.interact(view_submission(view, values, **MEMBER)), NOT_ADMIN)
    expect_errors(w.app.interact(view_submission(view, values, **OTHER)), "")


# Alerts ------------------------------------------------------------------------------


def _alert_click(w: World, action: str, who: dict[str, str]) -> dict[str, Any]:
    value = AlertButton(alert_id=w.alert_id).model_dump_json()
    return block_actions(action, value=value, message_ts="9.9", **who)


@case("action:delivery_alert_retry")
def _retry(w: World) -> None:
    # Open to every member of the workspace by design (it loses nothing): not to others.
    w.app.interact(_alert_click(w, "delivery_alert_retry", OTHER))
    told(w, "V1", "no longer exists in this workspace")


@case("action:delivery_alert_discard")
def _discard(w: World) -> None:
    w.app.interact(_alert_click(w, "delivery_alert_discard", MEMBER))
    told(w, "U2", "or the person who logged these")
    w.app.interact(_alert_click(w, "delivery_alert_discard", OTHER))
    told(w, "V1", "no longer exists in this workspace")


# The tests ---------------------------------------------------------------------------


def snapshot(app: RunningApp) -> dict[str, list[dict[str, Any]]]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return {t.__name__: [r.model_dump() for r in s.exec(select(t))] for t in TABLES}


def test_every_listener_has_a_case(world: World) -> None:
    found = registered_listeners(world.app.runtime)
    assert found == set(CASES), {"without a case": found - set(CASES), "gone": set(CASES) - found}
    assert ADMIN <= found
    known = {"connect", "disconnect", "status", "templates", "alerts", "capture"}
    assert set(SUBCOMMANDS) - PUBLIC_SUBCOMMANDS <= known, (
        "a new /switchboard subcommand: add it to _switchboard"
    )


@pytest.mark.parametrize("key", sorted(CASES))
def test_refused_and_nothing_stored(world: World, key: str) -> None:
    before = snapshot(world.app)
    world.since = len(world.fake.calls)  # what this case's requests set off comes after
    CASES[key](world)
    settle(world.app.runtime)
    assert snapshot(world.app) == before


def test_the_admin_and_the_owner_team_may(world: World) -> None:
    """The cases above refuse for the right reason: the same requests from T1's admin act."""
    w = world
    w.app.interact(
        block_actions(
            "template_toggle", value=f"{w.template_id}:1", view=_list_modal(w), user_id="U1"
        )
    )
    wait_until(lambda: [r for r in _ops(w) if r == "update_application_message_template"])
    meta = CallFormMeta(
        team_id="T1", channel_id="C1", user_id="U1", external_call_id=w.call.external_call_id
    )
    view = modal(CallIds.summary_view, meta.model_dump_json())
    assert w.app.interact(view_submission(view, SUMMARY, user_id="U1", team="T1")).text == ""
    assert "add_call_summary" in _ops(w)


def _ops(w: World) -> list[str]:
    with session_scope(w.app.runtime.engine, readonly=True) as s:
        return [r.operation for r in s.exec(select(OutboxRow))]
