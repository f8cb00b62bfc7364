"""What a person does in Slack, as signed requests to the running app, and what the
reliability tests read back (the database, the fake Slack's calls)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import col, select

from bot.features.calls.ids import CallModalMeta
from bot.features.calls.lifecycle import Prefill
from bot.features.calls.views import log_call_modal
from storage.engine import session_scope
from storage.models import Call, LoggedMessage, OutboxRow, SlackPost, SlackPostStatus, utcnow
from tests.calls.payloads import call_values
from tests.calls.payloads import view_submission as call_submission
from tests.helpers.app import RunningApp
from tests.helpers.fake_slack import FakeSlack
from tests.messages.payloads import form_values
from tests.messages.payloads import view_submission as message_submission

T = TypeVar("T")

# What a person may type that Slack would read as formatting: a ping to everyone, a
# mention, a link with a label of the typist's choosing.
HOSTILE = "<!channel> <@U0002> <https://evil|y>"
HOSTILE_TOKENS = ("<!channel>", "<@U0002>", "<https://evil")
ESCAPED = "&lt;!channel&gt; &lt;@U0002&gt; &lt;https://evil|y&gt;"


def wait_until(check: Callable[[], T], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll until `check` returns something truthy (work done after the ack, by the
    poster, by another process)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f} s")
        time.sleep(0.02)


def call_view(team_id: str = "T1", channel_id: str = "C1", user_id: str = "U1") -> dict[str, Any]:
    """The log-call modal as /logcall opens it (built by the app's own view function)."""
    meta = CallModalMeta(team_id=team_id, channel_id=channel_id, user_id=user_id)
    return log_call_modal(meta, Prefill(), now=utcnow())


def submit_call(
    *,
    view: dict[str, Any] | None = None,
    name: str | None = "Ada",
    party: str = "+33 6 12 34 56 78",
    view_id: str | None = None,
    user_id: str = "U1",
    team_id: str = "T1",
) -> dict[str, Any]:
    """A signed submission of the log-call modal; returns the payload sent (to replay it)."""
    shown = view or call_view()
    payload = call_submission(
        shown, call_values(party=party, name=name, agent=user_id), user_id=user_id, team_id=team_id
    )
    payload["view"]["id"] = view_id or f"V{time.monotonic_ns()}"
    return payload


def open_logmsg(app: RunningApp, fake: FakeSlack, channel_id: str = "C1") -> dict[str, Any]:
    before = len(fake.called("views.open"))
    assert app.command("/logmsg", channel_id=channel_id).status_code == 200
    view: dict[str, Any] = fake.wait_for("views.open", before + 1)[-1]["view"]
    return view


def message_payload(
    form: dict[str, Any], *, user_id: str = "U1", team: str = "T1", **values: Any
) -> dict[str, Any]:
    values.setdefault("handle", "+33 6 12 34 56 78")
    return message_submission(form, form_values(**values), user_id=user_id, team=team)


def calls(app: RunningApp) -> list[Call]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(Call).order_by(col(Call.id))))


def messages(app: RunningApp) -> list[LoggedMessage]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        return list(s.exec(select(LoggedMessage).order_by(col(LoggedMessage.id))))


def outbox(app: RunningApp, operation: str | None = None) -> list[OutboxRow]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        query = select(OutboxRow).order_by(col(OutboxRow.id))
        if operation:
            query = query.where(OutboxRow.operation == operation)
        return list(s.exec(query))


def posts(app: RunningApp, kind: str | None = None) -> list[SlackPost]:
    with session_scope(app.runtime.engine, readonly=True) as s:
        query = select(SlackPost).order_by(col(SlackPost.id))
        if kind:
            query = query.where(SlackPost.kind == kind)
        return list(s.exec(query))


def poke(app: RunningApp) -> None:
    """The clock, moved on: every post waiting for its retry is due now (instead of the
    test waiting out a backoff or a Retry-After); the poster is woken."""
    with session_scope(app.runtime.engine) as s:
        s.execute(
            update(SlackPost)
            .where(col(SlackPost.status) == SlackPostStatus.pending)
            .values(next_attempt_at=utcnow())
        )
    app.runtime.wake()


def card_calls(fake: FakeSlack, method: str = "chat.postMessage") -> list[dict[str, Any]]:
    """Answered calls of `method` that carry a call card (its buttons name the call)."""
    return [a for a in fake.succeeded(method) if card_call_id(a) is not None]


def card_call_id(args: dict[str, Any]) -> str | None:
    """The call a card stands for, read from its buttons' values."""
    for block in args.get("blocks") or []:
        for element in block.get("elements") or []:
            value = element.get("value") if isinstance(element, dict) else None
            if isinstance(value, str) and value.startswith("{"):
                found = json.loads(value).get("external_call_id")
                if found:
                    return str(found)
    return None


def strings(value: Any) -> list[str]:
    """Every string in a JSON value (blocks), keys left out."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []
