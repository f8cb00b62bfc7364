"""Who may do what: workspace admins and owners manage links, status, templates and alerts.

Asked of Slack each time (never cached): a demoted admin loses the right at once. The user
is the verified request's, never one a payload names.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import NotAdmin
from bot.slack.lookups import is_admin


async def is_workspace_admin(client: AsyncWebClient, user_id: str) -> bool:
    resp = await client.users_info(user=user_id)
    user = resp.get("user")
    return is_admin(user if isinstance(user, dict) else None)


async def require_admin(client: AsyncWebClient, user_id: str, action: str) -> None:
    """Raise `NotAdmin` (shown to the person) unless they are an admin or owner."""
    if not await is_workspace_admin(client, user_id):
        raise NotAdmin(action)
