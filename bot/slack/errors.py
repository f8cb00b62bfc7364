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
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import UserError

log = logging.getLogger(__name__)

ACK_POLL_MARGIN_SECONDS = 0.05

UNEXPECTED = (
    "Something went wrong on Switchboard's side and nothing was logged. "
    "Please try again; if it keeps happening, tell your Switchboard admin."
)


def where_to_tell(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, user, thread_ts) of the person who triggered this request."""
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    message = body.get("message") or {}
    container = body.get("container") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    return channel, user, thread_ts


async def tell(
    client: AsyncWebClient,
    *,
    channel: str | None,
    user: str,
    text: str,
    thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """An ephemeral note to `user`, in `thread_ts` when given; a DM when there is no
    channel or the channel will not take it (the bot is not a member)."""
    if channel:
        try:
            await client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts, blocks=blocks
            )
            return
        except SlackApiError as exc:
            log.info("ephemeral in %s refused (%s): DM instead", channel, exc.response.get("error"))
    await client.chat_postMessage(channel=user, text=text, blocks=blocks)


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
        channel, user, thread_ts = where_to_tell(body)
        try:
            if user:
                await tell(client, channel=channel, user=user, text=text, thread_ts=thread_ts)
        except Exception:
            log.exception("could not tell the user about an error")
        if response is None:
            # The listener had acked. Bolt (1.x, process_before_response=False) resets the
            # ack once this handler returns; if that happens before its runner's 10 ms poll
            # saw the ack, Slack gets a 404 after 3 s (a modal stays open, a command shows
            # "failed"). Outlast one poll so the ack has gone out.
            await asyncio.sleep(ACK_POLL_MARGIN_SECONDS)
