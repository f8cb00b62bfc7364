"""`switchboard doctor`: one line per check, each saying what to fix.

It changes nothing: a SQLite file that does not exist yet is not created (serve creates
and migrates it), and Front's credentials are tried with a request Front refuses before
it could change anything (an empty body, which is invalid: 400 means the credentials
passed, 401 that they did not).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from alembic.script import ScriptDirectory
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.config import Settings, SettingsError, load_settings
from bot.front import auth_from_settings
from bot.ops.health import database_state
from bot.ops.probes import network_cause
from bot.slack.oauth import BOT_SCOPES
from storage import migrate
from storage.engine import make_engine, normalise_url, session_scope
from storage.models import ChannelLink
from storage.slack_oauth import TokenCipher, TokenKeyError, bots

TIMEOUT_SECONDS = 10.0
MAKE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def run_checks(settings: Settings | None = None) -> list[Check]:
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as exc:
            checks = [Check("settings", False, p) for p in exc.problems]
            if any(p.startswith("TOKEN_ENCRYPTION_KEY") for p in exc.problems):
                checks.append(Check("token encryption", False, f"make a key with: {MAKE_KEY}"))
            return checks
    checks = [Check("settings", True, "every required variable is set")]
    checks.append(_front_settings(settings))
    database, engine = _database(settings)
    checks.extend(database)
    try:
        checks.extend(_slack(settings, engine))
        checks.append(_front_credentials(settings, engine))
    finally:
        if engine is not None:
            engine.dispose()
    return checks


def _front_settings(settings: Settings) -> Check:
    if settings.front_app_uid and settings.front_app_secret:
        return Check("front credentials", True, f"app {settings.front_app_uid} (signed JWTs)")
    if settings.front_api_token:
        return Check("front credentials", True, "API token (fallback)")
    return Check(
        "front credentials",
        False,
        "set FRONT_APP_UID and FRONT_APP_SECRET (or FRONT_API_TOKEN); until then "
        "deliveries wait in the outbox",
    )


def _missing_sqlite_file(url: str) -> Path | None:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def pending_count(current: tuple[str, ...]) -> int:
    """How many migrations lie between the database's revision and the code's head."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    lower = current[0] if current else "base"
    return sum(1 for _ in script.iterate_revisions("heads", lower))


def _database(settings: Settings) -> tuple[list[Check], Engine | None]:
    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None:
        # Connecting would create the file: say what serve will do instead.
        return [
            Check("database", True, f"sqlite file {missing} does not exist yet"),
            Check("migrations", True, "the database will be created and migrated by serve"),
        ], None
    engine = make_engine(settings.database_url)
    state = database_state(engine)
    if not state.reachable:
        engine.dispose()
        return [
            Check(
                "database",
                False,
                f"cannot connect ({state.error}): check DATABASE_URL and that the server "
                "is running",
            )
        ], None
    checks = [Check("database", True, f"{state.dialect} reachable")]
    if not state.pending:
        checks.append(Check("migrations", True, f"at {', '.join(state.heads)}"))
    else:
        n = pending_count(state.current)
        at = ", ".join(state.current) or "empty"
        checks.append(
            Check(
                "migrations",
                True,
                f"{n} migration{'s' if n != 1 else ''} pending (database at {at}, code at "
                f"{', '.join(state.heads)}): serve applies them, or run `switchboard migrate`",
            )
        )
    return checks, engine


def _scopes(granted: set[str]) -> Check:
    wanted = set(BOT_SCOPES)
    missing, extra = sorted(wanted - granted), sorted(granted - wanted)
    if not missing and not extra:
        return Check("slack scopes", True, "the bot has exactly the manifest's scopes")
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)} (reinstall the app after updating it)")
    if extra:
        parts.append(f"not needed: {', '.join(extra)}")
    return Check("slack scopes", not missing, "; ".join(parts))


