"""Failure alerts in Slack: their blocks, posting and updating them, Retry and Discard,
and `/switchboard alerts #channel`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.delivery.hooks import DeliveryHooks
from bot.features.alerts import listeners, posts
from bot.features.alerts.views import AlertIds
from bot.slack.poster import PostKinds


def register(app: AsyncApp) -> None:
    app.action(AlertIds.retry)(listeners.retry_clicked)
    app.action(AlertIds.discard)(listeners.discard_clicked)


def register_hooks(hooks: DeliveryHooks) -> None:
    hooks.on_alerts(posts.queue_refresh)


def register_posts(kinds: PostKinds) -> None:
    kinds.add(posts.KIND, posts.send_refresh)
