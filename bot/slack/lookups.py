"""What Slack can tell us about people and places, asked once and remembered a while:
users' names and emails, mentioned channels' names, permalinks, shared channels.

Every answer is optional: a user Slack will not describe (deleted, another organisation's,
a missing scope, a rate limit) costs a name or an email, never the work it was for. Users
are cached on the runtime (`Runtime.caches.users`), per workspace token, for a few minutes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.mrkdwn import mentioned_channels, mentioned_users
from bot.runtime import Runtime
from bot.slack.poster import slack_is_down

log = logging.getLogger(__name__)

# More mentions than this in one message are shown as ids.
MAX_MENTIONS = 20


async def user(
    runtime: Runtime, client: AsyncWebClient, user_id: str | None
) -> dict[str, Any] | None:
    """users.info's user, or None when Slack does not say."""
    if not isinstance(user_id, str) or not user_id:  # a payload's field may be anything
        return None
    key = (client.token or "", user_id)
    found = runtime.caches.users.get(key)
    if found is not None:
        return found or None
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.info("users.info %s: %s", user_id, exc.response.get("error"))
        return None
    value = response.get("user")
    answer: dict[str, Any] = value if isinstance(value, dict) else {}
    runtime.caches.users.put(key, answer)
    return answer or None


def name_of(person: dict[str, Any] | None) -> str | None:
    if not person:
        return None
    profile = person.get("profile") or {}
    name = (
        profile.get("real_name")
        or profile.get("display_name")
        or person.get("real_name")
        or person.get("name")
    )
    return str(name) if name else None


def email_of(person: dict[str, Any] | None) -> str | None:
    email = ((person or {}).get("profile") or {}).get("email")
    return str(email) if email else None


def is_admin(person: dict[str, Any] | None) -> bool:
    p = person or {}
    return bool(p.get("is_admin") or p.get("is_owner") or p.get("is_primary_owner"))


async def email(runtime: Runtime, client: AsyncWebClient, user_id: str | None) -> str | None:
    return email_of(await user(runtime, client, user_id))


async def email_within(
    runtime: Runtime, client: AsyncWebClient, user_id: str | None, seconds: float
) -> str | None:
    """`email`, or None when Slack takes longer than `seconds` (inside an ack window)."""
    try:
        return await asyncio.wait_for(email(runtime, client, user_id), seconds)
    except (TimeoutError, SlackApiError, aiohttp.ClientError, OSError):
        return None


async def all_names(runtime: Runtime, client: AsyncWebClient, user_ids: list[str]) -> list[str]:
    """Every name each user goes by (real, display, handle): to recognise them in a text."""

    async def one(user_id: str) -> list[str]:
        person = await user(runtime, client, user_id) or {}
        profile = person.get("profile") or {}
        names = (
            person.get("real_name"),
            person.get("name"),
            profile.get("real_name"),
            profile.get("display_name"),
        )
        return [str(n) for n in names if n]

    found = await asyncio.gather(*(one(u) for u in dict.fromkeys(user_ids)))
    return [name for names in found for name in names]


async def mention_names(
    runtime: Runtime, client: AsyncWebClient, text: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Names of the users and channels mentioned in `text` (wire or editable form)."""
    users: dict[str, str] = {}
    for uid in mentioned_users(text)[:MAX_MENTIONS]:
        name = name_of(await user(runtime, client, uid))
        if name:
            users[uid] = name
    channels: dict[str, str] = {}
    for cid in mentioned_channels(text)[:MAX_MENTIONS]:
        try:
            info = await client.conversations_info(channel=cid)
        except SlackApiError:
            continue
        channel_name = (info.get("channel") or {}).get("name")
        if channel_name:
            channels[cid] = str(channel_name)
    return users, channels


async def permalink(client: AsyncWebClient, channel: str, ts: str | None) -> str | None:
    if not ts:
        return None
    try:
        response = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError:
        return None
    link = response.get("permalink")
    return str(link) if link else None


def is_external(channel_info: dict[str, Any]) -> bool:
    """Whether people of another organisation see a channel (Slack Connect, or being
    shared), from conversations.info's `channel`."""
    info = channel_info
    external = info.get("is_shared") and not info.get("is_org_shared")
    return bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared") or external)


async def externally_shared(client: AsyncWebClient, channel: str) -> bool:
    """`is_external` for a channel id. When Slack will not say, assume it is: the safe side
    for anything private (Front's errors, Retry and Discard). When Slack is down, raise:
    ask again later rather than decide blind."""
    try:
        resp = await client.conversations_info(channel=channel)
    except SlackApiError as exc:
        if slack_is_down(exc):
            raise
        log.warning("conversations.info %s: %s", channel, exc.response.get("error"))
        return True
    return is_external(resp.get("channel") or {})
