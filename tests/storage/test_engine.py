from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from storage import migrate
from storage.engine import make_engine, normalise_url, session_scope
from storage.models import ChannelLink, Workspace


def test_sqlite_file_uses_wal_busy_timeout_and_foreign_keys(tmp_sqlite_url: str) -> None:
    engine = make_engine(tmp_sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_postgres_urls_use_psycopg() -> None:
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_session_scope_commits(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Workspace(team_id="T1", team_name="Acme"))
    with session_scope(engine, readonly=True) as session:
        ws = session.get(Workspace, "T1")
        assert ws is not None and ws.team_name == "Acme"
        assert ws.created_at.tzinfo is not None


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Workspace(team_id="T2"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine, readonly=True) as session:
        assert session.get(Workspace, "T2") is None


def test_channel_link_is_unique_per_slack_channel(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(ChannelLink(team_id="T1", slack_channel_id="C1", front_channel_id="cha_1"))
    with pytest.raises(Exception, match="(?i)unique|duplicate"), session_scope(engine) as session:
        session.add(ChannelLink(team_id="T1", slack_channel_id="C1", front_channel_id="cha_2"))
    with session_scope(engine, readonly=True) as session:
        links = session.exec(select(ChannelLink)).all()
        assert [link.front_channel_id for link in links] == ["cha_1"]


def test_sqlite_writers_queue_instead_of_failing(tmp_sqlite_url: str) -> None:
    # BEGIN IMMEDIATE + busy timeout: read-then-write units from many threads all land.
    engine = make_engine(tmp_sqlite_url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        session.add(Workspace(team_id="T1", team_name="0"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with session_scope(engine) as session:
                    ws = session.get(Workspace, "T1")
                    assert ws is not None
                    ws.team_name = str(int(ws.team_name or "0") + 1)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT team_name FROM workspace")).scalar() == "80"
    engine.dispose()
