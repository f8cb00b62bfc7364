"""Settings, read once from the environment and `.env`.

Names follow the operating contract in the design (users and scripts rely on them).
`load_settings` turns validation errors into one human line per variable so that
start-up can stop with a clear message instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///switchboard.db"

# What to put in each variable, shown when it is missing or malformed.
HINTS: dict[str, str] = {
    "SLACK_SIGNING_SECRET": "the Signing Secret from your Slack app's Basic Information page",
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-...) from OAuth & Permissions "
    "(or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs)",
    "SLACK_CLIENT_ID": "the Client ID from your Slack app's Basic Information page",
    "SLACK_CLIENT_SECRET": "the Client Secret from your Slack app's Basic Information page",
    "SLACK_APP_TOKEN": "an app-level token (xapp-...) with connections:write, for Socket Mode",
    "SLACK_API_URL": "the Slack Web API base URL, e.g. https://slack.com/api/",
    "FRONT_APP_UID": "your Front app's UID (Front: Settings > Developers > your app)",
    "FRONT_APP_SECRET": "your Front app's secret (used to sign requests and check callbacks)",
    "FRONT_API_TOKEN": "a Front API token, used only when no app UID/secret is set",
    "FRONT_API_URL": "the Channel API base URL, e.g. https://api2.frontapp.com",
    "DATABASE_URL": "a SQLAlchemy URL: sqlite:///switchboard.db or "
    "postgresql://user:pass@host:5432/dbname",
    "PORT": "the TCP port to listen on, a number such as 3000",
    "PUBLIC_URL": "the https address Slack and Front reach this app at, e.g. https://sb.example.com",
    "DEFAULT_PHONE_REGION": "a two-letter region code (ISO 3166) such as US or FR",
    "OUTBOX_MAX_ATTEMPTS": "a whole number of delivery attempts, at least 1",
    "OUTBOX_MAX_AGE_HOURS": "how long a delivery may keep retrying, in hours",
    "FLUSH_INTERVAL_SECONDS": "seconds between outbox flushes, e.g. 2",
    "FLUSH_CONCURRENCY": "how many deliveries may be in flight at once per process",
    "OUTBOX_LEASE_SECONDS": "how long a claimed delivery stays reserved to one process, e.g. 120",
    "OUTBOX_BACKOFF_SECONDS": "seconds before the first retry of a delivery (then doubling)",
    "LOG_FORMAT": "text (the default) or json (one JSON object a line)",
    "STATUS_TOKEN": "a long random string; it unlocks the status page's figures and /metrics",
    "TOKEN_ENCRYPTION_KEY": 'a Fernet key, made with: python -c "from cryptography.fernet '
    'import Fernet; print(Fernet.generate_key().decode())"',
    "TOKEN_ENCRYPTION_OLD_KEYS": "earlier TOKEN_ENCRYPTION_KEY values, comma-separated, "
    "while `switchboard rotate-token-key` re-encrypts",
    "WEB_CONCURRENCY": "how many HTTP processes `switchboard serve` runs, e.g. 2",
    "TOKEN_ROTATION_EXPIRATION_MINUTES": "refresh rotating Slack tokens this many minutes "
    "before they expire (default 120)",
    "SHUTDOWN_GRACE_SECONDS": "seconds a stopping process finishes what is in hand, e.g. 8",
    "RETENTION_DAYS": "days delivered deliveries and seen Slack events are kept, at least 1",
}

# Where settings come from: the environment, then `.env`.
SOURCES = SettingsConfigDict(
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    case_sensitive=False,
    env_ignore_empty=True,  # `FRONT_APP_SECRET=` left blank means not set
)

_PLACEHOLDERS = {"changeme", "change-me", "xxx", "your-secret", "secret", "todo"}


class Settings(BaseSettings):
    model_config = SOURCES

    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    front_app_uid: str | None = None
    front_app_secret: SecretStr | None = None
    front_api_token: SecretStr | None = None
    front_api_url: str = "https://api2.frontapp.com"

    database_url: str = DEFAULT_DATABASE_URL
    port: int = Field(default=3000, ge=1, le=65535)
    public_url: str | None = None
    default_phone_region: str = "US"

    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_max_age_hours: float = Field(default=24.0, gt=0)
    flush_interval_seconds: float = Field(default=2.0, gt=0)
    flush_concurrency: int = Field(default=8, ge=1, le=256)
    # A process that dies mid-send leaves its rows to others once this has passed.
    outbox_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_backoff_seconds: float = Field(default=2.0, gt=0)
    # On SIGTERM: how long in-flight requests (HTTP and Front) may take to finish.
    shutdown_grace_seconds: float = Field(default=8.0, ge=0)
    # Delivered (and discarded) outbox rows and Slack event ids older than this are pruned.
    retention_days: int = Field(default=30, ge=1)

    log_format: Literal["text", "json"] = "text"
    # Unlocks the status page's figures and /metrics; without it they are not served.
    status_token: SecretStr | None = None
    # Bot tokens and refresh tokens are encrypted at rest with it (OAuth installs).
    token_encryption_key: SecretStr | None = None
    token_encryption_old_keys: SecretStr | None = None
    web_concurrency: int = Field(default=1, ge=1, le=64)
    token_rotation_expiration_minutes: int = Field(default=120, ge=1)

    @field_validator("slack_signing_secret", "slack_bot_token", "front_app_secret")
    @classmethod
    def _no_placeholder(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder, not a real secret")
        if v is not None and not v.get_secret_value().strip():
            raise ValueError("is empty")
        return v

    @field_validator("token_encryption_key", "token_encryption_old_keys")
    @classmethod
    def _fernet_keys(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            from cryptography.fernet import Fernet

            for key in v.get_secret_value().split(","):
                try:
                    Fernet(key.strip())
                except ValueError:
                    raise ValueError("is not a Fernet key (32 url-safe base64 bytes)") from None
        return v

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        return check_database_url(v)

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @field_validator("default_phone_region")
    @classmethod
    def _region(cls, v: str) -> str:
        if len(v) != 2 or not v.isalpha():
            raise ValueError("must be a two-letter region code")
        return v.upper()

    @model_validator(mode="after")
    def _required(self) -> Self:
        missing = missing_required(
            {
                "slack_signing_secret": self.slack_signing_secret,
                "slack_bot_token": self.slack_bot_token,
                "slack_client_id": self.slack_client_id,
                "slack_client_secret": self.slack_client_secret,
                "token_encryption_key": self.token_encryption_key,
            }
        )
        if missing:
            raise ValueError("; ".join(f"{var}: is missing" for var in missing))
        return self

    @property
    def signing_secret(self) -> str:
        assert self.slack_signing_secret is not None  # guaranteed by _required
        return self.slack_signing_secret.get_secret_value()

    @property
    def oauth_enabled(self) -> bool:
        return self.slack_bot_token is None and bool(
            self.slack_client_id and self.slack_client_secret
        )

    @property
    def front_configured(self) -> bool:
        return bool(self.front_app_uid and self.front_app_secret) or bool(self.front_api_token)


def missing_required(values: dict[str, Any]) -> list[str]:
    """The variables start-up cannot do without, given what is set."""
    missing: list[str] = []
    if not values.get("slack_signing_secret"):
        missing.append("SLACK_SIGNING_SECRET")
    oauth = values.get("slack_client_id") and values.get("slack_client_secret")
    if not values.get("slack_bot_token") and not oauth:
        missing.append("SLACK_BOT_TOKEN")
    if not values.get("slack_bot_token") and oauth and not values.get("token_encryption_key"):
        # OAuth installs keep every workspace's tokens: never in clear.
        missing.append("TOKEN_ENCRYPTION_KEY")
    return missing


# What the engine can drive (psycopg 3 for PostgreSQL): anything else fails at first use.
_DATABASE_DRIVERS = {"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"}


def check_database_url(url: str) -> str:
    """Refuse, at start-up and in one line, a URL every command would trip on later. The
    reasons never repeat the URL (it may hold a password)."""
    from sqlalchemy.engine import make_url  # here: `switchboard --help` stays quick
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("not a database URL") from None
    except ValueError:  # the only other thing make_url refuses: int(port)
        raise ValueError("the port is not a number") from None
    if parsed.drivername not in _DATABASE_DRIVERS:
        raise ValueError("only sqlite:// and postgresql:// databases are supported")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError("the port is out of range")
    return url


class _Presence(BaseSettings):
    """The same sources, unvalidated: finds every missing variable even when others are bad."""

    model_config = SOURCES
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    token_encryption_key: str | None = None


class FrontCredentials(BaseSettings):
    """Front's credentials alone, from the same sources (the simulator checks requests with
    them; it needs none of the Slack settings)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )
    front_app_uid: str | None = None
    front_app_secret: str | None = None
    front_api_token: str | None = None


class SettingsError(Exception):
    """Settings are missing or malformed; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _line(var: str, what: str) -> str:
    hint = HINTS.get(var)
    return f"{var} {what}" + (f": set it to {hint}." if hint else ".")


def describe_errors(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not loc:  # the model-level check reports missing variables itself
            continue
        var = loc[0].upper()
        if err["type"] == "missing":
            problems.append(_line(var, "is missing"))
        else:
            problems.append(_line(var, f"is invalid ({msg})"))
    return problems


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build settings; tests pass values instead of patching the environment."""
    presence = _Presence(_env_file=env_file, **overrides)
    problems = [_line(var, "is missing") for var in missing_required(presence.model_dump())]
    try:
        settings = Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        problems += describe_errors(exc)
    if problems:
        raise SettingsError(problems)
    return settings
