"""The queue of things to show in Slack (`storage.models.SlackPost`), as data.

`enqueue` is called in the transaction that stores the work, so once Slack has our ack
what it must see later is in the database. `claim`, `done`, `retry` and `give_up` are the
poster's (`bot.slack.poster`), which sends them; several processes may poll the queue:
a claim takes lane heads only, under a lease, with `FOR UPDATE SKIP LOCKED` on
PostgreSQL and the write lock taken up front on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlmodel import Session, col, select

from storage.models import SLACK_POST_OPEN_SQL, SlackPost, SlackPostStatus, utcnow

# Lane heads that are due: pending ones, and sending ones whose process died.
_CANDIDATES = f"""
SELECT s.id FROM slack_post AS s
WHERE s.{SLACK_POST_OPEN_SQL}
  AND s.next_attempt_at <= :now
  AND NOT EXISTS (
    SELECT 1 FROM slack_post AS p
    WHERE p.lane = s.lane AND p.id < s.id AND p.{SLACK_POST_OPEN_SQL}
  )
ORDER BY s.id
LIMIT :limit
{{lock}}
"""


@dataclass(frozen=True)
class PostJob:
    """A claimed post, as plain values (no session)."""

    id: int
    team_id: str
    lane: str
    kind: str
    args: dict[str, Any]
    attempts: int
    created_at: datetime


def enqueue(
    session: Session,
    *,
    team_id: str,
    lane: str,
    kind: str,
    args: dict[str, Any],
    key: str | None = None,
    due_at: datetime | None = None,
) -> SlackPost | None:
    """Queue a post; with `key`, not when a pending post with that key is already queued
    (it renders the same thing, from the database, when it goes). Returns the post, or
    None when one was already queued. With `due_at`, it is not sent before then (a
    reminder): give it a lane of its own, since a lane waits for its head."""
    if key is not None:
        # Locked: a claim committing meanwhile makes the post `sending` (it may already be
        # rendering what was true before this transaction), and then a new one is queued;
        # while we hold it, the claim skips it until what we store is committed.
        queued = session.exec(
            select(SlackPost.id)
            .where(SlackPost.key == key, SlackPost.status == SlackPostStatus.pending)
            .with_for_update()
        ).first()
        if queued is not None:
            return None
    post = SlackPost(team_id=team_id, lane=lane, kind=kind, args=args, key=key)
    if due_at is not None:
        post.next_attempt_at = due_at
    session.add(post)
    session.flush()
    return post


def claim(
    session: Session, *, owner: str, limit: int, lease_seconds: float, now: datetime | None = None
) -> list[PostJob]:
    """Mark up to `limit` lane heads `sending` for `owner` and return them."""
    now = now or utcnow()
    lock = "FOR UPDATE OF s SKIP LOCKED" if session.get_bind().dialect.name == "postgresql" else ""
    ids = [
        int(r[0])
        for r in session.execute(
            text(_CANDIDATES.format(lock=lock)).bindparams(
                bindparam("now", now, type_=SlackPost.__table__.c.next_attempt_at.type)  # type: ignore[attr-defined]
            ),
            {"limit": limit},
        )
    ]
    if not ids:
        return []
    expires = now + timedelta(seconds=lease_seconds)
    session.execute(
        update(SlackPost)
        .where(col(SlackPost.id).in_(ids))
        .values(
            status=SlackPostStatus.sending,
            lease_owner=owner,
            lease_expires_at=expires,
            next_attempt_at=expires,
        )
    )
    posts = session.exec(select(SlackPost).where(col(SlackPost.id).in_(ids))).all()
    return [
        PostJob(
            id=p.id,
            team_id=p.team_id,
            lane=p.lane,
            kind=p.kind,
            args=dict(p.args),
            attempts=p.attempts,
            created_at=p.created_at,
        )
        for p in sorted(posts, key=lambda p: p.id or 0)
        if p.id is not None
    ]


def _mine(session: Session, job: PostJob, owner: str) -> SlackPost | None:
    """The post, if this owner still holds it (a lease that expired may have moved on)."""
    post = session.get(SlackPost, job.id, with_for_update=True)
    if post is None or post.status != SlackPostStatus.sending or post.lease_owner != owner:
        return None
    return post


def done(session: Session, *, job: PostJob, owner: str) -> bool:
    post = _mine(session, job, owner)
    if post is None:
        return False
    post.status, post.done_at, post.lease_owner = SlackPostStatus.done, utcnow(), None
    post.last_error = None
    session.add(post)
    return True


def retry(
    session: Session, *, job: PostJob, owner: str, error: str, after: float, counts: bool = True
) -> bool:
    """Back to pending, due in `after` seconds (a 429's wait does not count as an attempt)."""
    post = _mine(session, job, owner)
    if post is None:
        return False
    post.status, post.lease_owner, post.lease_expires_at = SlackPostStatus.pending, None, None
    post.next_attempt_at = utcnow() + timedelta(seconds=after)
    post.attempts += 1 if counts else 0
    post.last_error = error[:1000]
    session.add(post)
    return True


def give_up(session: Session, *, job: PostJob, owner: str, error: str) -> bool:
    post = _mine(session, job, owner)
    if post is None:
        return False
    post.status, post.lease_owner, post.done_at = SlackPostStatus.failed, None, utcnow()
    post.last_error = error[:1000]
    session.add(post)
    return True


def release(session: Session, *, jobs: Sequence[PostJob], owner: str) -> None:
    """Claimed but never sent (shutting down): pending again now, not after the lease."""
    ids = [j.id for j in jobs]
    if not ids:
        return
    session.execute(
        update(SlackPost)
        .where(
            col(SlackPost.id).in_(ids),
            col(SlackPost.lease_owner) == owner,
            col(SlackPost.status) == SlackPostStatus.sending,
        )
        .values(status=SlackPostStatus.pending, lease_owner=None, next_attempt_at=utcnow())
    )


def due_count(session: Session, *, now: datetime | None = None) -> int:
    """Posts waiting to go now (not those backing off until later)."""
    now = now or utcnow()
    query = select(SlackPost.id).where(
        col(SlackPost.status).in_((SlackPostStatus.pending, SlackPostStatus.sending)),
        (col(SlackPost.status) == SlackPostStatus.sending)
        | (col(SlackPost.next_attempt_at) <= now),
    )
    return len(session.exec(query).all())


TELL = "tell"


def tell(
    session: Session,
    *,
    team_id: str,
    user: str,
    text: str,
    channel: str | None = None,
    thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    lane: str | None = None,
) -> None:
    """Queue a word to one person: ephemeral in `channel` (its thread), else a DM. In the
    person's own lane unless a `lane` (a call's, say) must come first."""
    args: dict[str, Any] = {"user": user, "text": text}
    if channel:
        args["channel"] = channel
    if thread_ts:
        args["thread_ts"] = thread_ts
    if blocks:
        args["blocks"] = blocks
    enqueue(session, team_id=team_id, lane=lane or f"tell:{team_id}:{user}", kind=TELL, args=args)
