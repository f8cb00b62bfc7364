"""Starting the simulator from a command line (`switchboard frontsim`, `python -m bot.frontsim`).

Both read the app's credentials the way `switchboard serve` does (the environment first,
then `.env` in the current directory), build the same `SimConfig` from the same
defaults, and say at start whether they check credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from ._config import SimConfig
from ._server import serve

__all__ = [
    "DEFAULT_RATE_PER_MINUTE",
    "DEFAULT_RESOURCE_RATE",
    "Credentials",
    "command_line_config",
    "describe_credentials",
    "describe_limits",
    "read_credentials",
    "serve_from_command_line",
]

# Front's Professional plan; Front's "burst" limit of about 5 requests a second per resource.
DEFAULT_RATE_PER_MINUTE = 100
DEFAULT_RESOURCE_RATE = 5.0


class _FromEnvironment(BaseSettings):
    # The same sources and rules as bot.config.Settings, for these three names only.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,  # `FRONT_APP_SECRET=` left blank means not set
    )
    front_app_uid: str | None = None
    front_app_secret: str | None = None
    front_api_token: str | None = None


@dataclass(frozen=True)
class Credentials:
    app_uid: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)


def read_credentials(env_file: str | Path | None = ".env") -> Credentials:
    """FRONT_APP_UID, FRONT_APP_SECRET and FRONT_API_TOKEN: the environment wins over
    `env_file` (relative to the current directory), as for `switchboard serve`."""
    found = _FromEnvironment(_env_file=env_file)
    return Credentials(found.front_app_uid, found.front_app_secret, found.front_api_token)


def command_line_config(
    credentials: Credentials,
    *,
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE,
    burst: int | None = None,
    resource_rate: float = DEFAULT_RESOURCE_RATE,
    lenient: bool = False,
    webhook_url: str | None = None,
    error_rate: float = 0.0,
    latency_ms: float = 0.0,
    retry_after_unit: str = "s",
    seed: int = 0,
) -> SimConfig:
    """The simulator a person runs: as strict and as limited as Front unless told
    otherwise (0 turns a rate limit off). Raises ValueError on a bad value."""
    if rate_per_minute < 0 or resource_rate < 0:
        raise ValueError("rate limits must not be negative (0 turns one off)")
    if retry_after_unit not in ("s", "ms"):
        raise ValueError("retry-after unit must be 's' or 'ms'")
    return SimConfig(
        app_uid=credentials.app_uid,
        app_secret=credentials.app_secret,
        api_token=credentials.api_token,
        rate_limit_per_minute=rate_per_minute or None,
        rate_limit_burst=burst if rate_per_minute else None,
        resource_rate_per_second=resource_rate or None,
        enforce_call_lifecycle=not lenient,
        webhook_url=webhook_url or None,
        error_rate=error_rate,
        latency_ms=latency_ms,
        retry_after_unit="ms" if retry_after_unit == "ms" else "s",
        seed=seed,
    )


def describe_credentials(config: SimConfig) -> str:
    """One line saying what the simulator accepts; never the secrets themselves."""
    if not config.app_secret and not config.api_token:
        return (
            "frontsim accepts any bearer token: neither FRONT_APP_SECRET nor FRONT_API_TOKEN "
            "is set (environment or ./.env)"
        )
    kinds: list[str] = []
    if config.app_secret:
        iss = (
            f"iss {config.app_uid}"
            if config.app_uid
            else "iss not checked, FRONT_APP_UID is not set"
        )
        kinds.append(f"HS256 JWTs signed with FRONT_APP_SECRET ({iss}, sub = the channel id)")
    if config.api_token:
        kinds.append("the FRONT_API_TOKEN bearer token")
    return "frontsim checks credentials: " + " or ".join(kinds)


def describe_limits(config: SimConfig) -> str:
    parts = ["strict call lifecycle" if config.enforce_call_lifecycle else "lenient call lifecycle"]
    if config.rate_limit_per_minute is None:
        parts.append("no rate limit per company")
    else:
        burst = config.rate_limit_burst or config.rate_limit_per_minute
        parts.append(f"{config.rate_limit_per_minute} requests/minute per company (burst {burst})")
    if config.resource_rate_per_second is not None:
        parts.append(f"{config.resource_rate_per_second:g} requests/second per channel")
    if config.webhook_url:
        parts.append(f"callbacks to {config.webhook_url}")
    return "frontsim: " + ", ".join(parts)


def serve_from_command_line(
    config: SimConfig,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    echo: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    """Serve until interrupted. The first line printed is `frontsim listening on <url>`
    (scripts read it, e.g. with `--port 0`), then what is checked and limited."""

    def listening(url: str) -> None:
        echo(f"frontsim listening on {url}")
        echo(describe_credentials(config))
        echo(describe_limits(config))

    serve(config, host=host, port=port, log_level=log_level, on_listening=listening)
