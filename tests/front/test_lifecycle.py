"""Front's call lifecycle, which the simulator enforces by default (`--lenient` turns it off).

Each refusal is a 409 in Front's `_error` envelope saying why, leaves the call as it was
and is not recorded; an exact repeat of an accepted request stays a harmless duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.frontsim import SimConfig

from .conftest import Sim
from .simulator import CHANNEL, auth_header, valid_bodies

pytestmark = pytest.mark.anyio

STARTED = 1_700_000_000_000


@pytest.fixture
async def http(front_sim: Sim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=front_sim.url, verify=False) as client:
        yield client


def create_body(call_id: str = "call_1", **changes: Any) -> dict[str, Any]:
    body = valid_bodies()["create_call"] | {
        "external_call_id": call_id,
        "parent_external_call_id": call_id,
        "started_at": STARTED,
    }
    return {k: v for k, v in (body | changes).items() if v is not None}


async def create(http: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await http.post(f"/channels/{CHANNEL}/calls", json=body, headers=auth_header(CHANNEL))


async def update(
    http: httpx.AsyncClient, status: str, occurred_at: int | None = None, call_id: str = "call_1"
) -> httpx.Response:
    body: dict[str, Any] = {"call_status": status}
    if occurred_at is not None:
        body["occurred_at"] = occurred_at
    return await http.patch(
        f"/channels/{CHANNEL}/calls/{call_id}", json=body, headers=auth_header(CHANNEL)
    )


def refused(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 409, response.text
    error = response.json()["_error"]
    assert error["status"] == 409 and error["title"] == "Conflict"
    message: str = error["message"]
    for word in words:
        assert word in message
    return message


def history(sim: Sim, call_id: str = "call_1") -> list[str]:
    call = sim.state.call(CHANNEL, call_id)
    assert call is not None
    return call.history


def test_strict_is_the_default() -> None:
    assert SimConfig().enforce_call_lifecycle is True


async def test_a_status_the_lifecycle_does_not_allow(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    assert (await create(http, create_body())).status_code == 202  # ringing
    refused(await update(http, "hold"), "cannot go from ringing to hold")
    assert (await update(http, "connected")).status_code == 202
    refused(await update(http, "queued"), "cannot go from connected to queued")
    assert history(front_sim) == ["ringing", "connected"]
    assert [r["operation"] for r in front_sim.state.requests()] == ["create_call", "update_call"]


async def test_occurred_at_before_started_at(http: httpx.AsyncClient, front_sim: Sim) -> None:
    await create(http, create_body())
    # Seconds instead of milliseconds is the usual way to get there.
    message = refused(await update(http, "connected", STARTED // 1000), "started_at")
    assert str(STARTED) in message
    assert (await update(http, "connected", STARTED)).status_code == 202  # same instant: fine
    assert history(front_sim) == ["ringing", "connected"]


async def test_occurred_at_before_the_previous_status(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    await create(http, create_body(started_at=None))  # no started_at: only the order counts
    assert (await update(http, "connected", STARTED + 5_000)).status_code == 202
    message = refused(await update(http, "hangup", STARTED + 4_999), "previous status")
    assert str(STARTED + 5_000) in message
    assert (await update(http, "hangup", STARTED + 5_000)).status_code == 202
    assert history(front_sim) == ["ringing", "connected", "hangup"]


@pytest.mark.parametrize("final", ["hangup", "missed", "abandoned", "transferred"])
async def test_a_repeated_final_status(http: httpx.AsyncClient, front_sim: Sim, final: str) -> None:
    await create(
        http, create_body(initial_status="ringing" if final == "transferred" else "queued")
    )
    if final in ("hangup", "transferred"):
        await update(http, "connected", STARTED + 1_000)
    assert (await update(http, final, STARTED + 2_000)).status_code == 202
    # The very same request again is a retry: accepted as a duplicate, nothing changes.
    again = await update(http, final, STARTED + 2_000)
    assert again.status_code == 202
    assert front_sim.state.requests("update_call")[-1]["duplicate"] is True
    # The same final status reported anew is refused, and so is any other status.
    refused(await update(http, final, STARTED + 3_000), "final status", final)
    refused(await update(http, "connected", STARTED + 3_000), "final status")
    assert history(front_sim)[-1] == final and history(front_sim).count(final) == 1


async def test_a_transfer_leg_whose_parent_is_unknown(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    leg = create_body("call_2", parent_external_call_id="call_1")
    refused(await create(http, leg), "parent_external_call_id", "'call_1'", "unknown")
    assert front_sim.state.call(CHANNEL, "call_2") is None
    assert front_sim.state.requests() == []


async def test_a_transfer_leg_whose_parent_was_not_transferred(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    await create(http, create_body("call_1"))
    await update(http, "connected", STARTED + 1_000)
    leg = create_body("call_2", parent_external_call_id="call_1")
    refused(await create(http, leg), "parent_external_call_id", "connected, not transferred")
    assert front_sim.state.call(CHANNEL, "call_2") is None

    # Once the first leg is transferred, the same leg is accepted and linked.
    assert (await update(http, "transferred", STARTED + 2_000)).status_code == 202
    assert (await create(http, leg)).status_code == 202
    second = front_sim.state.call(CHANNEL, "call_2")
    assert second is not None and second.parent_external_call_id == "call_1"


async def test_a_call_created_again_with_another_body(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    body = create_body()
    assert (await create(http, body)).status_code == 202
    assert (await create(http, body)).status_code == 202  # identical: a duplicate
    other = body | {"direction": "outbound", "to": {"handle": "+14155550100"}}
    del other["from"]
    message = refused(await create(http, other), "'call_1'", "already exists")
    assert "direction" in message and "from" in message and "to" in message
    refused(await create(http, body | {"started_at": STARTED + 1}), "started_at")
    recorded = front_sim.state.requests("create_call")
    assert [r["duplicate"] for r in recorded] == [False, True]
    call = front_sim.state.call(CHANNEL, "call_1")
    assert call is not None and call.direction == "inbound"


async def test_lenient_mode_accepts_what_strict_refuses(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    front_sim.state.configure(enforce_call_lifecycle=False)
    accepted = [
        await create(http, create_body("call_2", parent_external_call_id="call_1")),
        await create(http, create_body()),
        await create(
            http, create_body(direction="outbound", to={"handle": "+1415"}, **{"from": None})
        ),
        await update(http, "hold", STARTED // 1000),
        await update(http, "hangup", STARTED + 2_000),
        await update(http, "hangup", STARTED + 1_000),
        await update(http, "connected", STARTED + 3_000),
    ]
    assert [r.status_code for r in accepted] == [202] * len(accepted)
    assert history(front_sim) == ["ringing", "hold", "hangup", "hangup", "connected"]
    assert front_sim.state.stats()["conflicts"] == 0
