"""Messages: the "Log to Front" shortcut, `/logmsg` and its cards, Mark as failed,
auto-capture of Slack Connect messages (and the capture emoji), and Front's replies
posted back into their threads."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.delivery.hooks import DeliveryHooks
from bot.features.messages import (
    capture,
    capture_posts,
    cards,
    listeners,
    mark_failed,
    replies,
    submit,
    templates,
)
from bot.features.messages.ids import MessageIds
from bot.slack.poster import PostKinds


def register(app: AsyncApp) -> None:
    app.shortcut({"type": "message_action", "callback_id": MessageIds.shortcut})(
        listeners.log_to_front
    )
    app.command("/logmsg")(listeners.logmsg_command)
    app.view(MessageIds.form_view)(submit.form_submitted)
    app.action(MessageIds.add_message)(listeners.add_message_clicked)
    app.action(MessageIds.mark_failed)(mark_failed.mark_failed_clicked)
    app.action(MessageIds.template_input)(templates.template_picked)
    app.view(MessageIds.mark_failed_view)(mark_failed.mark_failed_submitted)
    # Capture stores an event before Bolt acks it (listener middleware); an event it does
    # not take goes on to the next listener (calls' file_share, then the catch-all).
    app.event("message", middleware=[capture.take_message])(capture.stored)
    app.event("reaction_added", middleware=[capture.take_reaction])(capture.stored)


def register_hooks(hooks: DeliveryHooks) -> None:
    cards.register_hooks(hooks)


def register_posts(kinds: PostKinds) -> None:
    cards.register_posts(kinds)
    submit.register_posts(kinds)
    replies.register_posts(kinds)
    capture_posts.register_posts(kinds)
