"""The entry point's wiring: everything is assembled here and only here."""

from __future__ import annotations

import asyncio
import logging

from starlette.applications import Starlette

from bot.config import Settings
from bot.runtime import build_runtime
from bot.slack.app import build_bolt_app
from bot.web import create_web_app
from storage import migrate

log = logging.getLogger(__name__)


def build_server_app(settings: Settings, *, run_scheduler: bool = True) -> Starlette:
    runtime = build_runtime(settings)
    # A newcomer never has to know about migrations: serve applies what is pending.
    migrate.upgrade(runtime.engine)
    bolt = build_bolt_app(settings, engine=runtime.engine)
    if run_scheduler:
        log.info("delivery scheduler: not built yet; rows wait in the outbox")
    return create_web_app(runtime, bolt)


def run_worker(settings: Settings) -> None:
    runtime = build_runtime(settings)
    migrate.upgrade(runtime.engine)
    log.warning("switchboard worker: the delivery scheduler is not built yet; nothing to run")
    asyncio.run(asyncio.sleep(0))
