"""Every Slack listener, registered in one place; each callback lives in a sibling module."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import admin, calls, commands
from bot.slack.listeners import alerts as delivery_alerts
from bot.slack.listeners import messages as msg
from bot.slack.views.alerts import AlertIds
from bot.slack.views.calls import STATUS_ACTION, THREAD_RECORDING_ACTION, CallIds
from bot.slack.views.messages import MessageIds
from bot.slack.views.templates import TemplateIds


def register_listeners(app: AsyncApp) -> None:
    app.command("/switchboard")(commands.switchboard_command)

    app.command("/logcall")(calls.logcall_command)
    app.view(CallIds.log_view)(calls.log_call_submitted)
    app.action(STATUS_ACTION)(calls.status_clicked)
    app.action(CallIds.transfer)(calls.transfer_clicked)
    app.action(CallIds.summary)(calls.summary_clicked)
    app.view(CallIds.summary_view)(calls.summary_submitted)
    app.action(CallIds.transcript)(calls.transcript_clicked)
    app.view(CallIds.transcript_view)(calls.transcript_submitted)
    app.action(CallIds.recording)(calls.recording_clicked)
    app.view(CallIds.recording_view)(calls.recording_submitted)
    app.action(THREAD_RECORDING_ACTION)(calls.thread_recording_clicked)
    # Before any broader message listener: Bolt runs the first listener that matches.
    app.event({"type": "message", "subtype": "file_share"})(calls.file_shared)

    app.shortcut(MessageIds.shortcut)(msg.log_to_front)
    app.command("/logmsg")(msg.logmsg_command)
    app.view(MessageIds.form_view)(msg.form_submitted)
    app.action(MessageIds.add_message)(msg.add_message_clicked)
    app.action(MessageIds.mark_failed)(msg.mark_failed_clicked)
    app.view(MessageIds.mark_failed_view)(msg.mark_failed_submitted)

    app.event("app_home_opened")(admin.app_home_opened)
    app.action(TemplateIds.add)(admin.template_add)
    app.action(TemplateIds.edit)(admin.template_edit)
    app.action(TemplateIds.toggle)(admin.template_toggle)
    app.action(TemplateIds.resync)(admin.templates_resync)
    app.view(TemplateIds.form_view)(admin.template_form_submitted)

    app.action(AlertIds.retry)(delivery_alerts.retry_clicked)
    app.action(AlertIds.discard)(delivery_alerts.discard_clicked)

    # Last: every other message event in channels the bot is in is acknowledged and
    # ignored, or Bolt answers 404 and Slack keeps retrying (and may turn events off).
    app.event("message")(admin.ignore_event)
