"""Finding 3: SIGTERM lost submissions Slack had seen acknowledged: the call was stored
after the ack, behind a slow card post, and the stop cut it off. Now a submission is in
the database before its 200; a stop lets posts in flight finish within the grace and
leaves the rest queued, for the next process to post once."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.core import links
from bot.runtime import Runtime
from storage.engine import session_scope
from tests.delivery.conftest import CHANNEL
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import wait_for
from tests.reliability.conftest import Sim
from tests.reliability.flows import card_calls
from tests.reliability.serving import Serve, serve_env, submit, tally

SUBMISSIONS = 50
GRACE = 5.0
POST_LATENCY = 1.0  # each card post: well within the grace, far from done at the stop


def test_acked_submissions_survive_a_sigterm_and_reach_front_and_slack_once(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    with session_scope(runtime.engine) as s:
        links.connect(
            s, team_id="T1", slack_channel_id="C1", front_channel_id=CHANNEL, user_id="U1"
        )
    fake_slack.add_user("U1", name="Ada Admin", email="ada@acme.example")
    fake_slack.slow("chat.postMessage", POST_LATENCY)
    serve = Serve(
        runtime, serve_env(runtime, sim.url, fake_slack, shutdown_grace_seconds=GRACE), tmp_path
    )
    serve.start()
    with ThreadPoolExecutor(4) as pool:
        acked = list(pool.map(lambda n: submit(serve.base_url, n), range(SUBMISSIONS)))
    assert all(acked), f"{acked.count(False)} submissions not acknowledged"
    # Stopped at once, while Slack is still answering card posts (some not even sent).
    answered = sum(1 for c in fake_slack.calls if c.method == "chat.postMessage" and c.answered)
    assert answered < SUBMISSIONS, "every card was posted before the stop: nothing was tested"
    took = serve.signal(signal.SIGTERM)
    assert took < GRACE + 2, f"stopped in {took:.1f} s"
    posted_before = len(card_calls(fake_slack))

    serve.start()
    try:
        names = {f"Caller {n}" for n in range(SUBMISSIONS)}

        def everywhere() -> bool:
            t = tally(serve, sim.state.requests(), fake_slack)
            return set(t.front) >= names and set(t.cards) >= names

        wait_for(everywhere, serve.proc, timeout=90, what="every call in Front and Slack")
    finally:
        serve.signal(signal.SIGTERM)
    t = tally(serve, sim.state.requests(), fake_slack)
    assert t.stored == names
    assert t.front == dict.fromkeys(names, 1), t.front
    assert t.cards == dict.fromkeys(names, 1), t.cards
    assert "Traceback" not in serve.logs()
    print(f"cards answered at the stop: {answered}, sent by then: {posted_before}/{SUBMISSIONS}")
