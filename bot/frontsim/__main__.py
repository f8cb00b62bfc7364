"""`python -m bot.frontsim`: run the Front simulator without the full CLI.

Credentials default to FRONT_APP_UID, FRONT_APP_SECRET and FRONT_API_TOKEN from the
environment, so secrets need not appear on the command line. Prints one line
`frontsim listening on <url>` once the port is bound (useful with `--port 0`).
"""

from __future__ import annotations

import argparse
import os

from ._server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.frontsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--app-uid", default=os.environ.get("FRONT_APP_UID"))
    parser.add_argument("--app-secret", default=os.environ.get("FRONT_APP_SECRET"))
    parser.add_argument("--api-token", default=os.environ.get("FRONT_API_TOKEN"))
    parser.add_argument("--rate-limit-per-minute", type=int, default=None)
    parser.add_argument("--retry-after-unit", choices=["s", "ms"], default="s")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    run(
        args.host,
        args.port,
        args.app_uid,
        args.app_secret,
        args.api_token,
        rate_limit_per_minute=args.rate_limit_per_minute,
        retry_after_unit=args.retry_after_unit,
        error_rate=args.error_rate,
        latency_ms=args.latency_ms,
        seed=args.seed,
        log_level=args.log_level,
        on_listening=lambda url: print(f"frontsim listening on {url}", flush=True),
    )


if __name__ == "__main__":
    main()
