"""The process tests (crash, lease expiry, shutdown) run this checkout's code even when
another copy of `bot` comes first on the import path of the interpreter running them."""

from __future__ import annotations

import os
from pathlib import Path

from bot import __version__
from tests.delivery.processes import process_env, start_worker
from tests.helpers.processes import ROOT, checkout_env, start_switchboard


def decoy(tmp_path: Path) -> Path:
    """A `bot` package that is not ours: its command line says so and fails."""
    package = tmp_path / "decoy" / "bot"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text("raise SystemExit('decoy bot imported')\n")
    return package.parent


def test_a_switchboard_process_imports_this_checkout_first(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(decoy(tmp_path))}
    assert checkout_env(env)["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)
    proc = start_switchboard(["--version"], env, tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert __version__ in out.decode() and "decoy" not in out.decode()


def test_the_worker_the_crash_tests_start_imports_this_checkout_first(tmp_path: Path) -> None:
    env = process_env("sqlite:///nowhere.db", "http://127.0.0.1:1", "http://127.0.0.1:1/api/")
    env["PYTHONPATH"] = str(decoy(tmp_path))
    worker = start_worker(env, tmp_path)  # its log shows what it imported
    try:
        worker.wait(timeout=3)
    except Exception:
        pass
    finally:
        worker.kill()
        worker.wait()
    logged = "".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
    assert "decoy" not in logged
