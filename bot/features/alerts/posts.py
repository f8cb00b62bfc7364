"""Posting failure alerts in Slack and keeping them up to date, after the transaction.

Each alert is shown in the workspace's alerts channel (if one is set) and in each thread
where one of its rows was logged (for a pause: the thread of the row that met it, when
no alerts channel is set), except threads of Slack Connect channels, where customers
would see it (with no alerts channel set, the person who logged the row is told there
in an ephemeral message). Every post is remembered (`DeliveryAlertPost`), so a change
(more rows, a Retry, a delivery) updates the same messages in place.

Several processes may refresh the same alert: planning locks the alert row, a new post
is claimed by inserting its row before `chat.postMessage`, and each post records the
alert version it shows; a refresh loops until the posts show the latest version.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.core import slack_posts
from bot.core.uow import in_transaction
from bot.delivery.alert_summary import AlertSummary, summarize
from bot.delivery.alerts import PAUSED
from bot.features.alerts.views import alert_blocks, alert_text
from bot.runtime import Runtime
from bot.slack.lookups import externally_shared
from bot.slack.poster import PostContext, slack_is_down
from bot.slack.say import post_joining
from storage.models import DeliveryAlert, DeliveryAlertPost, OutboxRow, Workspace, utcnow

log = logging.getLogger(__name__)

# A thread in a Slack Connect channel, with no alerts channel set: the person who logged
# the row was told in an ephemeral message, which cannot be updated.
ONLY_TOLD = "ephemeral"
# An outage can fail rows from many threads; past this, only the alerts channel hears.
MAX_THREAD_POSTS = 20
# A post claimed by a process that died before posting is taken over after this.
_CLAIM_TIMEOUT = timedelta(seconds=60)
_ROUNDS = 4


@dataclass
class _Plan:
    summary: AlertSummary
    to_post: list[tuple[int, str, str]] = field(default_factory=list)  # (post id, channel, thread)
    to_update: list[tuple[int, str, str]] = field(default_factory=list)  # (post id, channel, ts)
    has_alerts_channel: bool = False


def _targets(session: Session, alert: DeliveryAlert) -> list[tuple[str, str]]:
    """(channel, thread_ts or "") where this alert belongs, alerts channel first."""
    ws = session.get(Workspace, alert.team_id)
    targets: list[tuple[str, str]] = []
    if ws is not None and ws.alerts_channel_id:
        targets.append((ws.alerts_channel_id, ""))
    if alert.kind == PAUSED:
        if not targets and alert.first_row_id is not None:
            row = session.get(OutboxRow, alert.first_row_id)
            if row is not None and row.slack_channel_id:
                targets.append((row.slack_channel_id, row.slack_thread_ts or ""))
        return targets
    threads = session.exec(
        select(OutboxRow.slack_channel_id, OutboxRow.slack_thread_ts)
        .where(OutboxRow.alert_id == alert.id, col(OutboxRow.slack_channel_id).is_not(None))
        .distinct()
        .limit(MAX_THREAD_POSTS)
    ).all()
    for channel, thread_ts in threads:
        target = (str(channel), thread_ts or "")
        if target not in targets:
            targets.append(target)
    return targets


def plan(session: Session, *, alert_id: int) -> _Plan | None:
    """Lock the alert, claim the posts to make, list the posts to update."""
    alert = session.get(DeliveryAlert, alert_id, with_for_update=True)
    if alert is None:
        return None
    summary = summarize(session, alert_id)
    assert summary is not None
    now = utcnow()
    posts = {
        (p.channel_id, p.thread_ts): p
        for p in session.exec(
            select(DeliveryAlertPost).where(DeliveryAlertPost.alert_id == alert_id)
        )
    }
    ws = session.get(Workspace, alert.team_id)
    result = _Plan(summary, has_alerts_channel=bool(ws and ws.alerts_channel_id))
    for channel, thread_ts in _targets(session, alert):
        post = posts.get((channel, thread_ts))
        if post is None:
            post = DeliveryAlertPost(
                alert_id=alert_id, channel_id=channel, thread_ts=thread_ts, claimed_at=now
            )
            session.add(post)
            session.flush()
            assert post.id is not None
            result.to_post.append((post.id, channel, thread_ts))
        elif post.ts is None and now - post.claimed_at > _CLAIM_TIMEOUT:
            post.claimed_at = now
            session.add(post)
            assert post.id is not None
            result.to_post.append((post.id, channel, thread_ts))
    for post in posts.values():
        if post.ts not in (None, ONLY_TOLD) and post.rendered_version < summary.version:
            assert post.id is not None
            result.to_update.append((post.id, post.channel_id, post.ts))
    return result


def _saved(session: Session, *, post_id: int, ts: str | None, version: int) -> None:
    values: dict[str, object] = {"rendered_version": version}
    if ts is not None:
        values["ts"] = ts
    session.execute(
        update(DeliveryAlertPost)
        .where(
            col(DeliveryAlertPost.id) == post_id, col(DeliveryAlertPost.rendered_version) < version
        )
        .values(**values)
    )


def _version(session: Session, *, alert_id: int) -> int:
    alert = session.get(DeliveryAlert, alert_id)
    return alert.version if alert is not None else -1


LANE = "alert:{}"
KIND = "alert.refresh"


def queue_refresh(session: Session, alert_ids: Sequence[int]) -> None:
    """The `on_alerts` delivery hook: queue each alert's Slack posts (one pending each)."""
    for alert_id in alert_ids:
        alert = session.get(DeliveryAlert, alert_id)
        if alert is None:
            continue
        lane = LANE.format(alert_id)
        slack_posts.enqueue(
            session,
            team_id=alert.team_id,
            lane=lane,
            kind=KIND,
            args={"alert_id": alert_id},
            key=lane,
        )


