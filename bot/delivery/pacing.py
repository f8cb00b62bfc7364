"""Pacing requests to Front, per workspace, shared by every process through the database.

Front limits requests per company (50 to 200 a minute by plan, plus a burst) and tells
where a company stands in every answer's `x-ratelimit-*` headers. Each workspace brings
its own Front company, so each gets its own bucket, an `OutboxPace` row: one workspace
meeting 429s never slows another.

The row mirrors Front's token bucket. A claim takes one token per request, in the same
transaction that marks the rows `sending` (the row is locked on PostgreSQL, the whole
database on SQLite), so several processes share one budget. Each answer corrects the
estimate: `tokens = remaining - (requests still in flight)`, which counts requests sent
but not yet answered as spent. A 429 empties the bucket and blocks it for
`retry-after`. Until a first answer says the real limit, a few requests go out to learn
it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.front import RateLimitInfo
from storage.models import OutboxPace

# Before any answer: Front's smallest plan, and a handful of requests to learn the limit.
DEFAULT_LIMIT_PER_MINUTE = 50.0
START_TOKENS = 5.0
# Float refills land a hair under 1.0; a request is never refused for that.
_EPSILON = 1e-6


def new_pace(team_id: str, now: datetime) -> OutboxPace:
    return OutboxPace(
        team_id=team_id,
        tokens=START_TOKENS,
        capacity=START_TOKENS,
        per_second=DEFAULT_LIMIT_PER_MINUTE / 60.0,
        refilled_at=now,
        ready_at=now,
        updated_at=now,
    )


def refill(pace: OutboxPace, now: datetime) -> None:
    elapsed = (now - pace.refilled_at).total_seconds()
    if elapsed > 0:
        pace.tokens = min(pace.capacity, pace.tokens + elapsed * pace.per_second)
        pace.refilled_at = now


def _update_ready(pace: OutboxPace, now: datetime) -> None:
    if pace.tokens >= 1.0 - _EPSILON:
        ready = now
    else:
        ready = now + timedelta(seconds=(1.0 - pace.tokens) / pace.per_second)
    if pace.blocked_until is not None and pace.blocked_until > ready:
        ready = pace.blocked_until
    pace.ready_at = ready
    pace.updated_at = now


def take(pace: OutboxPace, now: datetime) -> int | None:
    """Spend one token; return the claim's sequence number, or None when none is left."""
    if pace.blocked_until is not None and now < pace.blocked_until:
        return None
    refill(pace, now)
    if pace.tokens < 1.0 - _EPSILON:
        return None
    pace.tokens = max(0.0, pace.tokens - 1.0)
    pace.seq += 1
    return pace.seq


def settle(pace: OutboxPace, now: datetime) -> None:
    """Recompute `ready_at` after takes, so claims skip this workspace until a token is due."""
    refill(pace, now)
    _update_ready(pace, now)


def calibrate(
    pace: OutboxPace, info: RateLimitInfo, sent_seq: int, now: datetime, *, in_flight: int
) -> None:
    """Correct the bucket from the answer to claim number `sent_seq`.

    `in_flight` counts this workspace's other requests still out (rows `sending`): Front's
    `remaining` has not counted them yet, or counted them just now; either way they
    will have used a token, so they are taken off (at worst twice: the safe side).
    """
    refill(pace, now)
    if info.limit is not None and info.limit > 0:
        pace.capacity = float(info.limit)
        # Front's limit is per minute; the headers also promise a full bucket again at
        # `reset`, which covers a burst smaller than the minute. `reset` is in whole
        # seconds (rounded up, or a little early by our clock), hence the extra second:
        # the estimate stays under the true rate.
        per_second = info.limit / 60.0
        if info.remaining is not None and info.reset_at is not None:
            until_reset = info.reset_at - now.timestamp()
            used = info.limit - info.remaining
            if until_reset > 0 and used > 0:
                per_second = max(per_second, used / (until_reset + 1.0))
        pace.per_second = per_second
    # Answers are recorded out of order; one to an older claim than the last used most
    # likely shows an older state of Front's bucket: its count is ignored.
    if info.remaining is not None and sent_seq > pace.calibrated_seq:
        pace.tokens = max(0.0, min(pace.capacity, float(info.remaining - max(0, in_flight))))
        pace.calibrated_seq = sent_seq
    _update_ready(pace, now)


def rate_limited(pace: OutboxPace, retry_after: float, now: datetime) -> None:
    """Front answered 429: nothing more for this workspace until `retry_after` has passed."""
    refill(pace, now)
    pace.tokens = 0.0
    until = now + timedelta(seconds=max(0.0, retry_after))
    if pace.blocked_until is None or until > pace.blocked_until:
        pace.blocked_until = until
    _update_ready(pace, now)


# Paused workspaces (Front refused our credentials) are probed with one request now and
# then: first after a minute, then twice as long each time, at most hourly.
PROBE_FIRST_SECONDS = 60.0
PROBE_MAX_SECONDS = 3600.0


def schedule_probe(pace: OutboxPace, now: datetime, *, first: float = PROBE_FIRST_SECONDS) -> None:
    delay = min(PROBE_MAX_SECONDS, first * (2 ** min(pace.probes, 16)))
    pace.probe_at = now + timedelta(seconds=delay)
    pace.updated_at = now