def _slack(settings: Settings, engine: Engine | None) -> list[Check]:
    if settings.slack_bot_token is None:
        return _oauth_installs(settings, engine)
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=int(TIMEOUT_SECONDS),
    )
    try:
        resp = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error")
        return [Check("slack", False, f"auth.test failed ({error}): check SLACK_BOT_TOKEN")]
    except Exception as exc:
        return [
            Check("slack", False, f"cannot reach {settings.slack_api_url} ({network_cause(exc)})")
        ]
    checks = [Check("slack", True, f"bot @{resp.get('user')} in workspace {resp.get('team')}")]
    header = resp.headers.get("x-oauth-scopes") or resp.headers.get("X-OAuth-Scopes")
    if header is None:
        checks.append(Check("slack scopes", True, "Slack did not say which scopes were granted"))
    else:
        checks.append(_scopes({s.strip() for s in str(header).split(",") if s.strip()}))
    return checks


def _oauth_installs(settings: Settings, engine: Engine | None) -> list[Check]:
    checks = [Check("slack", True, "OAuth installs: each workspace's token is used as it comes")]
    if engine is None or settings.token_encryption_key is None:
        return checks
    old = settings.token_encryption_old_keys
    cipher = TokenCipher.from_keys(
        settings.token_encryption_key.get_secret_value(), old.get_secret_value() if old else None
    )
    with engine.connect() as conn:
        rows = conn.execute(
            bots.select().where(bots.c.client_id == settings.slack_client_id)
        ).mappings()
        found = [(r["team_id"], r["bot_token"], r["bot_scopes"]) for r in rows]
    try:
        for _team, token, _scopes_granted in found:
            cipher.decrypt(token)
    except TokenKeyError as exc:
        checks.append(Check("token encryption", False, str(exc)))
        return checks
    checks.append(
        Check("token encryption", True, f"{len(found)} stored bot token(s) decrypt with the key")
    )
    for team, _token, granted in found[:20]:
        scope = _scopes({s for s in (granted or "").split(",") if s})
        checks.append(Check(f"slack scopes ({team})", scope.ok, scope.detail))
    return checks


def _first_channel(engine: Engine | None) -> str | None:
    if engine is None:
        return None
    with session_scope(engine, readonly=True) as session:
        return session.exec(
            select(ChannelLink.front_channel_id).order_by(col(ChannelLink.id)).limit(1)
        ).first()


def _front_credentials(settings: Settings, engine: Engine | None) -> Check:
    name = "front sign-in"
    if not settings.front_configured:
        return Check(name, False, "no Front credentials to try")
    channel = _first_channel(engine)
    if channel is None:
        return Check(
            name,
            True,
            "cannot check yet: no channel is linked (after `/switchboard connect`, run "
            "doctor again)",
        )
    auth = auth_from_settings(
        settings.front_app_uid, settings.front_app_secret, settings.front_api_token
    )
    url = (
        settings.front_api_url.rstrip("/") + f"/channels/{quote(channel, safe='')}/inbound_messages"
    )
    try:
        resp = httpx.post(
            url,
            json={},
            headers={"Authorization": auth.authorization(channel)},
            timeout=TIMEOUT_SECONDS,
        )
    except Exception as exc:
        return Check(name, False, f"cannot reach {settings.front_api_url} ({network_cause(exc)})")
    status = resp.status_code
    if status in (400, 422):
        return Check(name, True, f"Front accepts the credentials (tried on channel {channel})")
    if status in (401, 403):
        return Check(
            name,
            False,
            f"Front refused the credentials (HTTP {status}) on channel {channel}: check "
            "FRONT_APP_UID and FRONT_APP_SECRET (or FRONT_API_TOKEN)",
        )
    if status == 404:
        return Check(name, False, f"Front does not know channel {channel} (HTTP 404)")
    if status == 429:
        return Check(name, True, "Front is rate limiting right now: could not tell; try later")
    return Check(name, False, f"Front answered HTTP {status}: try again later")
