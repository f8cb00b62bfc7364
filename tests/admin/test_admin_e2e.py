"""Admin requests delivered through the outbox flusher to the Front simulator."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import select

from bot.core import links
from bot.features.admin import service as admin
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import MessageTemplate
from tests.conftest import make_settings
from tests.front.simulator import APP_SECRET, APP_UID, simulator
from tests.helpers.delivery import deliver

TEAM, CHANNEL, USER = "T1", "C1", "UADMIN"


def test_status_and_templates_reach_front_valid_and_in_order(
    engine: Engine, database_url: str
) -> None:
    with simulator() as (url, state):
        settings = make_settings(
            database_url=database_url,
            front_app_uid=APP_UID,
            front_app_secret=APP_SECRET,
            front_api_url=url,
        )
        with session_scope(engine) as s:
            links.connect(
                s, team_id=TEAM, slack_channel_id=CHANNEL, front_channel_id="cha_7", user_id=USER
            )
            admin.set_channel_status(
                s, team_id=TEAM, slack_channel_id=CHANNEL, status="offline", user_id=USER
            )
            template = admin.save_template(
                s,
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                user_id=USER,
                name="Hi",
                body="Hi {{name}}",
            )
        with session_scope(engine) as s:
            admin.set_template_disabled(
                s,
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                user_id=USER,
                template_id=template.id or 0,
                disabled=True,
            )
        deliver(Runtime(settings=settings, engine=engine))

        received = state.requests()
        assert [r["operation"] for r in received] == [
            "update_channel",
            "sync_application_message_template",
            "update_application_message_template",
        ]
        assert state.rejections() == []
        assert received[0]["body"] == {"status": "offline"}
        assert received[2]["path_params"]["external_id"] == template.external_id
        assert received[2]["body"]["is_disabled"] is True

    with session_scope(engine, readonly=True) as s:
        saved = s.exec(select(MessageTemplate)).one()
    assert saved.front_template_id is not None  # kept from Front's answer by the hook
