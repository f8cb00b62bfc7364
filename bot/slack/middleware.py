"""Bolt middleware shared by every listener: the runtime, and replays turned away.

Only verified requests get here (`bot.web` checks Slack's signature before Bolt runs).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.core.errors import AlreadyHandled
from bot.core.events import key_of, remember
from bot.core.uow import in_transaction
from bot.runtime import Runtime
from bot.slack.places import place_of

log = logging.getLogger(__name__)


def replay_key(body: dict[str, Any]) -> str | None:
    """The key under which a command, click or shortcut is done once.

    Slack gives each command and shortcut a fresh `trigger_id`, and each click its
    `action_ts`: the same key again is the same request again (a replay). View submissions
    are keyed where their work is stored (`bot.slack.forms`), events where they act.
    """
    place = place_of(body)
    team, user = place.team_id or "-", place.user_id or "-"
    kind = body.get("type")
    if isinstance(body.get("command"), str):
        return key_of("command", team, user, str(body.get("trigger_id") or body.get("text")))
    if kind in ("shortcut", "message_action"):
        return key_of("shortcut", team, user, str(body.get("trigger_id")))
    if kind == "block_actions":
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else {}
        if not isinstance(action, dict):
            return None
        return key_of(
            "action", team, user, str(action.get("action_id")), str(action.get("action_ts"))
        )
    return None


def register_middleware(app: AsyncApp, runtime: Runtime) -> None:
    async def provide_runtime(
        context: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        context["runtime"] = runtime
        return await next()

    async def skip_replays(
        body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        """A command, shortcut or click is acted on once: its key is stored first (the safe
        side: a person can always click or type again, a replay cannot act twice)."""
        key = replay_key(body)
        if key is None:
            return await next()
        try:
            await in_transaction(runtime, lambda *, session: remember(session, key))
        except AlreadyHandled:
            log.info("replayed request ignored (%s)", key.split(":", 1)[0])
            return BoltResponse(status=200, body="")
        except Exception as exc:
            # The database is down: the listener's own store fails and says so.
            log.warning("could not record a request key: %s", type(exc).__name__)
        return await next()

    app.use(provide_runtime)
    app.use(skip_replays)
