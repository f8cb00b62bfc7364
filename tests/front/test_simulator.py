"""The simulator's own surface: control API, routing, body checks, and running it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.front import FrontClient, TokenAuth
from bot.frontsim import SimConfig, SimState, create_app, get_state

from .conftest import Sim
from .simulator import API_TOKEN, CHANNEL, auth_header, valid_bodies

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def http(front_sim: Sim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=front_sim.url, verify=False) as client:
        yield client


async def test_control_api(http: httpx.AsyncClient, front_sim: Sim) -> None:
    async with FrontClient(front_sim.url, TokenAuth(API_TOKEN)) as client:
        await client.create_call(CHANNEL, valid_bodies()["create_call"])
        await client.update_call(CHANNEL, "call_1", {"call_status": "connected"})
        await client.update_call(CHANNEL, "call_1", {"call_status": "connected"})

    requests = (await http.get("/_sim/requests")).json()
    assert [r["operation"] for r in requests] == ["create_call", "update_call", "update_call"]
    assert [r["seq"] for r in requests] == [1, 2, 3]
    assert requests[0]["body"] == valid_bodies()["create_call"]
    assert requests[2]["duplicate"] is True
    only = (await http.get("/_sim/requests", params={"operation": "create_call"})).json()
    assert len(only) == 1

    stats = (await http.get("/_sim/stats")).json()
    assert stats["accepted"] == {"create_call": 1, "update_call": 2}
    assert stats["duplicates"] == {"update_call": 1}
    assert stats["rate_limited"] == stats["server_errors"] == 0

    config = (await http.post("/_sim/config", json={"error_rate": 0.25, "latency_ms": 1})).json()
    assert config["error_rate"] == 0.25 and config["app_secret"] == "set"
    assert front_sim.state.config.error_rate == 0.25
    bad = await http.post("/_sim/config", json={"error_rate": 3})
    assert bad.status_code == 400 and "error_rate" in bad.json()["error"]
    unknown = await http.post("/_sim/config", json={"colour": "blue"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]
    assert (await http.get("/_sim/config")).json()["error_rate"] == 0.25

    assert (await http.post("/_sim/reset")).status_code == 204
    assert (await http.get("/_sim/requests")).json() == []
    assert (await http.get("/_sim/stats")).json()["total_accepted"] == 0
    assert front_sim.state.config.error_rate == 0.0  # back to start-up settings


async def test_rejections_say_why(http: httpx.AsyncClient, front_sim: Sim) -> None:
    await http.post(
        f"/channels/{CHANNEL}/calls", json={"direction": "inbound"}, headers=auth_header(CHANNEL)
    )
    rejections = (await http.get("/_sim/rejections")).json()
    assert rejections[0]["operation"] == "create_call" and rejections[0]["status"] == 400
    assert "external_call_id: is required" in rejections[0]["message"]


async def test_unknown_routes_and_methods(http: httpx.AsyncClient) -> None:
    missing = await http.post("/channels/cha_1/nothing", json={}, headers=auth_header("cha_1"))
    assert missing.status_code == 404 and missing.json()["_error"]["status"] == 404
    wrong = await http.delete("/channels/cha_1", headers=auth_header("cha_1"))
    assert wrong.status_code == 405 and wrong.json()["_error"]["title"] == "Method not allowed"
    for response in (missing, wrong):
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
            response.headers
        )


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"{not json", "application/json", "body: not valid JSON"),
        (b"[1, 2]", "application/json", "body: must be a JSON object"),
        (b"status=ok", "application/x-www-form-urlencoded", "Content-Type: must be"),
        (b'{"status": "ok"}', "text/plain", "Content-Type: must be"),
    ],
)
async def test_malformed_bodies(
    http: httpx.AsyncClient, content: bytes, content_type: str, expected: str
) -> None:
    response = await http.patch(
        f"/channels/{CHANNEL}",
        content=content,
        headers={**auth_header(CHANNEL), "Content-Type": content_type},
    )
    assert response.status_code == 400
    assert expected in response.json()["_error"]["message"]


async def test_in_process_app_without_a_server() -> None:
    app = create_app(SimConfig(api_token=API_TOKEN))
    state = get_state(app)
    assert isinstance(state, SimState)
    transport = httpx.ASGITransport(app=app)
    async with FrontClient("http://sim", TokenAuth(API_TOKEN), transport=transport) as client:
        result = await client.sync_inbound_message(CHANNEL, valid_bodies()["sync_inbound_message"])
    assert result.message_uid == "sim00000001"
    assert state.stats()["accepted"] == {"sync_inbound_message": 1}


def test_config_checks_its_values() -> None:
    with pytest.raises(ValueError):
        SimConfig(error_rate=2)
    with pytest.raises(ValueError):
        SimConfig(rate_limit_per_minute=0)
    with pytest.raises(ValueError):
        SimConfig(error_statuses=(404,))
    with pytest.raises(ValueError):
        SimConfig().replace({"nope": 1})


def test_runs_as_a_module_in_another_process() -> None:
    env = {**os.environ, "FRONT_API_TOKEN": API_TOKEN, "PYTHONPATH": str(ROOT)}
    env.pop("FRONT_APP_SECRET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.frontsim", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("frontsim listening on http://127.0.0.1:")
        url = line.split()[-1]
        # The socket listens before the line is printed: no need to poll.
        with httpx.Client(base_url=url, verify=False) as http:
            response = http.patch(
                "/channels/cha_1",
                json={"status": "ok"},
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            )
            assert response.status_code == 204
            assert http.get("/_sim/stats").json()["accepted"] == {"update_channel": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
