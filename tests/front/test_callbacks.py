"""The simulator speaks back: signed callbacks to the app's webhook, as Front sends them.

Against a recording receiver the callbacks are checked byte for byte (the signature with
the app's own `verify_signature`); against the running app, a reply written "in Front"
lands in the Slack thread tied to its conversation.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.features.messages.replies import CallbackRefused, verify_signature
from bot.front import FrontClient, JwtAuth
from bot.frontsim import SimConfig
from storage.engine import session_scope
from storage.models import ThreadLink
from tests.conftest import make_settings
from tests.helpers.app import RunningApp, running_app
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.server import serve_in_thread

from .conftest import Sim
from .simulator import API_TOKEN, APP_SECRET, APP_UID, auth_header, make_jwt, valid_bodies

pytestmark = pytest.mark.anyio

CHANNEL = "cha_cb"
PDF = b"%PDF-1.4 not much of an invoice"


@dataclass
class Receiver:
    """A webhook that records what it is sent and answers `answer`."""

    url: str
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answer: tuple[int, Any] = (200, {"type": "success"})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def last(self) -> tuple[dict[str, str], bytes, dict[str, Any]]:
        with self.lock:
            headers, raw = self.seen[-1]
        data: dict[str, Any] = json.loads(raw)
        return headers, raw, data


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    async def hook(request: Request) -> Response:
        target = box[0]
        raw = await request.body()
        with target.lock:
            target.seen.append((dict(request.headers), raw))
        status, body = target.answer
        if isinstance(body, str):
            return Response(body, status_code=status, media_type="text/plain")
        return JSONResponse(body, status_code=status)

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        box.append(Receiver(f"{url}/hook"))
        yield box[0]


@pytest.fixture
async def http(front_sim: Sim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=front_sim.url, verify=False, timeout=10) as client:
        yield client


@pytest.fixture
def hooked(front_sim: Sim, receiver: Receiver) -> Receiver:
    front_sim.state.configure(webhook_url=receiver.url)
    return receiver


def reply(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel_id": CHANNEL,
        "external_conversation_id": "conv-1",
        "body": "<p>Thanks, we shipped it <b>today</b>.</p>",
        "author_email": "grace@acme.example",
    }
    body.update(changes)
    return body


def pdf_attachment() -> dict[str, str]:
    return {
        "filename": "invoice.pdf",
        "content_type": "application/pdf",
        "content": base64.b64encode(PDF).decode(),
    }


# Against a recording receiver ---------------------------------------------------------


async def test_callbacks_are_signed_as_front_signs(
    http: httpx.AsyncClient, hooked: Receiver
) -> None:
    answer = await http.post("/_sim/authorize", json={"channel_id": CHANNEL})
    assert answer.status_code == 200
    assert answer.json() == {
        "status": 200,
        "body": {"type": "success"},
        "callback": {"type": "authorization", "payload": {"channel_id": CHANNEL}},
    }
    headers, raw, data = hooked.last()
    assert data == {"type": "authorization", "payload": {"channel_id": CHANNEL}}
    assert headers["content-type"] == "application/json"
    timestamp = headers["x-front-request-timestamp"]
    assert abs(int(timestamp) / 1000 - time.time()) < 60  # milliseconds by default
    # The app's own check accepts it; one byte changed and it does not.
    verify_signature(
        secret=APP_SECRET, timestamp=timestamp, signature=headers["x-front-signature"], body=raw
    )
    with pytest.raises(CallbackRefused):
        verify_signature(
            secret=APP_SECRET,
            timestamp=timestamp,
            signature=headers["x-front-signature"],
            body=raw + b" ",
        )


async def test_timestamps_in_seconds_when_configured(
    http: httpx.AsyncClient, front_sim: Sim, hooked: Receiver
) -> None:
    front_sim.state.configure(callback_timestamp_unit="s")
    assert (await http.post("/_sim/delete", json={"channel_id": CHANNEL})).status_code == 200
    headers, raw, data = hooked.last()
    assert data == {"type": "delete", "payload": {"channel_id": CHANNEL}}
    assert abs(int(headers["x-front-request-timestamp"]) - time.time()) < 60
    verify_signature(
        secret=APP_SECRET,
        timestamp=headers["x-front-request-timestamp"],
        signature=headers["x-front-signature"],
        body=raw,
    )


async def test_a_reply_is_a_front_message(
    http: httpx.AsyncClient, front_sim: Sim, hooked: Receiver
) -> None:
    # The app synced the customer's message first: Front knows the conversation's contact.
    async with FrontClient(front_sim.url, JwtAuth(APP_UID, APP_SECRET)) as client:
        inbound = valid_bodies()["sync_inbound_message"]
        inbound["metadata"]["external_conversation_id"] = "conv-1"
        await client.sync_inbound_message(CHANNEL, inbound)
    hooked.answer = (200, {"type": "success", "external_id": "x", "external_conversation_id": "c"})

    answer = await http.post(
        "/_sim/reply",
        json=reply(
            author_first_name="Grace", subject="Re: Invoice", attachments=[pdf_attachment()]
        ),
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200
    _, _, data = hooked.last()
    assert answer.json()["callback"] == data
    assert data["type"] == "message"
    assert data["metadata"]["external_conversation_id"] == "conv-1"
    assert data["metadata"]["external_conversation_ids"] == ["conv-1"]
    message = data["payload"]
    assert message["id"].startswith("msg_")
    assert message["body"] == "<p>Thanks, we shipped it <b>today</b>.</p>"
    assert message["text"] == "Thanks, we shipped it today."
    assert message["subject"] == "Re: Invoice"
    assert message["author"]["email"] == "grace@acme.example"
    assert message["author"]["first_name"] == "Grace" and message["author"]["id"].startswith("tea_")
    assert message["recipients"] == [
        {"handle": "grace@acme.example", "role": "from", "name": "Grace"},
        {"handle": "+33123456789", "role": "to", "name": "Ada"},
    ]
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "invoice.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(PDF)
    assert attachment["url"].startswith(f"{front_sim.url}/download/")

    second = (await http.post("/_sim/reply", json=reply())).json()["callback"]["payload"]
    assert second["id"] != message["id"]  # each reply is a new Front message
    assert second["attachments"] == []
    assert [c["callback"]["type"] for c in front_sim.state.callbacks()] == ["message", "message"]


async def test_an_autoreply_may_come_without_an_id(
    http: httpx.AsyncClient, hooked: Receiver
) -> None:
    answer = await http.post("/_sim/reply", json=reply(autoreply=True, text="Out of office"))
    assert answer.status_code == 200
    _, _, data = hooked.last()
    assert data["type"] == "message_autoreply" and "id" not in data["payload"]
    assert data["payload"]["text"] == "Out of office"


async def test_the_answer_relays_what_the_webhook_said(
    http: httpx.AsyncClient, front_sim: Sim, hooked: Receiver
) -> None:
    hooked.answer = (400, {"type": "bad_request", "message": "nope"})
    answer = await http.post("/_sim/authorize", json={"channel_id": CHANNEL})
    assert answer.status_code == 200
    assert answer.json()["status"] == 400
    assert answer.json()["body"] == {"type": "bad_request", "message": "nope"}
    hooked.answer = (502, "upstream down")
    answer = await http.post("/_sim/authorize", json={"channel_id": CHANNEL})
    assert answer.json()["status"] == 502 and answer.json()["body"] is None
    assert answer.json()["text"] == "upstream down"
    assert [c["status"] for c in (await http.get("/_sim/callbacks")).json()] == [400, 502]


async def test_attachments_are_served_to_the_apps_credentials(
    http: httpx.AsyncClient, hooked: Receiver
) -> None:
    answer = await http.post("/_sim/reply", json=reply(attachments=[pdf_attachment()]))
    url = answer.json()["callback"]["payload"]["attachments"][0]["url"]

    anonymous = await http.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["_error"]["status"] == 401
    wrong = await http.get(url, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    other_channel = await http.get(url, headers=auth_header("cha_other"))
    assert other_channel.status_code == 401  # a token for another channel
    forged = await http.get(
        url, headers={"Authorization": f"Bearer {make_jwt(CHANNEL, secret='x' * 40)}"}
    )
    assert forged.status_code == 401

    for headers in (auth_header(CHANNEL), {"Authorization": f"Bearer {API_TOKEN}"}):
        got = await http.get(url, headers=headers)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert 'filename="invoice.pdf"' in got.headers["content-disposition"]
    missing = await http.get("/download/fil_nope", headers=auth_header(CHANNEL))
    assert missing.status_code == 404


async def test_control_routes_refuse_what_they_cannot_send(
    http: httpx.AsyncClient, front_sim: Sim, receiver: Receiver
) -> None:
    no_hook = await http.post("/_sim/authorize", json={"channel_id": CHANNEL})
    assert no_hook.status_code == 409 and "webhook_url" in no_hook.json()["error"]

    config = (await http.post("/_sim/config", json={"webhook_url": receiver.url})).json()
    assert config["webhook_url"] == receiver.url
    bad_url = await http.post("/_sim/config", json={"webhook_url": "ftp://x"})
    assert bad_url.status_code == 400 and "webhook_url" in bad_url.json()["error"]

    for route, body, word in [
        ("/_sim/authorize", {}, "channel_id"),
        ("/_sim/delete", {"channel_id": 5}, "channel_id"),
        ("/_sim/reply", reply(body=None), "body"),
        ("/_sim/reply", reply(author_email=""), "author_email"),
        ("/_sim/reply", reply(attachments=[{"filename": "a"}]), "attachments[0]"),
        ("/_sim/reply", reply(attachments=[pdf_attachment() | {"content": "%%"}]), "base64"),
        ("/_sim/reply", reply(autoreply="yes"), "autoreply"),
    ]:
        answer = await http.post(route, json=body)
        assert answer.status_code == 400 and word in answer.json()["error"], (route, body)
    assert receiver.seen == []

    front_sim.state.configure(app_secret=None)
    no_secret = await http.post("/_sim/authorize", json={"channel_id": CHANNEL})
    assert no_secret.status_code == 409 and "app_secret" in no_secret.json()["error"]


async def test_an_unreachable_webhook_is_a_502(http: httpx.AsyncClient, front_sim: Sim) -> None:
    front_sim.state.configure(webhook_url="http://127.0.0.1:9/hook", callback_timeout_seconds=2)
    answer = await http.post("/_sim/delete", json={"channel_id": CHANNEL})
    assert answer.status_code == 502 and "did not answer" in answer.json()["error"]
    assert front_sim.state.callbacks()[0]["status"] is None


def test_webhook_url_must_be_http() -> None:
    with pytest.raises(ValueError):
        SimConfig(webhook_url="localhost:3000")


# Against the running app --------------------------------------------------------------


@pytest.fixture
def app(tmp_sqlite_url: str, fake_slack: FakeSlack) -> Iterator[RunningApp]:
    settings = make_settings(
        database_url=tmp_sqlite_url,
        slack_api_url=fake_slack.api_url,
        front_app_uid=APP_UID,
        front_app_secret=APP_SECRET,
        public_url="https://sb.example.com",
    )
    with running_app(settings) as running:
        with session_scope(running.runtime.engine) as s:
            s.add(
                ThreadLink(
                    team_id="T1",
                    slack_channel_id="C1",
                    thread_ts="100.1",
                    kind="conversation",
                    external_id="conv-1",
                    front_channel_id=CHANNEL,
                )
            )
        yield running


async def test_the_app_answers_each_callback(
    http: httpx.AsyncClient, front_sim: Sim, app: RunningApp, fake_slack: FakeSlack
) -> None:
    front_sim.state.configure(webhook_url=f"{app.base_url}/front/webhook")

    authorized = (await http.post("/_sim/authorize", json={"channel_id": CHANNEL})).json()
    assert authorized["status"] == 200
    assert authorized["body"] == {
        "type": "success",
        "webhook_url": "https://sb.example.com/front/webhook",
    }

    answer = await http.post(
        "/_sim/reply",
        json=reply(
            author_first_name="Grace", author_last_name="Hopper", attachments=[pdf_attachment()]
        ),
    )
    replied = answer.json()
    front_id = replied["callback"]["payload"]["id"]
    assert replied["status"] == 200
    assert replied["body"] == {
        "type": "success",
        "external_id": f"front:{front_id}",
        "external_conversation_id": "conv-1",
    }
    (post,) = fake_slack.wait_for("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == ("C1", "100.1")
    assert "*Grace Hopper* replied from Front" in post["text"]
    assert "Thanks, we shipped it today." in post["text"] and "invoice.pdf" in post["text"]

    deleted = (await http.post("/_sim/delete", json={"channel_id": CHANNEL})).json()
    assert deleted["status"] == 200 and deleted["body"] == {"type": "success"}


async def test_the_app_refuses_callbacks_signed_with_another_secret(
    http: httpx.AsyncClient, front_sim: Sim, app: RunningApp
) -> None:
    front_sim.state.configure(
        webhook_url=f"{app.base_url}/front/webhook",
        app_secret="another-apps-secret-0123456789abcdef0123",
    )
    answer = (await http.post("/_sim/authorize", json={"channel_id": CHANNEL})).json()
    assert answer["status"] == 401 and answer["body"]["type"] == "unauthorized"
