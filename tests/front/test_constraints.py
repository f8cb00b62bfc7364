"""Every spec constraint, refused twice: by the client before sending, and by the
simulator when a raw request (valid JWT, bad body) breaks it."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.front import MAX_UPLOAD_BYTES, Attachment, FrontClient, InvalidRequest, JwtAuth, Operation

from .conftest import Sim
from .simulator import APP_SECRET, APP_UID, CHANNEL, auth_header, valid_bodies

pytestmark = pytest.mark.anyio

DELETE = object()
LONG = "x" * 201
AUDIO = Attachment(filename="r.wav", content_type="audio/wav", data=b"RIFF....WAVE")

PATHS: dict[str, dict[str, str]] = {
    "update_application_message_template": {"external_id": "tpl_1"},
    "update_call": {"external_call_id": "call_1"},
    "add_call_recording": {"external_call_id": "call_1"},
    "add_call_summary": {"external_call_id": "call_1"},
    "add_call_transcript": {"external_call_id": "call_1"},
    "update_external_message_status": {"conv_ext_id": "conv_1", "message_ext_id": "msg_out_1"},
}
ROUTES = {
    "update_channel": ("PATCH", "/channels/{channel_id}"),
    "sync_application_message_template": (
        "PUT",
        "/channels/{channel_id}/application_message_templates",
    ),
    "update_application_message_template": (
        "PATCH",
        "/channels/{channel_id}/application_message_templates/{external_id}",
    ),
    "create_call": ("POST", "/channels/{channel_id}/calls"),
    "update_call": ("PATCH", "/channels/{channel_id}/calls/{external_call_id}"),
    "add_call_recording": ("POST", "/channels/{channel_id}/calls/{external_call_id}/recording"),
    "add_call_summary": ("POST", "/channels/{channel_id}/calls/{external_call_id}/summary"),
    "add_call_transcript": ("POST", "/channels/{channel_id}/calls/{external_call_id}/transcript"),
    "update_external_message_status": (
        "PUT",
        "/channels/{channel_id}/conversations/{conv_ext_id}/messages/{message_ext_id}/status",
    ),
    "sync_inbound_message": ("POST", "/channels/{channel_id}/inbound_messages"),
    "sync_outbound_message": ("POST", "/channels/{channel_id}/outbound_messages"),
}
OUTBOUND_CALL = {
    "external_call_id": "call_2",
    "initial_status": "queued",
    "direction": "outbound",
    "to": {"handle": "+14155550100"},
    "parent_external_call_id": "call_1",
}


@dataclass(frozen=True)
class Case:
    op: str
    where: str  # dotted path into the body; list items by index
    value: Any  # DELETE, or the value to put there
    field: str  # what both refusals must name
    base: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        what = "missing" if self.value is DELETE else f"={str(self.value)[:12]}"
        return f"{self.op}:{self.where}{what}"

    def body(self) -> dict[str, Any]:
        body = copy.deepcopy(self.base or valid_bodies()[self.op])
        *parents, last = self.where.split(".")
        node: Any = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if self.value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = self.value
        else:
            node[last] = self.value
        return body


def _required(op: str, *fields: str, base: dict[str, Any] | None = None) -> list[Case]:
    return [Case(op, f, DELETE, f, base) for f in fields]


SPEC_CASES: list[Case] = [
    # update-channel: status enum
    Case("update_channel", "status", "busy", "status"),
    # sync template: all seven required, items need uid/type/name, types
    *_required(
        "sync_application_message_template",
        "external_id",
        "name",
        "blurb",
        "is_disabled",
        "status_name",
        "variable_mappings",
        "template_preview",
    ),
    *_required(
        "sync_application_message_template",
        "variable_mappings.0.uid",
        "variable_mappings.0.type",
        "variable_mappings.0.name",
    ),
    Case("sync_application_message_template", "is_disabled", "yes", "is_disabled"),
    Case("sync_application_message_template", "variable_mappings", "none", "variable_mappings"),
    # edit template: all optional, but what is given is typed
    Case(
        "update_application_message_template",
        "variable_mappings",
        [{"uid": "1", "type": "text"}],
        "variable_mappings.0.name",
    ),
    Case("update_application_message_template", "is_disabled", "no", "is_disabled"),
    # create call: discriminated on direction
    *_required(
        "create_call",
        "external_call_id",
        "initial_status",
        "direction",
        "from",
        "parent_external_call_id",
    ),
    Case("create_call", "from.handle", DELETE, "from.handle"),
    Case("create_call", "initial_status", "connected", "initial_status"),
    Case("create_call", "direction", "sideways", "direction"),
    Case("create_call", "started_at", "soon", "started_at"),
    Case("create_call", "to", DELETE, "to", OUTBOUND_CALL),
    Case("create_call", "to.handle", DELETE, "to.handle", OUTBOUND_CALL),
    Case("create_call", "external_call_id", 42, "external_call_id", OUTBOUND_CALL),
    # update call
    Case("update_call", "call_status", DELETE, "call_status"),
    Case("update_call", "call_status", "ended", "call_status"),
    Case("update_call", "occurred_at", "now", "occurred_at"),
    # recording form fields
    Case("add_call_recording", "recording_type", DELETE, "recording_type"),
    Case("add_call_recording", "recording_type", "meeting", "recording_type"),
    # summary: non-empty content
    Case("add_call_summary", "content", DELETE, "content"),
    Case("add_call_summary", "content", "", "content"),
    # transcript: at least one line, each complete
    Case("add_call_transcript", "lines", DELETE, "lines"),
    Case("add_call_transcript", "lines", [], "lines"),
    *_required(
        "add_call_transcript",
        "lines.0.speaker_name",
        "lines.0.content",
        "lines.0.start_time_seconds",
        "lines.0.speaker_type",
    ),
    Case("add_call_transcript", "lines.1.speaker_type", "robot", "lines.1.speaker_type"),
    Case("add_call_transcript", "lines.0.start_time_seconds", "0", "lines.0.start_time_seconds"),
    # external message status
    Case("update_external_message_status", "status", DELETE, "status"),
    Case("update_external_message_status", "status", "delivered", "status"),
    # inbound message
    *_required(
        "sync_inbound_message",
        "sender",
        "sender.handle",
        "body",
        "metadata",
        "metadata.external_id",
        "metadata.external_conversation_id",
    ),
    Case("sync_inbound_message", "metadata.external_id", LONG, "metadata.external_id"),
    Case(
        "sync_inbound_message",
        "metadata.external_conversation_id",
        LONG,
        "metadata.external_conversation_id",
    ),
    Case(
        "sync_inbound_message",
        "metadata.referenced_message_external_id",
        LONG,
        "metadata.referenced_message_external_id",
    ),
    Case("sync_inbound_message", "delivered_at", 1.5, "delivered_at"),
    Case("sync_inbound_message", "delivered_at", "1700000000", "delivered_at"),
    Case("sync_inbound_message", "sender.handle", 33123, "sender.handle"),
    Case("sync_inbound_message", "body", 123, "body"),
    # outbound message
    *_required(
        "sync_outbound_message",
        "to",
        "to.0.handle",
        "body",
        "metadata",
        "metadata.external_id",
        "metadata.external_conversation_id",
    ),
    Case("sync_outbound_message", "metadata.external_id", LONG, "metadata.external_id"),
    Case(
        "sync_outbound_message",
        "metadata.external_conversation_id",
        LONG,
        "metadata.external_conversation_id",
    ),
    Case(
        "sync_outbound_message",
        "metadata.referenced_message_external_id",
        LONG,
        "metadata.referenced_message_external_id",
    ),
    Case("sync_outbound_message", "delivered_at", 1.5, "delivered_at"),
    Case("sync_outbound_message", "to", {"handle": "+1"}, "to"),
]

# Stricter than the spec on purpose (Front's own limits or safety); the simulator,
# which follows the spec to the letter, accepts these.
CLIENT_ONLY_CASES: list[Case] = [
    Case("create_call", "external_call_id", LONG, "external_call_id"),
    Case("create_call", "parent_external_call_id", LONG, "parent_external_call_id"),
    Case("sync_outbound_message", "to", [], "to"),
    Case("update_call", "unknown_field", 1, "unknown_field"),
]


def _refusing_client() -> FrontClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be sent, got {request.method} {request.url}")

    return FrontClient(
        "https://front.test", JwtAuth(APP_UID, APP_SECRET), transport=httpx.MockTransport(handler)
    )


@pytest.fixture
async def refusing_client() -> AsyncIterator[FrontClient]:
    async with _refusing_client() as client:
        yield client


def _files(op: str) -> list[Attachment]:
    return [AUDIO] if op == "add_call_recording" else []


@pytest.mark.parametrize("case", SPEC_CASES + CLIENT_ONLY_CASES, ids=lambda c: c.id)
async def test_client_refuses_before_sending(refusing_client: FrontClient, case: Case) -> None:
    with pytest.raises(InvalidRequest) as info:
        await refusing_client.call(
            case.op, CHANNEL, PATHS.get(case.op, {}), case.body(), _files(case.op)
        )
    err = info.value
    assert err.field == case.field
    assert f"{case.field}:" in err.message and f"{case.field}:" in str(err)
    assert err.operation == case.op and err.status_code is None and not err.retryable


async def _raw(
    sim: Sim, op: str, body: dict[str, Any] | None, *, files: list[Any] | None = None, **kw: Any
) -> httpx.Response:
    method, template = ROUTES[op]
    url = template.format(channel_id=CHANNEL, **PATHS.get(op, {}))
    headers = auth_header(CHANNEL)
    # verify=False: plain http on loopback, and it spares building a TLS context per test.
    async with httpx.AsyncClient(base_url=sim.url, verify=False) as http:
        if op == "add_call_recording" or files is not None:
            upload = (
                files if files is not None else [("attachments", ("r.wav", b"RIFF", "audio/wav"))]
            )
            return await http.request(method, url, data=body, files=upload, headers=headers, **kw)
        return await http.request(method, url, json=body, headers=headers, **kw)


def _bad_request(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["_error"]
    assert error["status"] == 400 and error["title"] == "Bad request"
    message: str = error["message"]
    return message


@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda c: c.id)
async def test_simulator_refuses_raw_request(front_sim: Sim, case: Case) -> None:
    message = _bad_request(await _raw(front_sim, case.op, case.body()))
    assert f"{case.field}:" in message
    assert front_sim.state.requests() == []


async def test_raw_helper_sends_valid_bodies_that_pass(front_sim: Sim) -> None:
    """The positive control for the test above: unbroken bodies are accepted."""
    bodies = valid_bodies()
    order = [
        "create_call",
        "sync_outbound_message",
        "sync_application_message_template",
        *[op for op in ROUTES if op not in ("create_call", "sync_outbound_message")],
    ]
    for op in order:
        response = await _raw(front_sim, op, bodies[op])
        assert response.status_code in (200, 202, 204), (op, response.text)
    assert len(front_sim.state.requests()) == len(order)


@pytest.mark.parametrize("case", CLIENT_ONLY_CASES, ids=lambda c: c.id)
async def test_simulator_follows_the_spec_where_the_client_is_stricter(
    front_sim: Sim, case: Case
) -> None:
    if case.op == "update_call":
        await _raw(front_sim, "create_call", valid_bodies()["create_call"])
    body = case.body()
    if case.op == "create_call":
        # A first leg (its own parent): a leg naming another call as parent is a transfer
        # leg, which Front's lifecycle refuses unless that call was transferred.
        body["external_call_id"] = body["parent_external_call_id"] = case.value
    response = await _raw(front_sim, case.op, body)
    assert response.status_code in (202, 204), response.text


# Path ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "channel", "path", "field"),
    [
        ("update_channel", LONG, {}, "channel_id"),
        ("update_channel", "", {}, "channel_id"),
        ("update_call", CHANNEL, {"external_call_id": LONG}, "external_call_id"),
        ("add_call_summary", CHANNEL, {"external_call_id": ""}, "external_call_id"),
        ("update_application_message_template", CHANNEL, {"external_id": LONG}, "external_id"),
        (
            "update_external_message_status",
            CHANNEL,
            {"conv_ext_id": LONG, "message_ext_id": "m"},
            "conv_ext_id",
        ),
        (
            "update_external_message_status",
            CHANNEL,
            {"conv_ext_id": "c", "message_ext_id": LONG},
            "message_ext_id",
        ),
        ("update_call", CHANNEL, {}, "path.external_call_id"),
        ("update_channel", CHANNEL, {"external_call_id": "x"}, "path.external_call_id"),
    ],
)
async def test_client_refuses_bad_path_ids(
    refusing_client: FrontClient, op: str, channel: str, path: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await refusing_client.call(op, channel, path, valid_bodies()[op])
    assert info.value.field == field and f"{field}:" in info.value.message


async def test_client_refuses_unknown_operation(refusing_client: FrontClient) -> None:
    with pytest.raises(InvalidRequest) as info:
        await refusing_client.call("delete_everything", CHANNEL, {}, {})
    assert info.value.field == "operation"


async def test_client_refuses_files_where_none_belong(refusing_client: FrontClient) -> None:
    with pytest.raises(InvalidRequest) as info:
        await refusing_client.call(
            Operation.ADD_CALL_SUMMARY,
            CHANNEL,
            PATHS["add_call_summary"],
            {"content": "x"},
            [AUDIO],
        )
    assert info.value.field == "attachments"


# Files ------------------------------------------------------------------------------

TEXT = Attachment(filename="notes.txt", content_type="text/plain", data=b"hello")


@pytest.mark.parametrize(
    "files", [[], [AUDIO, AUDIO], [TEXT]], ids=["no file", "two files", "not audio"]
)
async def test_client_refuses_a_bad_recording(
    refusing_client: FrontClient, files: list[Attachment]
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await refusing_client.call(
            "add_call_recording",
            CHANNEL,
            PATHS["add_call_recording"],
            {"recording_type": "call"},
            files,
        )
    assert info.value.field == "attachments"
    if files == [TEXT]:
        with pytest.raises(InvalidRequest):
            await refusing_client.add_call_recording(CHANNEL, "call_1", "call", TEXT)


@pytest.mark.parametrize(
    "files",
    [
        [],
        [
            ("attachments", ("a.wav", b"RIFF", "audio/wav")),
            ("attachments", ("b.wav", b"RIFF", "audio/wav")),
        ],
        [("attachments", ("a.txt", b"hello", "text/plain"))],
        [("attachments[0]", ("a.wav", b"RIFF", "audio/wav"))],
    ],
    ids=["no file", "two files", "not audio", "indexed field name"],
)
async def test_simulator_refuses_a_bad_recording(front_sim: Sim, files: list[Any]) -> None:
    response = await _raw(front_sim, "add_call_recording", {"recording_type": "call"}, files=files)
    if not files:
        # httpx sends a form without files as urlencoded, which this route refuses too.
        assert "Content-Type" in _bad_request(response)
        return
    assert "attachments:" in _bad_request(response)


async def test_simulator_refuses_a_json_recording(front_sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=front_sim.url, verify=False) as http:
        response = await http.post(
            f"/channels/{CHANNEL}/calls/call_1/recording",
            json={"recording_type": "call"},
            headers=auth_header(CHANNEL),
        )
    assert "Content-Type: must be multipart/form-data" in _bad_request(response)


async def test_simulator_refuses_multipart_where_the_spec_says_json(front_sim: Sim) -> None:
    response = await _raw(
        front_sim,
        "add_call_summary",
        {"content": "x"},
        files=[("attachments[0]", ("a.txt", b"x", "text/plain"))],
    )
    assert "Content-Type: must be application/json" in _bad_request(response)


async def test_simulator_checks_multipart_message_fields(front_sim: Sim) -> None:
    form = {
        "sender[handle]": "+33123",
        "body": "hi",
        "metadata[external_id]": LONG,
        "metadata[external_conversation_id]": "conv_1",
        "delivered_at": "not-a-number",
    }
    response = await _raw(
        front_sim,
        "sync_inbound_message",
        form,
        files=[("attachments[0]", ("a.txt", b"x", "text/plain"))],
    )
    message = _bad_request(response)
    assert "metadata.external_id:" in message and "delivered_at:" in message
    response = await _raw(
        front_sim,
        "sync_inbound_message",
        {k: v for k, v in form.items() if k not in ("sender[handle]", "delivered_at")}
        | {"metadata[external_id]": "ok"},
        files=[("photo", ("a.png", b"x", "image/png"))],
    )
    assert "photo: unexpected file field" in _bad_request(response)


async def test_client_refuses_more_than_25_mb(refusing_client: FrontClient) -> None:
    big = Attachment(filename="big.bin", content_type="audio/wav", data=bytes(MAX_UPLOAD_BYTES))
    for call in (
        refusing_client.sync_inbound_message(
            CHANNEL, valid_bodies()["sync_inbound_message"], [big]
        ),
        refusing_client.add_call_recording(CHANNEL, "call_1", "call", big),
    ):
        with pytest.raises(InvalidRequest) as info:
            await call
        assert info.value.field == "attachments" and "limit" in info.value.message


async def test_simulator_refuses_too_large_uploads(front_sim: Sim) -> None:
    front_sim.state.configure(max_upload_bytes=1000)
    await _raw(front_sim, "create_call", valid_bodies()["create_call"])
    response = await _raw(
        front_sim,
        "add_call_recording",
        {"recording_type": "call"},
        files=[("attachments", ("a.wav", bytes(1001), "audio/wav"))],
    )
    assert response.status_code == 413
    assert response.json()["_error"]["status"] == 413
