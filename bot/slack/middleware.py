"""Bolt middleware shared by every listener."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import IntegrityError

from bot.core.events import remember_event
from bot.core.uow import in_transaction
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def register_middleware(app: AsyncApp, runtime: Runtime) -> None:
    async def provide_runtime(
        context: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        context["runtime"] = runtime
        return await next()

    async def skip_retried_events(
        body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        """Slack re-sends an event it thinks failed; Bolt does not deduplicate, so we do.

        The event id is stored before the listener runs: a listener that fails is not run
        again on Slack's retry, which is the safe side for anything that posts or queues.
        """
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or not event_id:
            return await next()
        try:
            await in_transaction(runtime, remember_event, event_id=event_id)
        except IntegrityError:
            log.info("event %s already handled; Slack retry ignored", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    app.use(provide_runtime)
    app.use(skip_retried_events)
