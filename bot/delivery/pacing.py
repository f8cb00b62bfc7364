"""Pacing requests to Front, per workspace, shared by every process through the database.

Front limits requests per company (50 to 200 a minute by plan, plus a burst) and tells
where a company stands in every answer's `x-ratelimit-*` headers. Each workspace brings
its own Front company, so each gets its own bucket, an `OutboxPace` row: one workspace
meeting 429s never slows another.

The row mirrors Front's token bucket. A claim takes one token per request, in the same
transaction that marks the rows `sending` (the row is locked on PostgreSQL, the whole
database on SQLite), so several processes share one budget. Every answer that carries
the headers corrects the estimate, a 5xx or a 429 as much as a 2xx (Front counted those
requests too): `tokens = remaining - (claims since the answered one) - (requests still
in flight)`. Claims since the answered one count whether or not they were answered
already, since Front's `remaining` may predate them; requests in flight may have been
counted by Front already: both err on the side of fewer tokens. A 429 empties the
bucket and blocks it for `retry-after`. Until a first answer says the real limit, a few
requests go out to learn it.

Front also limits each resource (a channel) to about 5 requests a second. With a plan of
50 to 200 a minute that limit only bites a burst: a full company bucket let out at once
meets 429s on the channel. So while the company's rate is below it, a second, small
bucket (`RESOURCE_PER_SECOND`, a burst of `RESOURCE_BURST`) spreads bursts out. A
company allowed more than that a second is not slowed by it (its workspace may use
several channels, and a simulator without limits reports a huge one).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from bot.front import RateLimitInfo
from storage.models import OutboxPace

# Before any answer: Front's smallest plan, and a handful of requests to learn the limit
# (no more than the resource bucket below lets out at once).
DEFAULT_LIMIT_PER_MINUTE = 50.0
START_TOKENS = 4.0
# Front's per-resource limit is about 5 a second; a little under it leaves room for
# requests claimed together that reach Front a little apart.
RESOURCE_PER_SECOND = 4.0
RESOURCE_BURST = 4.0
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
        resource_tokens=RESOURCE_BURST,
        resource_refilled_at=now,
    )


def _resource_paced(pace: OutboxPace) -> bool:
    """Whether the per-resource bucket applies (see the module's docstring)."""
    return pace.per_second <= RESOURCE_PER_SECOND


def refill(pace: OutboxPace, now: datetime) -> None:
    elapsed = (now - pace.refilled_at).total_seconds()
    if elapsed > 0:
        pace.tokens = min(pace.capacity, pace.tokens + elapsed * pace.per_second)
        pace.refilled_at = now
    if pace.resource_refilled_at is None:
        pace.resource_tokens, pace.resource_refilled_at = RESOURCE_BURST, now
        return
    elapsed = (now - pace.resource_refilled_at).total_seconds()
    if elapsed > 0:
        pace.resource_tokens = min(
            RESOURCE_BURST, pace.resource_tokens + elapsed * RESOURCE_PER_SECOND
        )
        pace.resource_refilled_at = now


def _wait(tokens: float, per_second: float) -> float:
    return 0.0 if tokens >= 1.0 - _EPSILON else (1.0 - tokens) / per_second


def _update_ready(pace: OutboxPace, now: datetime) -> None:
    wait = _wait(pace.tokens, pace.per_second)
    if _resource_paced(pace):
        wait = max(wait, _wait(pace.resource_tokens, RESOURCE_PER_SECOND))
    ready = now + timedelta(seconds=wait)
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
    if _resource_paced(pace) and pace.resource_tokens < 1.0 - _EPSILON:
        return None
    pace.tokens = max(0.0, pace.tokens - 1.0)
    pace.resource_tokens = max(0.0, pace.resource_tokens - 1.0)
    pace.seq += 1
    return pace.seq


def available(pace: OutboxPace, now: datetime) -> int:
    """How many requests `take` would allow in a row now."""
    if pace.blocked_until is not None and now < pace.blocked_until:
        return 0
    refill(pace, now)
    count = math.floor(pace.tokens + _EPSILON)
    if _resource_paced(pace):
        count = min(count, math.floor(pace.resource_tokens + _EPSILON))
    return max(0, count)


def settle(pace: OutboxPace, now: datetime) -> None:
    """Recompute `ready_at` after takes, so claims skip this workspace until a token is due."""
    refill(pace, now)
    _update_ready(pace, now)


def calibrate(
    pace: OutboxPace,
    info: RateLimitInfo,
    sent_seq: int,
    now: datetime,
    *,
    in_flight: int,
    rate_limited: bool = False,
) -> None:
    """Correct the bucket from the answer to claim number `sent_seq`.

    Front's `remaining` may not count the claims made after `sent_seq` (answered since
    or not) nor this workspace's other requests still out (`in_flight`: rows `sending`);
    both are taken off, counting some twice at worst: the safe side. A 429's headers
    (`rate_limited`) set the count but not the rate: their `reset` may say when one
    token is back rather than when the bucket is full.
    """
    refill(pace, now)
    if info.limit is not None and info.limit > 0 and not rate_limited:
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
        unaccounted = max(0, pace.seq - sent_seq) + max(0, in_flight)
        pace.tokens = max(0.0, min(pace.capacity, float(info.remaining - unaccounted)))
        pace.calibrated_seq = sent_seq
    _update_ready(pace, now)


def rate_limited(pace: OutboxPace, retry_after: float, now: datetime) -> None:
    """Front answered 429: nothing more for this workspace until `retry_after` has passed
    (the company's limit or the resource's: both buckets are emptied)."""
    refill(pace, now)
    pace.tokens = 0.0
    pace.resource_tokens = 0.0
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
