"""Settings of the Front simulator: credentials it accepts and the faults it injects."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["MAX_UPLOAD_BYTES", "SimConfig"]

MAX_UPLOAD_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class SimConfig:
    """What the simulator accepts and how it misbehaves.

    Credentials: a request passes with `Bearer <api_token>` when `api_token` is set, or
    with an HS256 JWT signed with `app_secret` whose `iss` is `app_uid` and `sub` is the
    channel in the path. With no credentials configured at all, any Bearer passes.

    Faults, all off by default and all changeable while running:
    - `rate_limit_per_minute`: a token bucket of `rate_limit_burst` tokens (default: the
      per-minute figure) refilled continuously; an empty bucket answers 429.
    - `retry_after_unit`: "s" (as documented) or "ms" (as one of Front's bodies says).
    - `error_rate`: share of requests answered with one of `error_statuses`, drawn from
      a RNG seeded with `seed`. With `error_mode="after"` the request is processed and
      recorded first, the way a gateway can fail after the backend committed.
    - `latency_ms`: added before each answer.
    """

    app_uid: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    reject_reused_jti: bool = True
    jwt_leeway_seconds: float = 5.0

    rate_limit_per_minute: int | None = None
    rate_limit_burst: int | None = None
    retry_after_unit: Literal["s", "ms"] = "s"
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    error_mode: Literal["before", "after"] = "before"
    seed: int = 0
    latency_ms: float = 0.0

    # Refuse (409) what Front's voice lifecycle does not allow; see `SimState`.
    enforce_call_lifecycle: bool = True
    max_upload_bytes: int = MAX_UPLOAD_BYTES

    def __post_init__(self) -> None:
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute <= 0:
            raise ValueError("rate_limit_per_minute must be positive (or None for no limit)")
        if self.rate_limit_burst is not None and self.rate_limit_burst <= 0:
            raise ValueError("rate_limit_burst must be positive")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if not self.error_statuses or any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("error_statuses must be 5xx codes")
        if self.retry_after_unit not in ("s", "ms"):
            raise ValueError("retry_after_unit must be 's' or 'ms'")
        if self.error_mode not in ("before", "after"):
            raise ValueError("error_mode must be 'before' or 'after'")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")

    def replace(self, changes: Mapping[str, Any]) -> SimConfig:
        """A copy with `changes` applied; unknown names raise ValueError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        fixed = dict(changes)
        if "error_statuses" in fixed:
            fixed["error_statuses"] = tuple(fixed["error_statuses"])
        return dataclasses.replace(self, **fixed)

    def public(self) -> dict[str, Any]:
        """The settings without credentials, for `GET /_sim/config`."""
        data = dataclasses.asdict(self)
        for secret in ("app_secret", "api_token"):
            data[secret] = "set" if data[secret] else None
        data["error_statuses"] = list(self.error_statuses)
        return data
