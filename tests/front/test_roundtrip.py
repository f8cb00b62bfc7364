"""Every operation, client → real simulator over loopback HTTP, and back."""

from __future__ import annotations

import httpx
import pytest

from bot.front import (
    Attachment,
    CallParty,
    CreateCallOutbound,
    FrontClient,
    FrontRejected,
    InboundMessage,
    Operation,
    UpdateCall,
)

from .conftest import Sim
from .simulator import CHANNEL, valid_bodies

pytestmark = pytest.mark.anyio

AUDIO = Attachment(filename="call.mp3", content_type="audio/mpeg", data=b"ID3" + bytes(range(256)))
FILES = [
    Attachment(filename="invoice.pdf", content_type="application/pdf", data=b"%PDF-1.4 " * 50),
    Attachment(filename="photo é.png", content_type="image/png", data=b"\x89PNG\r\n" + b"\0" * 99),
]


async def test_every_operation_round_trips(front_client: FrontClient, front_sim: Sim) -> None:
    bodies = valid_bodies()
    c = front_client
    results = [
        await c.update_channel(CHANNEL, bodies["update_channel"]),
        await c.sync_application_message_template(
            CHANNEL, bodies["sync_application_message_template"]
        ),
        await c.update_application_message_template(
            CHANNEL, "tpl_1", bodies["update_application_message_template"]
        ),
        await c.create_call(CHANNEL, bodies["create_call"]),
        await c.update_call(CHANNEL, "call_1", bodies["update_call"]),
        await c.add_call_recording(CHANNEL, "call_1", "voicemail", AUDIO),
        await c.add_call_summary(CHANNEL, "call_1", bodies["add_call_summary"]),
        await c.add_call_transcript(CHANNEL, "call_1", bodies["add_call_transcript"]),
        await c.sync_outbound_message(CHANNEL, bodies["sync_outbound_message"]),
        await c.update_external_message_status(
            CHANNEL, "conv_1", "msg_out_1", bodies["update_external_message_status"]
        ),
        await c.sync_inbound_message(CHANNEL, bodies["sync_inbound_message"]),
    ]
    assert [r.operation for r in results] == [
        Operation.UPDATE_CHANNEL,
        Operation.SYNC_APPLICATION_MESSAGE_TEMPLATE,
        Operation.UPDATE_APPLICATION_MESSAGE_TEMPLATE,
        Operation.CREATE_CALL,
        Operation.UPDATE_CALL,
        Operation.ADD_CALL_RECORDING,
        Operation.ADD_CALL_SUMMARY,
        Operation.ADD_CALL_TRANSCRIPT,
        Operation.SYNC_OUTBOUND_MESSAGE,
        Operation.UPDATE_EXTERNAL_MESSAGE_STATUS,
        Operation.SYNC_INBOUND_MESSAGE,
    ]
    # Status codes as the spec gives them.
    assert [r.status_code for r in results] == [
        204,
        200,
        200,
        202,
        202,
        202,
        202,
        202,
        202,
        204,
        202,
    ]
    assert results[1].template_id == results[2].template_id is not None
    assert results[1].template_id.isdigit()
    assert results[8].message_uid and results[10].message_uid
    assert results[8].message_uid != results[10].message_uid
    for r in results:
        assert r.rate_limit is not None and r.rate_limit.limit and r.rate_limit.reset_at

    recorded = front_sim.state.requests()
    assert [r["operation"] for r in recorded] == [r.operation.value for r in results]
    # The simulator saw exactly the JSON the spec describes (aliases, no None keys).
    by_op = {r["operation"]: r for r in recorded}
    for op in ("create_call", "update_call", "sync_inbound_message", "sync_outbound_message"):
        assert by_op[op]["body"] == bodies[op]
    assert by_op["add_call_recording"]["body"] == {"recording_type": "voicemail"}
    assert by_op["add_call_recording"]["files"][0] | {"sha256": ""} == {
        "field": "attachments",
        "filename": "call.mp3",
        "content_type": "audio/mpeg",
        "size": len(AUDIO.data),
        "sha256": "",
    }
    assert by_op["update_call"]["path_params"] == {"external_call_id": "call_1"}
    call = front_sim.state.call(CHANNEL, "call_1")
    assert call is not None
    assert call.history == ["ringing", "connected"]
    assert call.summaries == [bodies["add_call_summary"]["content"]]
    assert call.recordings[0]["recording_type"] == "voicemail"
    assert front_sim.state.stats()["total_accepted"] == 11


