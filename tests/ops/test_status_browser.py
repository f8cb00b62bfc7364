"""The status page in a real headless browser (Debian's chromium, driven by Playwright):
it renders, the login form shows the figures, and a screenshot is saved.

Skips, saying why, where no browser can be started. Screenshots go to the pytest tmp dir,
or to SWITCHBOARD_SCREENSHOT_DIR when set (docs/status-page.png comes from there).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_KEY
from tests.helpers.app import running_app
from tests.helpers.fake_slack import FakeSlack
from tests.ops.test_status_page import STATUS_TOKEN, _seed, _settings

CHROMIUM = os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser(playwright: Any) -> Any:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        reason = f"no browser: {CHROMIUM} is missing (apt-get install chromium)"
        print(reason)
        pytest.skip(reason)
    try:
        return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=30_000)
    except Exception as exc:
        reason = f"the browser would not start: {type(exc).__name__}: {str(exc)[:200]}"
        print(reason)
        pytest.skip(reason)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_status_page_in_a_headless_browser(
    database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    out = Path(os.environ.get("SWITCHBOARD_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    _seed(database_url)
    settings = _settings(
        database_url,
        fake_slack,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret-1",
        token_encryption_key=TEST_KEY,
        status_token=STATUS_TOKEN,
    )
    with running_app(settings) as app, sync_api.sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(app.base_url + "/")
            assert page.title() == "Switchboard status"
            assert page.get_by_role("link", name="Add to Slack").get_attribute("href") == (
                "/slack/install"
            )
            assert "Oldest still to deliver" not in page.content()
            page.screenshot(path=str(out / "status-page-locked.png"), full_page=True)

            page.get_by_label("Status token").fill("wrong")
            page.get_by_role("button", name="Show figures").click()
            page.wait_for_load_state()
            assert page.get_by_text("That token is not right.").is_visible()

            page.get_by_label("Status token").fill(STATUS_TOKEN)
            page.get_by_role("button", name="Show figures").click()
            page.wait_for_load_state()
            assert page.get_by_text("Oldest still to deliver").is_visible()
            assert page.get_by_text("Paused workspaces").is_visible()
            assert page.locator("#urls code").first.inner_text().endswith("/slack/events")
            shot = out / "status-page.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
            assert shot.stat().st_size > 10_000

            page.get_by_role("button", name="Hide figures").click()
            page.wait_for_load_state()
            assert "Oldest still to deliver" not in page.content()
        finally:
            browser.close()
