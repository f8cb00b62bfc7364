"""What the authorization tests share: the rows of one workspace, the listeners the
features register, and how a refusal shows (field errors, a word to the person, a
modal's notice)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from sqlmodel import select

from bot.features.admin import service as admin_service
from bot.runtime import Runtime
from bot.server import build_slack_app
from storage.engine import session_scope
from storage.models import Call, DeliveryAlert, Direction, LoggedMessage, MessageTemplate, OutboxRow
from tests.helpers.app import RunningApp
from tests.helpers.delivery import deliver, settle
from tests.helpers.fake_slack import FakeSlack
from tests.reliability.flows import calls, message_payload, open_logmsg, submit_call, wait_until

# Listener kinds whose registrations are enumerated (events are not actions of a person).
KINDS = ("command", "action", "view", "shortcut")


@dataclass
class World:
    app: RunningApp
    fake: FakeSlack
    call: Call
    message: LoggedMessage
    template_id: int
    alert_id: int
    # Slack calls before this index were set off by earlier tests: not this one's answers.
    since: int = 0

    def calls(self, *methods: str) -> list[dict[str, Any]]:
        with self.fake.lock:
            return [c.args for c in self.fake.calls[self.since :] if c.method in methods]


def _key(kind: str, constraint: Any) -> str:
    if isinstance(constraint, dict):  # {"type": "message_action", "callback_id": …}
        constraint = constraint.get("callback_id") or constraint.get("action_id")
    if isinstance(constraint, re.Pattern):
        return f"{kind}:{constraint.pattern}"
    return f"{kind}:{constraint}"


def registered_listeners(runtime: Runtime) -> set[str]:
    """`kind:id` of every command, action, view and shortcut registered while the app is
    built (as `serve` builds it), read by watching Bolt's own registration methods."""
    found: set[str] = set()
    with pytest.MonkeyPatch.context() as patch:
        for kind in KINDS:
            original = getattr(AsyncApp, kind)

            def spy(
                self: AsyncApp,
                constraints: Any,
                *a: Any,
                _k: str = kind,
                _o: Any = original,
                **kw: Any,
            ) -> Any:
                found.add(_key(_k, constraints))
                return _o(self, constraints, *a, **kw)

            patch.setattr(AsyncApp, kind, spy)
        build_slack_app(runtime)
    return found


def expect_errors(resp: httpx.Response, fragment: str) -> None:
    """The modal stays open with an error saying why (nothing was stored)."""
    assert resp.status_code == 200, resp.text
    answer = resp.json() if resp.content else {}
    assert answer.get("response_action") == "errors", f"accepted: {resp.text!r}"
    assert fragment in json.dumps(answer["errors"]), answer["errors"]


def told(w: World, user: str, fragment: str) -> str:
    """Wait for the word to `user` (ephemeral, or a DM) that says `fragment`."""

    def said() -> str | None:
        for args in w.calls("chat.postEphemeral", "chat.postMessage"):
            to = args.get("user") or args.get("channel")
            if to == user and fragment in str(args.get("text")):
                return str(args["text"])
        return None

    found: str = wait_until(said, timeout=10, what=f"{user} told {fragment!r}")
    return found


def shown(w: World, fragment: str) -> None:
    """Wait for a modal saying `fragment` (opened, or the loading one updated)."""

    def modal() -> bool:
        views = [a.get("view") for a in w.calls("views.open", "views.update")]
        return any(fragment in json.dumps(v) for v in views)

    wait_until(modal, timeout=10, what=f"a modal saying {fragment!r}")


def populate(live: RunningApp, fake_slack: FakeSlack) -> World:
    """T1's rows of every kind: a call with its card, a /logmsg message sent to a customer
    (whose delivery failed, so an alert exists), a template."""
    live.interact(submit_call())
    form = open_logmsg(live, fake_slack)
    live.interact(message_payload(form, direction="outbound", body="Your quote"))
    settle(live.runtime)
    with session_scope(live.runtime.engine) as s:
        admin_service.save_template(
            s, team_id="T1", slack_channel_id="C1", user_id="U1", name="Hi", body="Hi {{name}}"
        )
        row = s.exec(select(OutboxRow).where(OutboxRow.operation == "sync_outbound_message")).one()
        row.payload = {**row.payload, "body": 42}  # Front refuses it: an alert for T1
        s.add(row)
    deliver(live.runtime)
    with session_scope(live.runtime.engine, readonly=True) as s:
        message = s.exec(select(LoggedMessage)).one()
        alert = s.exec(select(DeliveryAlert)).one()
        template_id = s.exec(select(MessageTemplate.id)).one()
    (call,) = calls(live)
    assert call.card_ts and message.card_ts and message.direction == Direction.outbound
    assert template_id is not None and alert.id is not None
    return World(live, fake_slack, call, message, template_id, alert.id)