@pytest.mark.parametrize("op", ["sync_inbound_message", "sync_outbound_message"])
async def test_messages_with_attachments_go_as_multipart(
    front_client: FrontClient, front_sim: Sim, op: str
) -> None:
    body = valid_bodies()[op]
    result = await getattr(front_client, op)(CHANNEL, body, FILES)
    assert result.status_code == 202 and result.message_uid

    (record,) = front_sim.state.requests()
    # Rebuilt from bracketed form fields and typed by the spec, it equals the JSON body.
    assert record["body"] == body
    assert [(f["field"], f["filename"], f["content_type"], f["size"]) for f in record["files"]] == [
        ("attachments[0]", "invoice.pdf", "application/pdf", len(FILES[0].data)),
        ("attachments[1]", "photo é.png", "image/png", len(FILES[1].data)),
    ]


async def test_multipart_field_names_are_bracketed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"status": "accepted", "message_uid": "u1"})

    from bot.front import TokenAuth

    async with FrontClient(
        "https://front.test", TokenAuth("t" * 40), transport=httpx.MockTransport(handler)
    ) as client:
        await client.sync_outbound_message(CHANNEL, valid_bodies()["sync_outbound_message"], FILES)
        await client.add_call_recording(CHANNEL, "call_1", "call", AUDIO)
    message, recording = (r.read() for r in seen)
    for name in (
        b'name="to[0][handle]"',
        b'name="to[1][handle]"',
        b'name="metadata[external_id]"',
        b'name="metadata[external_conversation_id]"',
        b'name="delivered_at"',
        b'name="attachments[0]"; filename="invoice.pdf"',
        b'name="attachments[1]"',
    ):
        assert name in message
    assert seen[0].headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="recording_type"\r\n\r\ncall\r\n' in recording
    assert b'name="attachments"; filename="call.mp3"' in recording


async def test_generic_call_dispatches_every_operation(
    front_client: FrontClient, front_sim: Sim
) -> None:
    bodies = valid_bodies()
    paths: dict[str, dict[str, str]] = {
        "update_application_message_template": {"external_id": "tpl_1"},
        "update_call": {"external_call_id": "call_1"},
        "add_call_recording": {"external_call_id": "call_1"},
        "add_call_summary": {"external_call_id": "call_1"},
        "add_call_transcript": {"external_call_id": "call_1"},
        "update_external_message_status": {"conv_ext_id": "conv_1", "message_ext_id": "msg_out_1"},
    }
    order = [
        "update_channel",
        "sync_application_message_template",
        "update_application_message_template",
        "create_call",
        "update_call",
        "add_call_recording",
        "add_call_summary",
        "add_call_transcript",
        "sync_outbound_message",
        "update_external_message_status",
        "sync_inbound_message",
    ]
    assert set(order) == {o.value for o in Operation}
    for name in order:
        files = [AUDIO] if name == "add_call_recording" else []
        if name == "sync_inbound_message":
            files = FILES
        result = await front_client.call(
            Operation(name), CHANNEL, paths.get(name, {}), bodies[name], files
        )
        assert result.operation == name
    assert [r["operation"] for r in front_sim.state.requests()] == order
    assert len(front_sim.state.requests("sync_inbound_message")[0]["files"]) == 2


async def test_typed_models_are_accepted(front_client: FrontClient, front_sim: Sim) -> None:
    await front_client.create_call(
        CHANNEL,
        CreateCallOutbound(
            external_call_id="out_1",
            initial_status="queued",
            to=CallParty(handle="+14155550100"),
            parent_external_call_id="out_1",
        ),
    )
    await front_client.update_call(CHANNEL, "out_1", UpdateCall(call_status="connected"))
    message = InboundMessage.model_validate(valid_bodies()["sync_inbound_message"])
    await front_client.sync_inbound_message(CHANNEL, message)
    first = front_sim.state.requests()[0]
    assert first["body"] == {
        "external_call_id": "out_1",
        "initial_status": "queued",
        "direction": "outbound",
        "to": {"handle": "+14155550100"},
        "parent_external_call_id": "out_1",
    }


