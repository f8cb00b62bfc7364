"""The `switchboard` command line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bot.config import Settings, SettingsError, load_settings
from bot.delivery.cli import app as outbox_app

if TYPE_CHECKING:
    from bot.delivery.hooks import DeliveryHooks
    from bot.runtime import Runtime

app = typer.Typer(
    name="switchboard",
    help="Log phone calls and customer conversations from Slack into Front.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(lines: list[str] | str, code: int = 2) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(f"switchboard: {line}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(exc.problems)


class Wiring:
    """What subcommands that act on the database need (`ctx.obj`), built when first asked:
    `switchboard frontsim` never needs Slack settings."""

    def runtime(self) -> Runtime:
        from bot.runtime import build_runtime

        return build_runtime(settings_or_exit())

    def hooks(self) -> DeliveryHooks:
        from bot.server import delivery_hooks

        return delivery_hooks()


def _checked_level(level: str) -> str:
    from bot.ops.logs import check_level

    try:
        return check_level(level)
    except ValueError as exc:
        fail(str(exc))


def _logging(level: str, settings: Settings) -> None:
    from bot.ops.logs import setup_logging

    setup_logging(level, settings.log_format)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: $PORT, else 3000).")
    ] = None,
    scheduler: Annotated[
        bool, typer.Option(help="Run the delivery scheduler in this process too.")
    ] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="HTTP processes (default: $WEB_CONCURRENCY, else 1). With more than one, "
            "one more process delivers.",
        ),
    ] = None,
) -> None:
    """Run the HTTP server for Slack (and the delivery scheduler, unless --no-scheduler)."""
    level = _checked_level(log_level)
    settings = settings_or_exit()
    _logging(level, settings)
    count = workers or settings.web_concurrency
    if count > 1:
        from bot.workers import supervise

        raise typer.Exit(
            supervise(
                settings,
                host=host,
                port=port or settings.port,
                workers=count,
                level=level,
                deliver=scheduler,
            )
        )
    from bot.server import build_server_app, run_http

    web = build_server_app(settings, run_scheduler=scheduler)
    # log_config=None inside run_http: uvicorn's loggers keep ours (one format, JSON too).
    grace = settings.shutdown_grace_seconds
    run_http(web, host=host, port=port or settings.port, log_level=level, grace=grace)


@app.command()
def worker(
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run only the delivery scheduler (to scale deliveries out beside `serve`)."""
    from bot.server import run_worker

    level = _checked_level(log_level)
    settings = settings_or_exit()
    _logging(level, settings)
    run_worker(settings)


@app.command()
def migrate() -> None:
    """Apply pending database migrations (`serve` also does this on start)."""
    from storage import migrate as migrations
    from storage.engine import describe_error, make_engine

    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    try:
        migrations.upgrade(engine)
    except Exception as exc:
        fail(f"migration failed: {describe_error(exc)}", 1)
    typer.echo(f"database is at revision {', '.join(migrations.current_revisions(engine))}")


@app.command()
def doctor(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the results as one JSON object.")
    ] = False,
) -> None:
    """Check each setting, the database and its migrations, Slack and Front; say what to fix."""
    import json

    from bot.doctor import run_checks

    results = run_checks()
    ok = all(c.ok for c in results)
    if as_json:
        typer.echo(json.dumps({"ok": ok, "checks": [c.as_dict() for c in results]}, indent=2))
    else:
        for check in results:
            mark = "ok  " if check.ok else "FAIL"
            typer.echo(f"[{mark}] {check.name}: {check.detail}")
    if not ok:
        # Missing or malformed settings exit 2, as in every other command.
        raise typer.Exit(2 if any(c.name == "settings" for c in results if not c.ok) else 1)


