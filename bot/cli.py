"""The `switchboard` command line."""

from __future__ import annotations

import logging
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


@app.callback()
def _wire(ctx: typer.Context) -> None:
    ctx.obj = Wiring()


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if level.lower() != "debug":
        # APScheduler logs every tick (every FLUSH_INTERVAL_SECONDS) at INFO.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


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
) -> None:
    """Run the HTTP server for Slack (and the delivery scheduler, unless --no-scheduler)."""
    from bot.server import build_server_app, run_http

    _logging(log_level)
    settings = settings_or_exit()
    web = build_server_app(settings, run_scheduler=scheduler)
    port = port or settings.port
    grace = settings.shutdown_grace_seconds
    run_http(web, host=host, port=port, log_level=log_level.lower(), grace=grace)


@app.command()
def worker(
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run only the delivery scheduler (to scale deliveries out beside `serve`)."""
    from bot.server import run_worker

    _logging(log_level)
    run_worker(settings_or_exit())


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
def doctor() -> None:
    """Check each setting, the database and its migrations, Slack and Front; say what to fix."""
    from bot.doctor import run_checks

    results = run_checks()
    for check in results:
        mark = "ok  " if check.ok else "FAIL"
        typer.echo(f"[{mark}] {check.name}: {check.detail}")
    if not all(c.ok for c in results):
        # Missing or malformed settings exit 2, as in every other command.
        raise typer.Exit(2 if any(c.name == "settings" for c in results if not c.ok) else 1)


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
