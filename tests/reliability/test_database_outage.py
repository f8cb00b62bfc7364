"""A database that stops answering: /healthz still answers (503, within 2 s), connections
and statements give up by themselves, and the flusher says so once, not every tick."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.delivery.flusher import Flusher
from bot.runtime import Runtime
from storage.engine import make_engine, ping, session_scope
from storage.models import OutboxRow
from tests.conftest import make_settings
from tests.delivery.conftest import FAST, add_messages
from tests.helpers.app import running_app
from tests.helpers.fake_slack import FakeSlack
from tests.reliability.netfaults import black_hole_proxy, silent_server

# The health check gives up at 1.5 s; 2 s is what it promises, plus room for a busy machine.
HEALTH_BOUND = 2.5
REFUSED = "postgresql://nobody@127.0.0.1:1/none"


def timed_get(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    resp = httpx.get(url, timeout=30)
    return resp, time.monotonic() - started


def test_healthz_is_503_within_2_s_when_the_database_never_answers(
    fake_slack: FakeSlack,
) -> None:
    with silent_server() as server:
        url = f"postgresql://nobody@127.0.0.1:{server.port}/none"
        settings = make_settings(database_url=url, slack_api_url=fake_slack.api_url)
        with running_app(settings, migrate_db=False) as app:
            for _ in range(2):  # the second probe shares the stuck check, no new thread
                resp, took = timed_get(f"{app.base_url}/healthz")
                assert resp.status_code == 503
                assert resp.json()["database"] == "unreachable"
                assert took < HEALTH_BOUND
            server.close()  # lets the stuck check fail, so the server stops at once


def test_healthz_is_503_within_2_s_when_postgresql_black_holes(
    postgres_url: str, fake_slack: FakeSlack
) -> None:
    pg = make_url(postgres_url)
    with black_hole_proxy(pg.host or "127.0.0.1", pg.port or 5432) as proxy:
        via_proxy = pg.set(host="127.0.0.1", port=proxy.port)
        settings = make_settings(
            database_url=via_proxy.render_as_string(hide_password=False),
            slack_api_url=fake_slack.api_url,
        )
        with running_app(settings) as app:
            assert httpx.get(f"{app.base_url}/healthz").status_code == 200
            proxy.black_hole()  # pooled connections and new ones alike
            for _ in range(2):
                resp, took = timed_get(f"{app.base_url}/healthz")
                assert resp.status_code == 503
                assert took < HEALTH_BOUND
            proxy.close()  # lets the stuck check fail, so the server stops at once


def test_a_server_that_never_answers_fails_the_connection_by_itself() -> None:
    with silent_server() as server:
        engine = make_engine(f"postgresql://nobody@127.0.0.1:{server.port}/none")
        failed: list[BaseException] = []

        def connect() -> None:
            try:
                ping(engine)
            except BaseException as exc:
                failed.append(exc)

        worker = threading.Thread(target=connect, daemon=True)
        worker.start()
        worker.join(timeout=45)  # the connect timeout is 5 s: generous
        assert not worker.is_alive(), "still waiting for a server that never answers"
        assert failed and isinstance(failed[0], OperationalError)
        engine.dispose()


def test_postgresql_connections_carry_timeouts_and_keepalives() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    seen: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect")
    def capture(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        seen.update(params)
        raise RuntimeError("captured")

    with pytest.raises(RuntimeError, match="captured"):
        engine.connect()
    assert seen["connect_timeout"] >= 2
    assert seen["keepalives"] == 1 and seen["tcp_user_timeout"] > 0
    assert "statement_timeout=" in seen["options"]
    # The URL's own settings win.
    engine = make_engine(
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=9&options=-c%20work_mem%3D8MB"
    )
    seen.clear()
    event.listen(engine, "do_connect", capture)
    with pytest.raises(RuntimeError):
        engine.connect()
    assert seen["connect_timeout"] == "9"
    assert "work_mem=8MB" in seen["options"] and "statement_timeout=" in seen["options"]


def test_a_statement_over_the_timeout_is_cancelled(postgres_url: str) -> None:
    engine = make_engine(postgres_url, statement_timeout=0.2)
    with pytest.raises(OperationalError) as err, engine.connect() as conn:
        conn.execute(text("SELECT pg_sleep(5)"))
    assert type(err.value.orig).__name__ == "QueryCanceled"
    engine.dispose()
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "30s"
    engine.dispose()


@pytest.mark.anyio
async def test_the_flusher_says_an_outage_once_when_it_starts_and_once_when_it_ends(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = add_messages(runtime, "conv", 2)
    working = runtime.engine
    runtime.engine = make_engine(REFUSED)  # connections refused: the database is down
    flusher = Flusher(runtime, policy=FAST, idle_wait=0.05)
    for _ in range(3):  # three ticks of the scheduler
        await flusher.flush()
    runtime.engine.dispose()
    runtime.engine = working
    await flusher.flush()
    await flusher.aclose()

    ours = [r for r in caplog.records if r.name.startswith("bot.") and r.levelno >= logging.INFO]
    assert [r.levelname for r in ours] == ["ERROR", "WARNING"], [r.getMessage() for r in ours]
    start, end = (r.getMessage() for r in ours)
    assert "OperationalError" in start and "\n" not in start
    assert "again" in end
    assert not [r for r in caplog.records if r.exc_info and r.levelno > logging.DEBUG]
    with session_scope(runtime.engine, readonly=True) as s:
        assert {s.get(OutboxRow, i).status for i in ids} == {"delivered"}  # type: ignore[union-attr]
