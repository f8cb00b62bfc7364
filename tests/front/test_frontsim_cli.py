"""`switchboard frontsim` and `python -m bot.frontsim`: the same settings from the same
sources (flags, the environment, `.env`), and a first line saying what is checked."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.frontsim import SimConfig, _launch, describe_credentials, read_credentials
from bot.frontsim import __main__ as module_main

from .simulator import make_jwt

ROOT = Path(__file__).resolve().parents[2]
UID = "app_from_dotenv"
SECRET = "dotenv-secret-0123456789abcdef0123456789"
OTHER_SECRET = "environment-secret-0123456789abcdef01234"
TOKEN = "dotenv-api-token-0123456789abcdef"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory and no FRONT_* variables."""
    for name in ("FRONT_APP_UID", "FRONT_APP_SECRET", "FRONT_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_dotenv(where: Path, **values: str) -> None:
    (where / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))


Started = tuple[SimConfig, list[str]]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[SimConfig]:
    """Both commands run up to serving; the config they would serve is kept here."""
    configs: list[SimConfig] = []

    def fake_serve(
        config: SimConfig,
        *,
        host: str,
        port: int,
        log_level: str,
        on_listening: Callable[[str], None] | None,
    ) -> None:
        configs.append(config)
        if on_listening is not None:
            on_listening(f"http://{host}:{port}")

    monkeypatch.setattr(_launch, "serve", fake_serve)
    return configs


def run_switchboard(args: list[str], configs: list[SimConfig]) -> Started:
    result = CliRunner().invoke(cli_app, ["frontsim", *args])
    assert result.exit_code == 0, result.output
    return configs[-1], result.output.splitlines()


def run_module(
    args: list[str], configs: list[SimConfig], capsys: pytest.CaptureFixture[str]
) -> Started:
    module_main.main(args)
    return configs[-1], capsys.readouterr().out.splitlines()


