"""Saying things in Slack: to one person (ephemeral, else a DM), or in a channel the bot
may have to join first."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.slack_posts import TELL
from bot.slack.poster import PostContext, PostKinds, slack_is_down

log = logging.getLogger(__name__)


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
            if slack_is_down(exc):
                raise
            log.info("ephemeral in %s refused (%s): DM instead", channel, exc.response.get("error"))
    await client.chat_postMessage(channel=user, text=text, blocks=blocks)


async def post_joining(client: AsyncWebClient, *, channel: str, **message: Any) -> dict[str, Any]:
    """chat.postMessage; in a public channel the bot was not invited to, join it first."""
    try:
        resp = await client.chat_postMessage(channel=channel, **message)
    except SlackApiError as exc:
        if exc.response.get("error") != "not_in_channel":
            raise
        await client.conversations_join(channel=channel)
        resp = await client.chat_postMessage(channel=channel, **message)
    return resp.data if isinstance(resp.data, dict) else {}


async def send_tell(ctx: PostContext) -> None:
    """The `tell` post (queued with `bot.core.slack_posts.tell`): when Slack is down this
    raises and the post is retried; a channel that will not take it gets a DM instead."""
    args = ctx.args
    await tell(
        ctx.client,
        channel=args.get("channel"),
        user=str(args["user"]),
        text=str(args["text"]),
        thread_ts=args.get("thread_ts"),
        blocks=args.get("blocks"),
    )


def register_posts(kinds: PostKinds) -> None:
    kinds.add(TELL, send_tell)
