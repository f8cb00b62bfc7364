"""Settings of the Front simulator: credentials it accepts and the faults it injects."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["MAX_UPLOAD_BYTES", "CompanySettings", "SimConfig"]

MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def _check_rate(per_minute: int | None, burst: int | None) -> None:
    if per_minute is not None and per_minute <= 0:
        raise ValueError("rate_limit_per_minute must be positive (or None for no limit)")
    if burst is not None and burst <= 0:
        raise ValueError("rate_limit_burst must be positive")


@dataclass(frozen=True)
class CompanySettings:
    """One Front company's own limits and faults; None inherits the global setting.

    `refuse_credentials` answers every request of the company 401, as Front does once
    the app is uninstalled or its secret rotated."""

    rate_limit_per_minute: int | None = None
    rate_limit_burst: int | None = None
    error_rate: float | None = None
    latency_ms: float | None = None
    refuse_credentials: bool = False

    def __post_init__(self) -> None:
        _check_rate(self.rate_limit_per_minute, self.rate_limit_burst)
        if self.error_rate is not None and not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if self.latency_ms is not None and self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CompanySettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown company setting(s): {', '.join(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class Limits:
    """What applies to one company once its settings are merged with the global ones."""

    rate_limit_per_minute: int | None
    capacity: int  # the token bucket's size (the burst)
    error_rate: float
    latency_ms: float
    refuse_credentials: bool


@dataclass(frozen=True)
class SimConfig:
    """What the simulator accepts and how it misbehaves.

    Credentials: a request passes with `Bearer <api_token>` when `api_token` is set, or
    with an HS256 JWT signed with `app_secret` whose `iss` is `app_uid` and `sub` is the
    channel in the path. With no credentials configured at all, any Bearer passes.

    Companies: Front limits each company (customer account) separately. Channels map to
    companies through `channel_companies` (a channel not named there is its own
    company); `companies` gives a company its own settings (`CompanySettings`), and the
    global settings below are what a company inherits.

    Faults, all off by default and all changeable while running:
    - `rate_limit_per_minute`: per company, a token bucket of `rate_limit_burst` tokens
      (default: the per-minute figure) refilled continuously; an empty bucket answers 429.
    - `resource_rate_per_second`: per channel, a second bucket (Front: about 5 requests a
      second per resource), of `resource_burst` tokens (default: the per-second figure).
    - `retry_after_unit`: "s" (as documented) or "ms" (as one of Front's bodies says).
    - `error_rate`: share of requests answered with one of `error_statuses`, drawn from
      a RNG seeded with `seed`. With `error_mode="after"` the request is processed and
      recorded first, the way a gateway can fail after the backend committed.
    - `latency_ms`: added before each answer.

    `enforce_call_lifecycle` (on by default) refuses, with 409, what Front's voice
    lifecycle does not allow; see `SimState`. `webhook_url` is where the simulator sends
    signed callbacks (signed with `app_secret`).
    """

    app_uid: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    reject_reused_jti: bool = True
    jwt_leeway_seconds: float = 5.0

    rate_limit_per_minute: int | None = None
    rate_limit_burst: int | None = None
    resource_rate_per_second: float | None = None
    resource_burst: int | None = None
    retry_after_unit: Literal["s", "ms"] = "s"
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    error_mode: Literal["before", "after"] = "before"
    seed: int = 0
    latency_ms: float = 0.0

    channel_companies: Mapping[str, str] = field(default_factory=dict)
    companies: Mapping[str, CompanySettings] = field(default_factory=dict)

    enforce_call_lifecycle: bool = True
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    webhook_url: str | None = None
    # Front's docs say seconds; apps in the wild see milliseconds. Either can be sent.
    callback_timestamp_unit: Literal["s", "ms"] = "ms"
    callback_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        _check_rate(self.rate_limit_per_minute, self.rate_limit_burst)
        if self.resource_rate_per_second is not None and self.resource_rate_per_second <= 0:
            raise ValueError("resource_rate_per_second must be positive (or None for no limit)")
        if self.resource_burst is not None and self.resource_burst <= 0:
            raise ValueError("resource_burst must be positive")
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
        if self.callback_timestamp_unit not in ("s", "ms"):
            raise ValueError("callback_timestamp_unit must be 's' or 'ms'")
        if self.callback_timeout_seconds <= 0:
            raise ValueError("callback_timeout_seconds must be positive")
        if self.webhook_url is not None and not self.webhook_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("webhook_url must be an http:// or https:// URL")
        # Settings arrive as JSON through /_sim/config: accept plain mappings, keep copies
        # so that a caller mutating its dict later does not change a running simulator.
        if not isinstance(self.channel_companies, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v
            for k, v in self.channel_companies.items()
        ):
            raise ValueError("channel_companies must map channel ids to company names")
        if not isinstance(self.companies, Mapping):
            raise ValueError("companies must map company names to their settings")
        companies = {
            str(name): s if isinstance(s, CompanySettings) else _company(name, s)
            for name, s in self.companies.items()
        }
        object.__setattr__(self, "channel_companies", dict(self.channel_companies))
        object.__setattr__(self, "companies", companies)

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

    def company_of(self, channel_id: str) -> str:
        """The company a channel belongs to (by default, the channel is its own)."""
        return self.channel_companies.get(channel_id, channel_id)

    def limits(self, company: str) -> Limits:
        own = self.companies.get(company, CompanySettings())
        per_minute = own.rate_limit_per_minute or self.rate_limit_per_minute
        if own.rate_limit_per_minute is not None:
            burst = own.rate_limit_burst  # the company's own figure, not the global burst
        else:
            burst = own.rate_limit_burst or self.rate_limit_burst
        return Limits(
            rate_limit_per_minute=per_minute,
            capacity=(burst or per_minute) if per_minute is not None else 0,
            error_rate=self.error_rate if own.error_rate is None else own.error_rate,
            latency_ms=self.latency_ms if own.latency_ms is None else own.latency_ms,
            refuse_credentials=own.refuse_credentials,
        )

    @property
    def resource_capacity(self) -> int:
        rate = self.resource_rate_per_second
        return 0 if rate is None else self.resource_burst or max(1, math.ceil(rate))

    def public(self) -> dict[str, Any]:
        """The settings without credentials, for `GET /_sim/config`."""
        data = dataclasses.asdict(self)
        for secret in ("app_secret", "api_token"):
            data[secret] = "set" if data[secret] else None
        data["error_statuses"] = list(self.error_statuses)
        data["channel_companies"] = dict(self.channel_companies)
        data["companies"] = {k: dataclasses.asdict(v) for k, v in self.companies.items()}
        return data


def _company(name: object, settings: object) -> CompanySettings:
    if not isinstance(settings, Mapping):
        raise ValueError(f"companies: settings of {name!r} must be an object")
    return CompanySettings.from_mapping(settings)
