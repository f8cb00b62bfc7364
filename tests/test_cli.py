from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack

runner = CliRunner()
SWITCHBOARD = [sys.executable, "-m", "bot.cli"]


def _bare_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "VIRTUAL_ENV", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if k in keep}


def test_serve_with_nothing_set_exits_2_naming_each_variable(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = _bare_env() | {"PYTHONPATH": str(root)}
    proc = subprocess.run(
        [*SWITCHBOARD, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "command", ["serve", "worker", "migrate", "doctor", "frontsim", "rotate-token-key"]
)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_migrate_then_doctor_against_fake_slack(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "doctor-secret-1")
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'doc.db'}")

    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "[ok  ] migrations: the database will be created and migrated by serve" in (
        result.output
    )
    assert not (tmp_path / "doc.db").exists()  # doctor creates nothing
    assert "[FAIL] front credentials" in result.output

    assert runner.invoke(app, ["migrate"]).exit_code == 0
    monkeypatch.setenv("FRONT_API_TOKEN", "front-token-1")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    for line in (
        "[ok  ] settings",
        "[ok  ] database: sqlite reachable",
        "[ok  ] migrations",
        "[ok  ] slack: bot @switchboard in workspace Acme",
        "[ok  ] front credentials",
    ):
        assert line in result.output
    assert fake_slack.called("auth.test")


def test_doctor_reports_a_revoked_slack_token(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "doctor-secret-1")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'doc.db'}")
    result = runner.invoke(app, ["doctor"])
    assert "[FAIL] slack: auth.test failed (invalid_auth): check SLACK_BOT_TOKEN" in result.output
    assert "xoxb-revoked" not in result.output


def test_doctor_with_nothing_set_lists_the_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2  # missing settings exit 2, as in every command
    assert "[FAIL] settings: SLACK_SIGNING_SECRET is missing" in result.output


def test_version_is_the_packages() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"switchboard {version('switchboard')}"


def test_licence_and_changelog_are_there() -> None:
    root = Path(__file__).resolve().parents[1]
    licence = (root / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "Switchboard contributors" in licence
    changelog = (root / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "keepachangelog.com" in changelog
