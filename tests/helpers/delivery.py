"""Flush the outbox once, as `serve` does, with every production delivery hook, then post
to Slack what the hooks queued."""

from __future__ import annotations

import asyncio
import time

from sqlmodel import Session, col, select

from bot.core.uow import read
from bot.delivery.flusher import Flusher, FlushStats
from bot.runtime import Runtime
from bot.server import delivery_hooks, slack_poster
from storage.engine import session_scope
from storage.models import SlackPost, SlackPostStatus, utcnow

SETTLE_SECONDS = 10.0


def _waiting(session: Session) -> int:
    """Posts that can go now, or are going: each lane's first open post, when it is due
    or being sent (what waits behind a post backing off waits with it)."""
    heads: dict[str, SlackPost] = {}
    query = select(SlackPost).where(col(SlackPost.status).in_(("pending", "sending")))
    for post in session.exec(query.order_by(col(SlackPost.id))):
        heads.setdefault(post.lane, post)
    now = utcnow()
    return sum(1 for p in heads.values() if p.status == "sending" or p.next_attempt_at <= now)


async def settle_posts(runtime: Runtime, timeout: float = SETTLE_SECONDS) -> None:
    """Post what is queued for Slack until nothing more can go now (another process's
    poster may hold some: wait for those too). A post backing off after a failure, and
    the posts of its lane behind it, are left for later."""
    poster = slack_poster(runtime)
    deadline = asyncio.get_running_loop().time() + timeout
    while await read(runtime, _waiting):
        await poster.flush()
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("Slack posts still pending")
        await asyncio.sleep(0.01)


def deliver(runtime: Runtime) -> FlushStats:
    """Send what is due to Front (the simulator in tests), then the Slack posts its hooks
    queued (cards, reactions, alerts); returns once they are in (the fake) Slack."""

    async def run() -> FlushStats:
        flusher = Flusher(runtime, hooks=delivery_hooks(), idle_wait=0.0)
        try:
            stats = await flusher.flush()
        finally:
            await flusher.aclose()
        await settle_posts(runtime)
        return stats

    return asyncio.run(run())


def settle(runtime: Runtime) -> None:
    """Wait until the Slack posts queued so far are in (the fake) Slack."""
    asyncio.run(settle_posts(runtime))


def settle_all(runtime: Runtime, timeout: float = 30.0) -> None:
    """`settle`, and wait for posts backing off after an error too: until none is open."""
    deadline = time.monotonic() + timeout
    while True:
        settle(runtime)
        with session_scope(runtime.engine, readonly=True) as s:
            open_posts = s.exec(
                select(SlackPost.id).where(
                    col(SlackPost.status).in_((SlackPostStatus.pending, SlackPostStatus.sending))
                )
            ).all()
        if not open_posts:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"Slack posts still open: {open_posts}")
        time.sleep(0.05)
