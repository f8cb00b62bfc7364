"""A workspace's install lifecycle: uninstalled or revoked, its tokens go and its
deliveries pause (kept, not lost); reinstalled, they resume.

The pause is the same `workspace.paused_at` that Front's refusals use, so the claim skips
the workspace's rows alike; its reason says "uninstalled" or "tokens revoked", and no probe
is scheduled (Front taking a probe says nothing about Slack). Only such a pause is lifted
by a reinstall; a pause for Front's credentials stays until Front takes them.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from sqlalchemy import Engine, update
from sqlmodel import col

from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import OutboxPace, Workspace, utcnow
from storage.slack_oauth import ThreadedInstallationStore

log = logging.getLogger(__name__)

UNINSTALLED = "uninstalled"
TOKENS_REVOKED = "tokens revoked"
INSTALL_REASONS = (UNINSTALLED, TOKENS_REVOKED)


def pause_for_install(engine: Engine, team_id: str, reason: str) -> None:
    """Pause the workspace's deliveries (idempotent); a later reason replaces an earlier."""
    now = utcnow()
    with session_scope(engine) as session:
        ws = session.get(Workspace, team_id, with_for_update=True)
        if ws is None:
            ws = Workspace(team_id=team_id, created_at=now)
        ws.paused_at = ws.paused_at or now
        ws.paused_reason = reason
        session.add(ws)
        # No probes: they test Front's credentials, not whether Slack still has us.
        session.execute(
            update(OutboxPace).where(col(OutboxPace.team_id) == team_id).values(probe_at=None)
        )


def resume_after_install(engine: Engine, team_id: str) -> bool:
    """Lift a pause that an uninstall or a revocation caused; True when one was lifted."""
    with session_scope(engine) as session:
        ws = session.get(Workspace, team_id, with_for_update=True)
        if ws is None or ws.paused_at is None or ws.paused_reason not in INSTALL_REASONS:
            return False
        ws.paused_at, ws.paused_reason = None, None
        session.add(ws)
    log.info("workspace reinstalled: deliveries resume", extra={"team_id": team_id})
    return True


def register_install_lifecycle(
    app: AsyncApp, runtime: Runtime, store: ThreadedInstallationStore | None
) -> None:
    """`app_uninstalled` and `tokens_revoked`: Bolt's own revocation listeners delete the
    tokens (OAuth installs), then the workspace's deliveries pause."""
    builtin = AsyncTokenRevocationListeners(store) if store is not None else None

    async def app_uninstalled(context: Any) -> None:
        if builtin is not None:
            await builtin.handle_app_uninstalled_events(context)
        await _pause(runtime, context.team_id, UNINSTALLED)

    async def tokens_revoked(event: dict[str, Any], context: Any) -> None:
        if builtin is not None:
            await builtin.handle_tokens_revoked_events(event, context)
        if event.get("tokens", {}).get("bot"):  # user tokens alone do not stop the bot
            if store is not None:
                # Bolt deletes the bot row; the installation row holds the same (now
                # useless) token: no token is kept that Slack has revoked.
                await store.async_delete_all(
                    enterprise_id=context.enterprise_id, team_id=context.team_id
                )
            await _pause(runtime, context.team_id, TOKENS_REVOKED)

    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


async def _pause(runtime: Runtime, team_id: str | None, reason: str) -> None:
    import asyncio

    if not team_id:
        return
    await asyncio.to_thread(pause_for_install, runtime.engine, team_id, reason)
    log.warning("workspace %s: deliveries paused (%s)", team_id, reason, extra={"team_id": team_id})
