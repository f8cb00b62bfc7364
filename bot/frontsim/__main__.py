"""`python -m bot.frontsim`: the Front simulator without the full CLI, as `switchboard frontsim`.

Credentials come from FRONT_APP_UID, FRONT_APP_SECRET and FRONT_API_TOKEN in the
environment or in `.env` in the current directory (or from the flags below), so secrets
need not appear on the command line. Prints `frontsim listening on <url>` first, once the
port is bound (useful with `--port 0`), then whether credentials are checked.
"""

from __future__ import annotations

import argparse

from ._launch import (
    DEFAULT_RATE_PER_MINUTE,
    DEFAULT_RESOURCE_RATE,
    Credentials,
    command_line_config,
    read_credentials,
    serve_from_command_line,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.frontsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--app-uid", help="default: FRONT_APP_UID (environment or .env)")
    parser.add_argument("--app-secret", help="default: FRONT_APP_SECRET (environment or .env)")
    parser.add_argument("--api-token", help="default: FRONT_API_TOKEN (environment or .env)")
    parser.add_argument(
        "--rate-per-minute",
        "--rate-limit-per-minute",
        type=int,
        default=DEFAULT_RATE_PER_MINUTE,
        help="per company; 0 for no limit (default %(default)s)",
    )
    parser.add_argument("--burst", type=int, default=None, help="default: the per-minute figure")
    parser.add_argument(
        "--resource-rate-per-second",
        type=float,
        default=DEFAULT_RESOURCE_RATE,
        help="per channel; 0 for no limit (default %(default)s)",
    )
    parser.add_argument(
        "--lenient", action="store_true", help="accept call updates Front's lifecycle refuses"
    )
    parser.add_argument("--webhook-url", help="where to send signed callbacks")
    parser.add_argument("--retry-after-unit", choices=["s", "ms"], default="s")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    found = read_credentials()
    credentials = Credentials(
        app_uid=args.app_uid or found.app_uid,
        app_secret=args.app_secret or found.app_secret,
        api_token=args.api_token or found.api_token,
    )
    try:
        config = command_line_config(
            credentials,
            rate_per_minute=args.rate_per_minute,
            burst=args.burst,
            resource_rate=args.resource_rate_per_second,
            lenient=args.lenient,
            webhook_url=args.webhook_url,
            error_rate=args.error_rate,
            latency_ms=args.latency_ms,
            retry_after_unit=args.retry_after_unit,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    serve_from_command_line(config, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
