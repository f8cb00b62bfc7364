"""Who may do what: workspace admins and owners manage links, status and templates."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import NotAdmin


async def is_workspace_admin(client: AsyncWebClient, user_id: str) -> bool:
    resp = await client.users_info(user=user_id)
    user = resp.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


async def require_admin(client: AsyncWebClient, user_id: str, action: str) -> None:
    """Raise `NotAdmin` (shown to the person) unless they are an admin or owner."""
    if not await is_workspace_admin(client, user_id):
        raise NotAdmin(action)
