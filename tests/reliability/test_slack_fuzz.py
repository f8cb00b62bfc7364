"""Finding 7: signed but malformed payloads were answered 500 with a traceback. Generated
requests, shaped like Slack's own so that they reach the listeners, are sent signed to the
running app: none is answered 500 or more, and nothing is logged with a traceback.

`SWITCHBOARD_FUZZ_EXAMPLES` sets how many (default 1,000); derandomized, so a CI run
is the same every time."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from bot.frontsim import running_simulator
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import running_fake_slack
from tests.helpers.slack_signing import signed_headers
from tests.reliability.authz import World, populate
from tests.reliability.conftest import live_app
from tests.reliability.flows import posts
from tests.reliability.slack_strategies import Request, slack_requests
from tests.reliability.test_authorization import SIM

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "1000"))


@pytest.fixture
def world(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[World]:
    # Logging first, as `serve` sets it up: Bolt copies the root level when it is built.
    caplog.set_level(logging.INFO)
    url = f"sqlite:///{tmp_path / 'switchboard.db'}"
    with running_fake_slack() as fake, running_simulator(SIM) as (front_url, _state):
        with live_app(url, fake, front_url) as app:
            yield populate(app, fake)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    found = []
    for record in caplog.records:
        if record.levelno <= logging.DEBUG or record.name.startswith(("httpx", "httpcore")):
            continue
        text = formatter.format(record)
        if record.exc_info or record.exc_text or "Traceback" in text:
            found.append(text)
    return found


def quiet(w: World, still: float = 0.5, timeout: float = 30.0) -> None:
    """Wait until listeners running after their acks have finished (no Slack call for a
    moment), then until what they queued is posted."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(w.fake.calls)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since > still:
            break
        time.sleep(0.05)
    settle(w.app.runtime)


# The app runs in threads of this process and draws from `random` (retry jitter) while
# examples are being generated: Hypothesis would take that for the strategies' doing.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_generated_signed_requests_never_get_a_5xx_or_a_traceback(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{world.app.base_url}/slack/events"
    answers: dict[int, int] = {}
    refusals: Counter[str] = Counter()  # why the door said 400
    server_errors: list[tuple[int, str]] = []

    with httpx.Client(timeout=30) as client:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is kept
            suppress_health_check=list(HealthCheck),
        )
        @given(slack_requests(world))
        def send(request: Request) -> None:
            body, content_type = request
            headers = signed_headers(body, content_type=content_type)
            try:
                resp = client.post(url, content=body, headers=headers)
                status, text = resp.status_code, resp.text
            except httpx.TransportError as exc:  # the server dropped us: as bad as a 500
                status, text = 599, type(exc).__name__
            answers[status] = answers.get(status, 0) + 1
            if status == 400:
                refusals[text] += 1
            if status >= 500:
                server_errors.append((status, body[:300]))

        send()
    quiet(world)
    sent = sum(answers.values())
    print(f"\n{sent} requests, answers by status: {dict(sorted(answers.items()))}")
    print(f"refused (400) because: {refusals.most_common(8)}")
    assert sent >= EXAMPLES
    assert server_errors == []
    assert tracebacks(caplog) == []
    # The requests reached the listeners, not only Bolt's door.
    assert answers.get(200, 0) >= sent // 3
    assert len(world.fake.calls) > sent // 10
    reached = {c.method for c in world.fake.calls}
    assert {"views.open", "views.update", "chat.postEphemeral", "chat.postMessage"} <= reached
    # Nothing they stored is retried for ever: what Slack or the payload refused is given up.
    assert not [p for p in posts(world.app) if p.status == "pending" and p.attempts > 0]
