"""A real `switchboard serve` process for the stop and crash tests: started (again) on one
port, signed submissions sent to it, and what reached Front and Slack counted."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.runtime import Runtime
from tests.delivery.processes import process_env
from tests.helpers.app import RunningApp
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import free_port, start_serve
from tests.helpers.slack_signing import interactivity_body, signed_headers
from tests.reliability.flows import calls, card_call_id, card_calls, submit_call

FORM = "application/x-www-form-urlencoded"


@dataclass
class Serve:
    """`switchboard serve` (Front flusher and Slack poster inside), restartable."""

    runtime: Runtime
    env: dict[str, str]
    cwd: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app(self) -> RunningApp:
        return RunningApp(self.base_url, self.runtime)

    def start(self) -> None:
        self.starts += 1
        log = open(self.cwd / f"serve-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = start_serve(self.env, self.cwd, self.port, log)

    def signal(self, sig: signal.Signals) -> float:
        """Send `sig`; returns how long the process took to end."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return time.monotonic() - started

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.cwd.glob("serve-*.log"))
        )


def serve_env(runtime: Runtime, front_url: str, fake: FakeSlack, **settings: Any) -> dict[str, str]:
    return process_env(
        runtime.settings.database_url,
        front_url,
        fake.api_url,
        default_phone_region="FR",
        flush_interval_seconds=0.2,
        **settings,
    )


def submit(base_url: str, n: int, timeout: float = 10.0) -> bool:
    """Log call number `n` through the modal; True when the server answered 200 (acked)."""
    body = interactivity_body(submit_call(name=f"Caller {n}", view_id=f"VCRASH{n:05d}"))
    try:
        resp = httpx.post(
            f"{base_url}/slack/events",
            content=body,
            headers=signed_headers(body, content_type=FORM),
            timeout=timeout,
        )
    except httpx.TransportError:
        return False
    return resp.status_code == 200 and resp.text == ""


@dataclass(frozen=True)
class Tally:
    """Where each acknowledged call went: Front's create-call requests and Slack's cards."""

    stored: set[str]
    front: Counter[str]
    cards: Counter[str]

    @property
    def front_duplicates(self) -> int:
        return sum(n - 1 for n in self.front.values())

    @property
    def card_duplicates(self) -> int:
        return sum(n - 1 for n in self.cards.values())


def tally(serve: Serve, sim_requests: list[dict[str, Any]], fake: FakeSlack) -> Tally:
    """Calls by party name ("Caller n"): stored, accepted by Front, posted as a card."""
    names = {c.external_call_id: c.party_name or "" for c in calls(serve.app)}
    front = Counter(
        names.get(r["body"]["external_call_id"], "?")
        for r in sim_requests
        if r["operation"] == "create_call"
    )
    cards = Counter(names.get(card_call_id(a) or "", "?") for a in card_calls(fake))
    return Tally(set(names.values()), front, cards)