async def send_refresh(ctx: PostContext) -> None:
    """Post or update one alert's Slack messages; raises when Slack is down (the post is
    retried), logs what Slack refuses for good."""
    await _refresh_one(ctx.runtime, int(ctx.args["alert_id"]))


async def _refresh_one(runtime: Runtime, alert_id: int) -> None:
    for _ in range(_ROUNDS):
        p = await in_transaction(runtime, plan, alert_id=alert_id)
        if p is None:
            return
        if p.to_post or p.to_update:
            await _send(runtime, p)
        if await in_transaction(runtime, _version, alert_id=alert_id) <= p.summary.version:
            return


def _forget(session: Session, *, post_id: int) -> None:
    session.execute(delete(DeliveryAlertPost).where(col(DeliveryAlertPost.id) == post_id))


async def _send(runtime: Runtime, p: _Plan) -> None:
    client = await runtime.slack_client(p.summary.team_id)
    down: Exception | None = None  # Slack failed in a way worth trying again
    blocks = alert_blocks(p.summary)
    text = alert_text(p.summary)
    version = p.summary.version
    for post_id, channel, thread_ts in p.to_post:
        try:
            await _post_one(runtime, client, p, post_id, channel, thread_ts, blocks, text)
        except Exception as exc:
            # The claim goes, so the next try posts it rather than waiting for it to age
            # (a claim left behind would make the retry of this post find nothing to do).
            await in_transaction(runtime, _forget, post_id=post_id)
            if isinstance(exc, SlackApiError):
                log.warning(
                    "alert %s: could not post in %s: %s",
                    p.summary.id,
                    channel,
                    exc.response.get("error"),
                )
                if not slack_is_down(exc):
                    continue
            down = down or exc
    for post_id, channel, ts in p.to_update:
        try:
            await client.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
        except SlackApiError as exc:
            log.warning(
                "alert %s: could not update %s/%s: %s",
                p.summary.id,
                channel,
                ts,
                exc.response.get("error"),
            )
            down = down or (exc if slack_is_down(exc) else None)
            continue
        await in_transaction(runtime, _saved, post_id=post_id, ts=None, version=version)
    if down is not None:
        raise down


async def _post_one(
    runtime: Runtime,
    client: AsyncWebClient,
    p: _Plan,
    post_id: int,
    channel: str,
    thread_ts: str,
    blocks: list[dict[str, Any]],
    text: str,
) -> None:
    version = p.summary.version
    if thread_ts and await externally_shared(client, channel):
        # A customer's thread never gets Retry/Discard or Front's error text; the alerts
        # channel (if set) and the card carry it. The claim goes, so a later refresh looks
        # again (the channel may stop being shared).
        log.info("alert %s: not posted in shared channel %s", p.summary.id, channel)
        if not p.has_alerts_channel and p.summary.logged_by:
            # Nowhere else to say it: tell the person who logged it, privately, once.
            await _tell_privately(client, channel, thread_ts, p.summary.logged_by, blocks, text)
            await in_transaction(runtime, _saved, post_id=post_id, ts=ONLY_TOLD, version=version)
        else:
            await in_transaction(runtime, _forget, post_id=post_id)
        return
    resp = await post_joining(
        client, channel=channel, thread_ts=thread_ts or None, blocks=blocks, text=text
    )
    await in_transaction(runtime, _saved, post_id=post_id, ts=str(resp["ts"]), version=version)


async def _tell_privately(
    client: AsyncWebClient,
    channel: str,
    thread_ts: str,
    user: str,
    blocks: list[dict[str, Any]],
    text: str,
) -> None:
    try:
        await client.chat_postEphemeral(
            channel=channel, user=user, thread_ts=thread_ts or None, blocks=blocks, text=text
        )
    except SlackApiError as exc:
        if slack_is_down(exc):
            raise
        log.warning("alert: could not tell %s in %s: %s", user, channel, exc.response.get("error"))
