"""Front → Slack: signed callbacks to the running app post into the tied Slack thread."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.features.messages.replies import sign
from storage.engine import session_scope
from storage.models import FrontCallback, ThreadLink
from tests.conftest import make_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack

SECRET = "front-app-secret-123"


@pytest.fixture
def app(tmp_sqlite_url: str, fake_slack: FakeSlack) -> Iterator[RunningApp]:
    settings = make_settings(
        database_url=tmp_sqlite_url,
        slack_api_url=fake_slack.api_url,
        front_app_uid="app_1",
        front_app_secret=SECRET,
        public_url="https://sb.example.com",
    )
    with running_app(settings) as running:
        from storage import migrate

        migrate.upgrade(running.runtime.engine)
        with session_scope(running.runtime.engine) as s:
            s.add(
                ThreadLink(
                    team_id="T1",
                    slack_channel_id="C1",
                    thread_ts="100.1",
                    kind="conversation",
                    external_id="conv-1",
                    front_channel_id="cha_1",
                )
            )
        yield running


def _post(
    app: RunningApp, data: dict[str, Any], *, ts: str | None = None, secret: str = SECRET
) -> httpx.Response:
    body = json.dumps(data).encode()
    ts = ts or str(int(time.time()))
    headers = {
        "X-Front-Request-Timestamp": ts,
        "Content-Type": "application/json",
        "X-Front-Signature": sign(secret=secret, timestamp=ts, body=body),
    }
    return httpx.post(f"{app.base_url}/front/webhook", content=body, headers=headers)


MESSAGE = {
    "type": "message",
    "payload": {
        "id": "msg_1",
        "text": "Thanks, we shipped it today.",
        "author": {"first_name": "Grace", "last_name": "Hopper"},
        "attachments": [{"filename": "invoice.pdf", "url": "https://x", "size": 3}],
    },
    "metadata": {"external_conversation_id": "conv-1"},
}


def test_a_reply_from_front_lands_in_the_slack_thread_once(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    first = _post(app, MESSAGE)
    assert first.status_code == 200
    assert first.json() == {
        "type": "success",
        "external_id": "front:msg_1",
        "external_conversation_id": "conv-1",
    }
    (post,) = fake_slack.wait_for("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == ("C1", "100.1")
    assert "*Grace Hopper* replied from Front" in post["text"]
    assert "Thanks, we shipped it today." in post["text"] and "invoice.pdf" in post["text"]
    again = _post(app, MESSAGE)  # Front retrying: same answer, nothing posted twice
    assert again.json() == first.json()
    sentinel = {**MESSAGE, "payload": {**MESSAGE["payload"], "id": "msg_2", "text": "later"}}
    assert _post(app, sentinel).status_code == 200
    posts = fake_slack.wait_for("chat.postMessage", 2)
    assert len(posts) == 2 and "\nlater\n" in posts[1]["text"]


def test_front_text_cannot_ping_the_slack_channel(app: RunningApp, fake_slack: FakeSlack) -> None:
    loud = {**MESSAGE, "payload": {**MESSAGE["payload"], "text": "<!channel> a < b & <@U1>"}}
    assert _post(app, loud).status_code == 200
    (post,) = fake_slack.wait_for("chat.postMessage")
    assert "&lt;!channel&gt; a &lt; b &amp; &lt;@U1&gt;" in post["text"]
    assert "<!channel>" not in post["text"]


def test_millisecond_timestamps_are_accepted(app: RunningApp, fake_slack: FakeSlack) -> None:
    resp = _post(app, {"type": "message_imported", "payload": {}}, ts=str(int(time.time() * 1000)))
    assert resp.status_code == 200 and resp.json() == {}


def test_bad_signature_and_stale_requests_are_refused(app: RunningApp) -> None:
    assert _post(app, MESSAGE, secret="wrong").status_code == 401
    assert _post(app, MESSAGE, ts=str(int(time.time()) - 301)).status_code == 401
    resp = httpx.post(f"{app.base_url}/front/webhook", json=MESSAGE)
    assert resp.status_code == 401


def test_authorization_answers_our_webhook_url(app: RunningApp) -> None:
    resp = _post(app, {"type": "authorization", "payload": {"channel_id": "cha_1"}})
    assert resp.json() == {"type": "success", "webhook_url": "https://sb.example.com/front/webhook"}


def test_unknown_types_are_a_bad_request(app: RunningApp) -> None:
    resp = _post(app, {"type": "surprise", "payload": {}})
    assert resp.status_code == 400
    assert resp.json()["type"] == "bad_request"


def test_delete_route_is_accepted_when_signed(app: RunningApp) -> None:
    ts = str(int(time.time()))
    headers = {
        "X-Front-Request-Timestamp": ts,
        "X-Front-Signature": sign(secret=SECRET, timestamp=ts, body=b""),
    }
    resp = httpx.delete(f"{app.base_url}/front/webhook", headers=headers)
    assert resp.status_code == 200


def _wait_posted(app: RunningApp, front_id: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with session_scope(app.runtime.engine, readonly=True) as s:
            seen = s.get(FrontCallback, front_id)
            if seen is not None and seen.posted_at is not None:
                return
        time.sleep(0.01)
    raise AssertionError(f"{front_id} never marked posted")


def test_a_reply_slack_refused_is_posted_from_the_queue_and_a_repeat_posts_nothing(
    app: RunningApp, fake_slack: FakeSlack
) -> None:
    fake_slack.respond("chat.postMessage", lambda _args: {"ok": False, "error": "fatal_error"})
    assert _post(app, MESSAGE).status_code == 200
    fake_slack.wait_for("chat.postMessage")
    # Front sending it again meanwhile queues nothing more.
    assert _post(app, MESSAGE).json()["external_id"] == "front:msg_1"
    del fake_slack.overrides["chat.postMessage"]
    # Stored with the callback's answer and retried until Slack takes it: Front need not
    # send it again.
    posts = fake_slack.wait_for("chat.postMessage", 2, timeout=15)
    assert "Thanks, we shipped it today." in posts[1]["text"]
    _wait_posted(app, "msg_1")
    # Now that it is in Slack, Front sending the callback again posts nothing.
    again = _post(app, MESSAGE)
    assert again.json()["external_id"] == "front:msg_1"
    sentinel = {**MESSAGE, "payload": {**MESSAGE["payload"], "id": "msg_3", "text": "later"}}
    _post(app, sentinel)
    posts = fake_slack.wait_for("chat.postMessage", 3)
    assert len(posts) == 3 and "\nlater" in posts[2]["text"]
