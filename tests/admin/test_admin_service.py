from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.core import links
from bot.core.errors import NotLinked, UserError
from bot.features.admin import service as admin
from bot.front import ApplicationMessageTemplate, ApplicationMessageTemplateEdit, UpdateChannel
from storage.engine import session_scope
from storage.models import ChannelLink, OutboxRow

TEAM, CHANNEL, USER = "T1", "C1", "U1"


@pytest.fixture
def linked(engine: Engine) -> Engine:
    with session_scope(engine) as s:
        links.connect(
            s, team_id=TEAM, slack_channel_id=CHANNEL, front_channel_id="cha_1", user_id=USER
        )
    return engine


def _rows(engine: Engine) -> list[OutboxRow]:
    with session_scope(engine, readonly=True) as s:
        return list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def test_status_queues_update_channel_and_remembers_it(linked: Engine) -> None:
    with session_scope(linked) as s:
        admin.set_channel_status(
            s, team_id=TEAM, slack_channel_id=CHANNEL, status=" Offline ", user_id=USER
        )
    (row,) = _rows(linked)
    assert (row.operation, row.front_channel_id, row.lane) == (
        "update_channel",
        "cha_1",
        "channel:cha_1",
    )
    UpdateChannel.model_validate(row.payload)
    assert row.payload == {"status": "offline"}
    with session_scope(linked, readonly=True) as s:
        link = s.exec(select(ChannelLink)).one()
        assert link.front_status == "offline"


def test_status_refuses_unknown_values_and_unlinked_channels(linked: Engine) -> None:
    with pytest.raises(UserError, match="status ok"), session_scope(linked) as s:
        admin.set_channel_status(
            s, team_id=TEAM, slack_channel_id=CHANNEL, status="busy", user_id=USER
        )
    with pytest.raises(NotLinked), session_scope(linked) as s:
        admin.set_channel_status(s, team_id=TEAM, slack_channel_id="C9", status="ok", user_id=USER)
    assert _rows(linked) == []


def test_new_template_is_synced_then_edits_are_patched(linked: Engine) -> None:
    with session_scope(linked) as s:
        t = admin.save_template(
            s,
            team_id=TEAM,
            slack_channel_id=CHANNEL,
            user_id=USER,
            name="Follow-up",
            body="Hi {{first_name}}, about {{ topic }}…",
        )
    with session_scope(linked) as s:
        admin.save_template(
            s,
            team_id=TEAM,
            slack_channel_id=CHANNEL,
            user_id=USER,
            name="Follow-up",
            body="Hello {{first_name}}",
            template_id=t.id,
        )
        admin.set_template_disabled(
            s,
            team_id=TEAM,
            slack_channel_id=CHANNEL,
            user_id=USER,
            template_id=t.id or 0,
            disabled=True,
        )
    sync, edit, disable = _rows(linked)
    assert sync.operation == "sync_application_message_template"
    body = ApplicationMessageTemplate.model_validate(sync.payload)
    assert body.external_id == t.external_id
    assert [v.name for v in body.variable_mappings] == ["first_name", "topic"]
    assert edit.operation == "update_application_message_template"
    assert edit.path == {"external_id": t.external_id}
    ApplicationMessageTemplateEdit.model_validate(edit.payload)
    assert edit.payload["template_preview"] == "Hello {{first_name}}"
    assert disable.payload["is_disabled"] is True
    assert {r.lane for r in (sync, edit, disable)} == {"channel:cha_1"}


def test_template_names_are_unique_per_channel(linked: Engine) -> None:
    with session_scope(linked) as s:
        admin.save_template(
            s, team_id=TEAM, slack_channel_id=CHANNEL, user_id=USER, name="Hello", body="Hi"
        )
    with pytest.raises(UserError, match="already exists"), session_scope(linked) as s:
        admin.save_template(
            s, team_id=TEAM, slack_channel_id=CHANNEL, user_id=USER, name="Hello", body="Hi again"
        )
    with pytest.raises(UserError, match="some text"), session_scope(linked) as s:
        admin.save_template(
            s, team_id=TEAM, slack_channel_id=CHANNEL, user_id=USER, name="Empty", body="   "
        )


def test_resync_puts_every_template_again(linked: Engine) -> None:
    with session_scope(linked) as s:
        for name in ("A", "B"):
            admin.save_template(
                s,
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                user_id=USER,
                name=name,
                body=f"text {name}",
            )
    with session_scope(linked) as s:
        assert admin.resync_templates(s, team_id=TEAM, slack_channel_id=CHANNEL, user_id=USER) == 2
    ops = [r.operation for r in _rows(linked)]
    assert ops == ["sync_application_message_template"] * 4


def test_home_snapshot_counts_what_waits(linked: Engine) -> None:
    with session_scope(linked) as s:
        admin.set_channel_status(
            s, team_id=TEAM, slack_channel_id=CHANNEL, status="ok", user_id=USER
        )
        admin.save_template(
            s, team_id=TEAM, slack_channel_id=CHANNEL, user_id=USER, name="A", body="a"
        )
    with session_scope(linked) as s:
        snap = admin.home_snapshot(s, team_id=TEAM)
    assert snap.outbox_counts == {"pending": 2}
    assert [link.front_channel_id for link in snap.links] == ["cha_1"]
    assert snap.templates == 1