def test_both_commands_are_as_strict_and_limited_as_front_by_default(
    workdir: Path, started: list[SimConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    via_cli, cli_lines = run_switchboard([], started)
    via_module, module_lines = run_module([], started, capsys)
    for config in (via_cli, via_module):
        assert config.enforce_call_lifecycle is True
        assert config.rate_limit_per_minute == 100 and config.rate_limit_burst is None
        assert config.resource_rate_per_second == 5 and config.resource_capacity == 5
        assert config.webhook_url is None
    assert cli_lines[1:] == module_lines[1:]
    assert cli_lines[0].startswith("frontsim listening on http://127.0.0.1:")
    assert cli_lines[2] == (
        "frontsim: strict call lifecycle, 100 requests/minute per company (burst 100), "
        "5 requests/second per channel"
    )


def test_flags_reach_the_simulator(
    workdir: Path, started: list[SimConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    flags = [
        "--lenient",
        "--rate-per-minute",
        "50",
        "--burst",
        "10",
        "--resource-rate-per-second",
        "0",
        "--webhook-url",
        "http://127.0.0.1:3000/front/webhook",
        "--retry-after-unit",
        "ms",
        "--error-rate",
        "0.1",
        "--seed",
        "7",
    ]
    for config, lines in (run_switchboard(flags, started), run_module(flags, started, capsys)):
        assert config.enforce_call_lifecycle is False
        assert (config.rate_limit_per_minute, config.rate_limit_burst) == (50, 10)
        assert config.resource_rate_per_second is None
        assert config.webhook_url == "http://127.0.0.1:3000/front/webhook"
        assert (config.retry_after_unit, config.error_rate, config.seed) == ("ms", 0.1, 7)
        assert "lenient call lifecycle" in lines[2]
        assert "callbacks to http://127.0.0.1:3000/front/webhook" in lines[2]
    # The old flag name still works; 0 turns the company limit off.
    config, lines = run_switchboard(["--rate-limit-per-minute", "0"], started)
    assert config.rate_limit_per_minute is None and "no rate limit per company" in lines[2]


def test_bad_values_are_refused_before_serving(
    workdir: Path, started: list[SimConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    result = CliRunner().invoke(cli_app, ["frontsim", "--error-rate", "3"])
    assert result.exit_code == 2 and "error_rate" in result.output
    result = CliRunner().invoke(cli_app, ["frontsim", "--webhook-url", "example.com/hook"])
    assert result.exit_code == 2 and "webhook_url" in result.output
    with pytest.raises(SystemExit) as info:
        module_main.main(["--rate-per-minute", "-1"])
    assert info.value.code == 2 and "rate limits" in capsys.readouterr().err
    assert started == []


def test_credentials_come_from_dotenv(
    workdir: Path, started: list[SimConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    write_dotenv(workdir, FRONT_APP_UID=UID, FRONT_APP_SECRET=SECRET, FRONT_API_TOKEN=TOKEN)
    for config, lines in (run_switchboard([], started), run_module([], started, capsys)):
        assert (config.app_uid, config.app_secret, config.api_token) == (UID, SECRET, TOKEN)
        assert lines[1] == (
            f"frontsim checks credentials: HS256 JWTs signed with FRONT_APP_SECRET "
            f"(iss {UID}, sub = the channel id) or the FRONT_API_TOKEN bearer token"
        )
        assert not any(SECRET in line or TOKEN in line for line in lines)


def test_the_environment_wins_over_dotenv(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(workdir, FRONT_APP_UID=UID, FRONT_APP_SECRET=SECRET)
    monkeypatch.setenv("FRONT_APP_SECRET", OTHER_SECRET)
    monkeypatch.setenv("FRONT_API_TOKEN", "")  # blank means not set, as for `serve`
    found = read_credentials()
    assert (found.app_uid, found.app_secret, found.api_token) == (UID, OTHER_SECRET, None)


def test_module_flags_win_over_dotenv(
    workdir: Path, started: list[SimConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    write_dotenv(workdir, FRONT_APP_UID=UID, FRONT_APP_SECRET=SECRET)
    config, _ = run_module(["--app-secret", OTHER_SECRET], started, capsys)
    assert (config.app_uid, config.app_secret) == (UID, OTHER_SECRET)


def test_it_says_when_it_accepts_any_bearer_token(
    workdir: Path, started: list[SimConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    for config, lines in (run_switchboard([], started), run_module([], started, capsys)):
        assert config.app_secret is None and config.api_token is None
        assert lines[1] == (
            "frontsim accepts any bearer token: neither FRONT_APP_SECRET nor "
            "FRONT_API_TOKEN is set (environment or ./.env)"
        )


@pytest.mark.parametrize(
    ("config", "line"),
    [
        (
            SimConfig(api_token=TOKEN),
            "frontsim checks credentials: the FRONT_API_TOKEN bearer token",
        ),
        (
            SimConfig(app_secret=SECRET),
            "frontsim checks credentials: HS256 JWTs signed with FRONT_APP_SECRET "
            "(iss not checked, FRONT_APP_UID is not set, sub = the channel id)",
        ),
    ],
)
def test_each_kind_of_credentials_is_named(config: SimConfig, line: str) -> None:
    assert describe_credentials(config) == line


def test_switchboard_frontsim_serves_with_dotenv_credentials(tmp_path: Path) -> None:
    """The real command in its own process: the JWT from .env's secret passes."""
    write_dotenv(tmp_path, FRONT_APP_UID=UID, FRONT_APP_SECRET=SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONT_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "bot.cli", "frontsim", "--port", "0", "--log-level", "warning"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        listening, credentials = proc.stdout.readline(), proc.stdout.readline()
        assert listening.startswith("frontsim listening on http://127.0.0.1:")
        assert f"iss {UID}" in credentials and SECRET not in credentials
        url = listening.split()[-1]
        with httpx.Client(base_url=url) as http:

            def ping(secret: str) -> int:
                token = make_jwt("cha_1", app_uid=UID, secret=secret)
                return http.patch(
                    "/channels/cha_1",
                    json={"status": "ok"},
                    headers={"Authorization": f"Bearer {token}"},
                ).status_code

            assert ping(SECRET) == 204
            assert ping(OTHER_SECRET) == 401
            assert http.get("/_sim/config").json()["enforce_call_lifecycle"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