@app.command("rotate-token-key")
def rotate_token_key(
    old_key: Annotated[
        list[str] | None,
        typer.Option(
            "--old-key",
            help="A key tokens were saved with (repeatable); TOKEN_ENCRYPTION_OLD_KEYS too.",
        ),
    ] = None,
) -> None:
    """Re-encrypt every stored Slack token with TOKEN_ENCRYPTION_KEY (after changing it).

    Set TOKEN_ENCRYPTION_KEY to the new key and give the old one with --old-key. Tokens
    saved in clear (before encryption) are encrypted too. Until this has run, serve reads
    tokens with the old key when it is in TOKEN_ENCRYPTION_OLD_KEYS.
    """
    from cryptography.fernet import Fernet

    from storage.engine import make_engine
    from storage.slack_oauth import TokenCipher, TokenKeyError, reencrypt_tokens

    settings = settings_or_exit()
    if settings.token_encryption_key is None:
        fail("TOKEN_ENCRYPTION_KEY is not set: set it to the new key first.")
    olds = list(old_key or [])
    if settings.token_encryption_old_keys is not None:
        olds += settings.token_encryption_old_keys.get_secret_value().split(",")
    for key in olds:
        try:
            Fernet(key.strip().encode())
        except ValueError:
            fail("--old-key is not a Fernet key (32 url-safe base64 bytes).")
    cipher = TokenCipher([settings.token_encryption_key.get_secret_value(), *olds])
    engine = make_engine(settings.database_url)
    try:
        count = reencrypt_tokens(engine, cipher)
    except TokenKeyError as exc:
        fail(f"{exc}; nothing was changed.", 1)
    finally:
        engine.dispose()
    typer.echo(f"{count} token(s) now encrypted with TOKEN_ENCRYPTION_KEY; the old keys can go.")


@app.command()
def frontsim(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8025,
    rate_per_minute: Annotated[
        int,
        typer.Option(
            "--rate-per-minute",
            "--rate-limit-per-minute",
            help="Requests a minute per Front company before 429 (0: no limit).",
        ),
    ] = 100,
    burst: Annotated[
        int | None,
        typer.Option(help="Requests a company may send at once [default: the per-minute figure]."),
    ] = None,
    resource_rate_per_second: Annotated[
        float, typer.Option(help="Requests a second per channel before 429 (0: no limit).")
    ] = 5.0,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Accept call updates Front's lifecycle refuses.")
    ] = False,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where to send signed callbacks (see /_sim/reply).")
    ] = None,
    error_rate: Annotated[float, typer.Option(help="Share of requests answered 5xx (0..1).")] = 0.0,
    latency_ms: Annotated[float, typer.Option(help="Delay added to every answer.")] = 0.0,
    retry_after_unit: Annotated[
        str, typer.Option(help="Unit of retry-after on 429: s or ms.")
    ] = "s",
    seed: Annotated[int, typer.Option(help="Seed of the injected faults.")] = 0,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Run a local Front Channel API simulator, as strict as Front (auth, bodies, call
    lifecycle, rate limits per company and per channel).

    It reads FRONT_APP_UID / FRONT_APP_SECRET (or FRONT_API_TOKEN) from the environment or
    from .env in the current directory to check the requests' credentials; with none set
    it accepts any bearer token, and says so at start.
    """
    from bot.frontsim import command_line_config, read_credentials, serve_from_command_line

    try:
        config = command_line_config(
            read_credentials(),
            rate_per_minute=rate_per_minute,
            burst=burst,
            resource_rate=resource_rate_per_second,
            lenient=lenient,
            webhook_url=webhook_url,
            error_rate=error_rate,
            latency_ms=latency_ms,
            retry_after_unit=retry_after_unit,
            seed=seed,
        )
    except ValueError as exc:
        fail(str(exc))
    serve_from_command_line(config, host=host, port=port, log_level=log_level, echo=typer.echo)


app.add_typer(outbox_app, name="outbox")


def _print_version(value: bool) -> None:
    if value:
        from bot import __version__

        typer.echo(f"switchboard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Log phone calls and customer conversations from Slack into Front."""
    ctx.obj = Wiring()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError  # loaded by now if it is one

        from storage.engine import describe_error

        if not isinstance(exc, DBAPIError):
            raise
        typer.echo(
            f"switchboard: cannot use the database ({describe_error(exc)}): check DATABASE_URL "
            "and that the server is running",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