@pytest.mark.parametrize(
    ("channel", "call_id"),
    [
        ("alt:address:+33123456789", "slack:T0123:C0456:1712345678.000100"),
        ("cha_1", "call with spaces & ? # %"),
        ("cha_1", "a/b/c"),
        ("alt:address:ada@example.com", "é✓"),
    ],
)
async def test_path_segments_are_quoted(
    front_client: FrontClient, front_sim: Sim, channel: str, call_id: str
) -> None:
    # A first leg is its own parent.
    body = valid_bodies()["create_call"] | {
        "external_call_id": call_id,
        "parent_external_call_id": call_id,
    }
    await front_client.create_call(channel, body)
    await front_client.update_call(channel, call_id, {"call_status": "connected"})
    update = front_sim.state.requests("update_call")[0]
    # The JWT's sub matched the decoded channel id (else 401), and ids arrived intact.
    assert update["channel_id"] == channel
    assert update["path_params"] == {"external_call_id": call_id}


async def test_ordering_a_call_must_exist_first(front_client: FrontClient, front_sim: Sim) -> None:
    bodies = valid_bodies()
    for op, args in [
        ("update_call", (bodies["update_call"],)),
        ("add_call_summary", (bodies["add_call_summary"],)),
        ("add_call_transcript", (bodies["add_call_transcript"],)),
        ("add_call_recording", ("call", AUDIO)),
    ]:
        with pytest.raises(FrontRejected) as info:
            await getattr(front_client, op)(CHANNEL, "nope", *args)
        assert info.value.status_code == 404 and "nope" in info.value.message
    with pytest.raises(FrontRejected):
        await front_client.update_external_message_status(
            CHANNEL, "conv_x", "msg_x", {"status": "failed"}
        )
    with pytest.raises(FrontRejected):
        await front_client.update_application_message_template(CHANNEL, "tpl_x", {"name": "x"})
    assert front_sim.state.requests() == []
    assert front_sim.state.stats()["not_found"] == 6


async def test_call_lifecycle_is_enforced_by_default(
    front_client: FrontClient, front_sim: Sim
) -> None:
    await front_client.create_call(CHANNEL, valid_bodies()["create_call"])  # ringing
    await front_client.update_call(CHANNEL, "call_1", {"call_status": "connected"})
    with pytest.raises(FrontRejected) as info:
        await front_client.update_call(CHANNEL, "call_1", {"call_status": "queued"})
    assert info.value.status_code == 409
    await front_client.update_call(CHANNEL, "call_1", {"call_status": "hangup"})
    call = front_sim.state.call(CHANNEL, "call_1")
    assert call is not None and call.history == ["ringing", "connected", "hangup"]


async def test_duplicates_are_counted_and_messages_deduplicated(
    front_client: FrontClient, front_sim: Sim
) -> None:
    bodies = valid_bodies()
    first = await front_client.sync_inbound_message(CHANNEL, bodies["sync_inbound_message"])
    again = await front_client.sync_inbound_message(CHANNEL, bodies["sync_inbound_message"], FILES)
    assert again.status_code == 202 and again.message_uid == first.message_uid
    await front_client.create_call(CHANNEL, bodies["create_call"])
    await front_client.create_call(CHANNEL, bodies["create_call"])
    await front_client.update_call(CHANNEL, "call_1", bodies["update_call"])
    await front_client.update_call(CHANNEL, "call_1", bodies["update_call"])
    # Another status, or the same at another time, is not a duplicate.
    await front_client.update_call(CHANNEL, "call_1", {"call_status": "hold"})
    await front_client.update_call(
        CHANNEL, "call_1", bodies["update_call"] | {"occurred_at": 1_700_000_009_000}
    )
    await front_client.add_call_summary(CHANNEL, "call_1", bodies["add_call_summary"])
    await front_client.add_call_summary(CHANNEL, "call_1", bodies["add_call_summary"])
    await front_client.add_call_recording(CHANNEL, "call_1", "call", AUDIO)
    await front_client.add_call_recording(CHANNEL, "call_1", "call", AUDIO)
    await front_client.add_call_recording(CHANNEL, "call_1", "voicemail", AUDIO)

    stats = front_sim.state.stats()
    assert stats["duplicates"] == {
        "sync_inbound_message": 1,
        "create_call": 1,
        "update_call": 1,
        "add_call_summary": 1,
        "add_call_recording": 1,
    }
    assert stats["accepted"]["update_call"] == 4
    recorded = front_sim.state.requests()
    assert [r["duplicate"] for r in recorded if r["operation"] == "create_call"] == [False, True]
    call = front_sim.state.call(CHANNEL, "call_1")
    assert call is not None
    assert call.history == ["ringing", "connected", "hold", "connected"]
    assert len(call.summaries) == 1 and len(call.recordings) == 2
