"""One error handler for every listener: people are always told, nothing fails silently.

`UserError` messages are written for the person and shown as they are; anything else is
logged with its traceback and the person gets a short apology with what to try.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import UserError
from bot.slack.places import place_of
from bot.slack.say import tell

log = logging.getLogger(__name__)

ACK_POLL_MARGIN_SECONDS = 0.05

UNEXPECTED = (
    "Something went wrong on Switchboard's side and nothing was logged. "
    "Please try again; if it keeps happening, tell your Switchboard admin."
)


def register_error_handler(app: AsyncApp) -> None:
    @app.error
    async def on_error(
        error: Exception,
        body: dict[str, Any],
        client: AsyncWebClient,
        response: BoltResponse | None,
    ) -> None:
        if isinstance(error, UserError):
            text = str(error)
        else:
            log.exception("listener failed", exc_info=error)
            text = UNEXPECTED
        place = place_of(body)
        try:
            if place.user_id:
                await tell(
                    client,
                    channel=place.channel_id,
                    user=place.user_id,
                    text=text,
                    thread_ts=place.thread_ts,
                )
        except Exception:
            log.exception("could not tell the user about an error")
        if response is None:
            # The listener had acked. Bolt (1.x, process_before_response=False) resets the
            # ack once this handler returns; if that happens before its runner's 10 ms poll
            # saw the ack, Slack gets a 404 after 3 s (a modal stays open, a command shows
            # "failed"). Outlast one poll so the ack has gone out.
            await asyncio.sleep(ACK_POLL_MARGIN_SECONDS)
