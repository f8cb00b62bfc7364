"""The simulator's rate limits: a token bucket per company (requests a minute, plus a
burst) and one per channel (requests a second per resource), and the `x-ratelimit-*`
headers Front sends with every answer.

Not thread-safe on its own: `SimState` calls it under its lock.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ._config import SimConfig

__all__ = ["UNLIMITED_REPORTED", "Admission", "RateLimits"]

# Reported when no rate limit is configured, so the headers are always there.
UNLIMITED_REPORTED = 100_000


@dataclass(frozen=True)
class Admission:
    """The rate limiter's answer for one request.

    `scope` says which limit refused it: "company" (the per-minute bucket) or
    "resource" (the per-channel per-second bucket); "" when allowed."""

    allowed: bool
    wait: float
    headers: dict[str, str]
    scope: str = ""


@dataclass
class _Bucket:
    per_second: float
    capacity: int
    tokens: float
    refilled: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.refilled) * self.per_second)
        self.refilled = now


def _bucket(
    buckets: dict[str, _Bucket], name: str, per_second: float, capacity: int, now: float
) -> _Bucket:
    bucket = buckets.get(name)
    if bucket is None or (bucket.per_second, bucket.capacity) != (per_second, capacity):
        # New, or its limits were changed: it starts full, as after a reset.
        bucket = _Bucket(per_second, capacity, float(capacity), now)
        buckets[name] = bucket
    else:
        bucket.refill(now)
    return bucket


def _headers(limit: int, remaining: int, seconds: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(max(0, remaining)),
        "x-ratelimit-reset": str(math.ceil(time.time() + seconds)),
    }


def _company_headers(bucket: _Bucket | None) -> dict[str, str]:
    if bucket is None:  # no limit: the headers are there all the same
        return _headers(UNLIMITED_REPORTED, UNLIMITED_REPORTED, 0.0)
    until_full = (bucket.capacity - bucket.tokens) / bucket.per_second
    return _headers(bucket.capacity, int(bucket.tokens), until_full)


class RateLimits:
    """The buckets of every company and channel seen since the last reset."""

    def __init__(self) -> None:
        self._company: dict[str, _Bucket] = {}
        self._resource: dict[str, _Bucket] = {}

    def admit(self, config: SimConfig, channel_id: str | None) -> Admission:
        """Take a token from the channel's company bucket and from the channel's own
        (per-resource) bucket; a refused request takes neither."""
        now = time.monotonic()
        name = config.company_of(channel_id or "")
        limits = config.limits(name)
        company: _Bucket | None = None
        if limits.rate_limit_per_minute is not None:
            company = _bucket(
                self._company, name, limits.rate_limit_per_minute / 60.0, limits.capacity, now
            )
        resource: _Bucket | None = None
        if config.resource_rate_per_second is not None and channel_id:
            resource = _bucket(
                self._resource,
                channel_id,
                config.resource_rate_per_second,
                config.resource_capacity,
                now,
            )

        if company is not None and company.tokens < 1.0:
            wait = (1.0 - company.tokens) / company.per_second
            return Admission(False, wait, _headers(company.capacity, 0, wait), "company")
        if resource is not None and resource.tokens < 1.0:
            wait = (1.0 - resource.tokens) / resource.per_second
            return Admission(False, wait, _company_headers(company), "resource")
        if resource is not None:
            resource.tokens -= 1.0
        if company is not None:
            company.tokens -= 1.0
        return Admission(True, 0.0, _company_headers(company))
