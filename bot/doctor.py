"""`switchboard doctor`: one line per check, each saying what to fix."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings, SettingsError, load_settings
from storage import migrate
from storage.engine import make_engine, ping


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings | None = None) -> list[Check]:
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as exc:
            return [Check("settings", False, p) for p in exc.problems]
    checks = [Check("settings", True, "every required variable is set")]
    checks.append(_front_settings(settings))
    checks.extend(_database(settings))
    checks.append(_slack(settings))
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


def _database(settings: Settings) -> list[Check]:
    engine = make_engine(settings.database_url)
    try:
        ping(engine)
    except Exception as exc:
        return [
            Check(
                "database",
                False,
                f"cannot connect ({type(exc).__name__}): check DATABASE_URL and that the "
                "server is running",
            )
        ]
    checks = [Check("database", True, f"{engine.dialect.name} reachable")]
    current, heads = migrate.current_revisions(engine), migrate.head_revisions()
    if set(current) == set(heads):
        checks.append(Check("migrations", True, f"at {', '.join(heads)}"))
    else:
        at = ", ".join(current) or "empty"
        checks.append(
            Check(
                "migrations",
                False,
                f"database at {at}, code at {', '.join(heads)}: run `switchboard migrate`",
            )
        )
    engine.dispose()
    return checks


def _slack(settings: Settings) -> Check:
    if settings.slack_bot_token is None:
        return Check("slack", True, "OAuth installs: tokens are checked per workspace")
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    try:
        resp = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error")
        return Check("slack", False, f"auth.test failed ({error}): check SLACK_BOT_TOKEN")
    except Exception as exc:
        return Check(
            "slack", False, f"cannot reach {settings.slack_api_url} ({type(exc).__name__})"
        )
    return Check("slack", True, f"bot @{resp.get('user')} in workspace {resp.get('team')}")
