"""When to retry, when to give up, how long a claim holds: the delivery policy in one place."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retry rules of the flusher; `from_settings` for the app, explicit values in tests.

    Backoff after the n-th failed attempt is `backoff_base * 2**(n-1)` seconds, capped at
    `backoff_cap`, times a random factor in [1 - jitter, 1 + jitter] so rows that failed
    together do not all come back together.
    """

    max_attempts: int = 12
    max_age: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=120)
    backoff_base: float = 2.0
    backoff_cap: float = 900.0
    jitter: float = 0.2
    probe_first_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> DeliveryPolicy:
        values: dict[str, object] = {
            "max_attempts": settings.outbox_max_attempts,
            "max_age": timedelta(hours=settings.outbox_max_age_hours),
            "lease": timedelta(seconds=settings.outbox_lease_seconds),
            "backoff_base": settings.outbox_backoff_seconds,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def backoff(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after `attempts` failed attempts (1 for the first failure)."""
        exponent = min(max(attempts, 1) - 1, 62)
        delay = min(self.backoff_cap, self.backoff_base * (2.0**exponent))
        r = (rng or random).uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return max(0.0, delay * r)

    def gives_up(self, *, attempts: int, since: datetime, now: datetime) -> bool:
        """True once a retryable row has used its attempts or is too old to keep trying."""
        return attempts >= self.max_attempts or now - since >= self.max_age
