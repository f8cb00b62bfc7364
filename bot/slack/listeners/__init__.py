"""Every Slack listener, registered in one place; each callback lives in a sibling module."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import admin, commands
from bot.slack.views.templates import TemplateIds


def register_listeners(app: AsyncApp) -> None:
    app.command("/switchboard")(commands.switchboard_command)

    app.event("app_home_opened")(admin.app_home_opened)
    app.action(TemplateIds.add)(admin.template_add)
    app.action(TemplateIds.edit)(admin.template_edit)
    app.action(TemplateIds.toggle)(admin.template_toggle)
    app.action(TemplateIds.resync)(admin.templates_resync)
    app.view(TemplateIds.form_view)(admin.template_form_submitted)
