"""Steps the calls' end-to-end tests share: log a call through the modal, read what was
stored and queued, find the card as Slack last saw it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import col, select

from storage.engine import session_scope
from storage.models import Call, OutboxRow
from tests.calls.payloads import buttons, call_values, view_submission
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import FakeSlack

T = TypeVar("T")
STARTED = 1764000000  # 2025-11-24T16:00:00Z, as the datetimepicker sends it (seconds)


def wait_until(fn: Callable[[], T], timeout: float = 15.0) -> T:
    """Poll `fn` until it returns something truthy (listeners run after the ack)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            assert value, "timed out waiting"
            return value
        time.sleep(0.01)


def outbox(app: RunningApp, operation: str | None = None) -> list[OutboxRow]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        query = select(OutboxRow).order_by(col(OutboxRow.id))
        if operation:
            query = query.where(OutboxRow.operation == operation)
        return list(s.exec(query))


def all_calls(app: RunningApp) -> list[Call]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(Call).order_by(col(Call.id))))


def open_logcall(app: RunningApp, fake: FakeSlack, text: str = "") -> dict[str, Any]:
    before = len(fake.called("views.open"))
    resp = app.command("/logcall", text, response_url=f"{fake.base_url}/respond/logcall")
    assert resp.status_code == 200
    view: dict[str, Any] = fake.wait_for("views.open", before + 1)[-1]["view"]
    return view


def log_call(app: RunningApp, fake: FakeSlack, **values: Any) -> tuple[Call, dict[str, Any]]:
    """Log a call through the modal; (the stored call, its card as posted)."""
    view = open_logcall(app, fake)
    values.setdefault("started", STARTED)
    count = len(all_calls(app))
    resp = app.interact(view_submission(view, call_values(**values)))
    assert resp.status_code == 200 and resp.text == ""
    assert len(all_calls(app)) == count + 1  # stored before the ack
    settle(app.runtime)  # its card is posted from the database
    call = all_calls(app)[count]
    posted = fake.wait_for("chat.postMessage", count + 1)[count]
    return call, {"ts": call.card_ts, "blocks": posted["blocks"], "text": posted["text"]}


def latest_card(fake: FakeSlack, ts: str) -> dict[str, Any]:
    updates = [u for u in fake.called("chat.update") if u["ts"] == ts]
    assert updates, f"card {ts} was never updated"
    return {"ts": ts, "blocks": updates[-1]["blocks"], "text": updates[-1]["text"]}


def status_buttons(card: dict[str, Any]) -> list[str]:
    return [b.split(":", 1)[1] for b in buttons(card["blocks"]) if b.startswith("call_status:")]
