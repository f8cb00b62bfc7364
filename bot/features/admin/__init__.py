"""Admin: `/switchboard` (help, connect and its picker, disconnect, capture, status,
templates), the App Home, the message templates' modals, and Front's callbacks about
channels (authorized, removed)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.delivery.hooks import DeliveryHooks
from bot.features.admin import channels, commands, listeners, service
from bot.features.admin.channel_views import ConnectIds
from bot.features.admin.views import TemplateIds
from bot.slack.poster import PostKinds


def register(app: AsyncApp) -> None:
    app.command("/switchboard")(commands.switchboard_command)
    app.view(ConnectIds.view)(channels.connect_submitted)
    app.event("app_home_opened")(listeners.app_home_opened)
    app.action(TemplateIds.add)(listeners.template_add)
    app.action(TemplateIds.edit)(listeners.template_edit)
    app.action(TemplateIds.toggle)(listeners.template_toggle)
    app.action(TemplateIds.resync)(listeners.templates_resync)
    app.view(TemplateIds.form_view)(listeners.template_form_submitted)


def register_hooks(hooks: DeliveryHooks) -> None:
    service.register_delivery_hooks(hooks)


def register_posts(kinds: PostKinds) -> None:
    """Admins are answered in the moment (ephemeral answers, modals): no posts of its own."""
