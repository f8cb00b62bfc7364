"""The whole app on a real server: signed Slack requests in, fake Slack and Front out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.delivery.runner import build_scheduler
from bot.runtime import Runtime
from bot.server import build_slack_app, delivery_hooks, slack_poster
from bot.web import create_web_app
from storage import migrate
from storage.engine import make_engine
from tests.helpers.server import serve_in_thread
from tests.helpers.slack_signing import FORM, command_body, interactivity_body, signed_headers


@dataclass
class RunningApp:
    base_url: str
    runtime: Runtime

    def post(self, body: str, content_type: str = FORM, **sign: int) -> httpx.Response:
        headers = signed_headers(body, content_type=content_type, **sign)
        return httpx.post(f"{self.base_url}/slack/events", content=body, headers=headers)

    def command(self, command: str, text: str = "", **kw: str) -> httpx.Response:
        return self.post(command_body(command, text, **kw))

    def interact(self, payload: dict[str, object]) -> httpx.Response:
        return self.post(interactivity_body(payload))


@contextmanager
def running_app(settings: Settings, *, migrate_db: bool = True) -> Iterator[RunningApp]:
    runtime = Runtime(settings=settings, engine=make_engine(settings.database_url))
    if migrate_db:  # as `serve` does; a no-op on a migrated database
        migrate.upgrade(runtime.engine)
    # As `serve --no-scheduler`: this process posts to Slack what its listeners stored;
    # tests deliver to Front themselves (tests.helpers.delivery.deliver).
    scheduler = build_scheduler(
        runtime, delivery_hooks(), others=[slack_poster(runtime)], deliver=False
    )
    assert scheduler is not None
    web = create_web_app(
        runtime,
        build_slack_app(runtime),
        on_startup=[scheduler.start],
        on_shutdown=[scheduler.stop],
    )
    try:
        with serve_in_thread(web) as url:
            yield RunningApp(url, runtime)
    finally:
        runtime.engine.dispose()
