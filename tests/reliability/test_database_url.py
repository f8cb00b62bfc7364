"""A bad DATABASE_URL is one line and exit 2 in every command; a database that cannot be
reached is one line and exit 1; neither is a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from tests.helpers.fake_slack import BOT_TOKEN
from tests.helpers.slack_signing import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
BAD_URLS = ["postgresql://u:hunter2@h:notaport/x", "mysql://u:hunter2@h/x", "not a url"]
COMMANDS = [["migrate"], ["doctor"], ["outbox", "list"]]
UNREACHABLE = "postgresql://nobody:hunter2@127.0.0.1:1/none"


def run_all(commands: list[list[str]], urls: list[str], cwd: Path) -> list[tuple[str, ...]]:
    """Each command with each URL, as a deployment runs them (this checkout's code, cwd
    without .env), all at once; returns (command, url, exit code, stdout + stderr)."""
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(PYTHONPATH=str(ROOT), SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN=BOT_TOKEN)
    started = [
        (
            " ".join(command),
            url,
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", *command],
                env={**env, "DATABASE_URL": url},
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for command in commands
        for url in urls
    ]
    done = []
    for name, url, proc in started:
        out, _ = proc.communicate(timeout=120)
        done.append((name, url, str(proc.returncode), out))
    return done


@pytest.mark.parametrize("url", BAD_URLS)
def test_settings_refuse_a_bad_database_url_in_one_line(url: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(
            env_file=None,
            slack_signing_secret=SIGNING_SECRET,
            slack_bot_token=BOT_TOKEN,
            database_url=url,
        )
    (problem,) = err.value.problems
    assert problem.startswith("DATABASE_URL is invalid (")
    assert ": set it to " in problem and "\n" not in problem
    assert "hunter2" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///switchboard.db",
        "sqlite://",
        "postgresql://u:p@db.example.com:5432/x",
        "postgres://u@h/x",
        "postgresql+psycopg://u@h:6432/x",
    ],
)
def test_settings_take_sqlite_and_postgresql(url: str) -> None:
    s = load_settings(
        env_file=None,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        database_url=url,
    )
    assert s.database_url == url


def test_every_command_says_a_bad_database_url_in_one_line_and_exits_2(tmp_path: Path) -> None:
    for name, url, code, out in run_all(COMMANDS, BAD_URLS, tmp_path):
        lines = out.strip().splitlines()
        assert code == "2", (name, url, out)
        assert len(lines) == 1 and "DATABASE_URL is invalid (" in lines[0], (name, url, out)
        assert "Traceback" not in out and "hunter2" not in out


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    for name, _url, code, out in run_all(COMMANDS, [UNREACHABLE], tmp_path):
        assert code == "1", (name, out)
        assert "Traceback" not in out and "hunter2" not in out, (name, out)
        lines = out.strip().splitlines()
        if name == "doctor":  # a line per check, the database's says what to fix
            assert any(line.startswith("[FAIL] database: cannot connect") for line in lines)
        else:
            assert len(lines) == 1 and lines[0].startswith("switchboard: "), (name, out)
            assert "Connection refused" in lines[0]
