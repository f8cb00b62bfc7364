"""Socket Mode: with SLACK_APP_TOKEN, `serve` takes Slack's requests over a WebSocket."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import WSMsgType, web

from bot.server import build_server_app
from tests.conftest import make_settings
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.server import serve_in_thread

APP_TOKEN = "xapp-1-test"


@contextmanager
def socket_mode_server(envelope: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A WebSocket endpoint playing Slack's side: hello, one envelope, then collect acks."""
    acks: list[dict[str, Any]] = []
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def link(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        await ws.send_json(envelope)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                acks.append(json.loads(msg.data))
        return ws

    def run() -> None:
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/link", link)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        holder["port"] = runner.addresses[0][1]
        holder["loop"], holder["runner"] = loop, runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield f"ws://127.0.0.1:{holder['port']}/link", acks
    finally:
        holder["loop"].call_soon_threadsafe(holder["loop"].stop)
        thread.join(5)


def test_a_command_arrives_over_socket_mode(tmp_sqlite_url: str, fake_slack: FakeSlack) -> None:
    envelope = {
        "envelope_id": "env-1",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/switchboard",
            "text": "help",
            "trigger_id": "t",
            "api_app_id": "A1",
            "response_url": f"{fake_slack.base_url}/respond/socket",
        },
    }
    with socket_mode_server(envelope) as (ws_url, acks):
        fake_slack.tokens.add(APP_TOKEN)
        fake_slack.respond("apps.connections.open", lambda _args: {"ok": True, "url": ws_url})
        settings = make_settings(
            database_url=tmp_sqlite_url, slack_api_url=fake_slack.api_url, slack_app_token=APP_TOKEN
        )
        with serve_in_thread(build_server_app(settings, run_scheduler=False)):
            fake_slack.wait_for("apps.connections.open")

            end = time.monotonic() + 10
            while not acks and time.monotonic() < end:
                time.sleep(0.02)
    assert acks and acks[0]["envelope_id"] == "env-1"
    # The answer rides on the ack (its payload), shown to the person alone (ephemeral).
    answer = acks[0]["payload"]
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert "/logcall" in answer["blocks"][0]["text"]["text"]
    assert fake_slack.responses == []
