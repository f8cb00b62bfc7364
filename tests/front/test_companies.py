"""Front companies: rate limits and faults per company, and per channel resource.

Front limits each company (customer account) on its own; the simulator maps channels to
companies (by default a channel is its own company) and reports per-company counts so
that a benchmark can judge fairness.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.frontsim import CompanySettings, SimConfig

from .conftest import Sim
from .simulator import auth_header

pytestmark = pytest.mark.anyio

RATE_HEADERS = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}


@pytest.fixture
async def http(front_sim: Sim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=front_sim.url, verify=False) as client:
        yield client


async def ping(http: httpx.AsyncClient, channel: str, **kw: float) -> httpx.Response:
    """One cheap valid request on `channel` (update_channel)."""
    return await http.patch(
        f"/channels/{channel}", json={"status": "ok"}, headers=auth_header(channel), **kw
    )


async def statuses(http: httpx.AsyncClient, channel: str, count: int) -> list[int]:
    return [(await ping(http, channel)).status_code for _ in range(count)]


def assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.json() == {
        "_error": {
            "status": 429,
            "title": "Too many requests",
            "message": response.json()["_error"]["message"],
        }
    }
    assert "Rate limit exceeded" in response.json()["_error"]["message"]
    assert int(response.headers["retry-after"]) >= 1
    assert RATE_HEADERS <= set(response.headers)


async def test_each_channel_is_its_own_company_by_default(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    front_sim.state.configure(rate_limit_per_minute=2)
    assert await statuses(http, "cha_a", 3) == [204, 204, 429]
    # Another channel, another company: its own full bucket.
    assert await statuses(http, "cha_b", 2) == [204, 204]

    companies = front_sim.state.stats()["companies"]
    assert companies["cha_a"] == {
        "channels": ["cha_a"],
        "requests": 3,
        "accepted": 2,
        "rate_limited": 1,
        "server_errors": 0,
        "unauthorized": 0,
        "rejected": 0,
    }
    assert companies["cha_b"]["accepted"] == 2 and companies["cha_b"]["rate_limited"] == 0


async def test_channels_of_one_company_share_its_bucket(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    front_sim.state.configure(
        rate_limit_per_minute=3, channel_companies={"cha_a": "acme", "cha_b": "acme"}
    )
    assert await statuses(http, "cha_a", 2) == [204, 204]
    response = await ping(http, "cha_b")
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert_429(await ping(http, "cha_b"))
    assert await statuses(http, "cha_other", 1) == [204]  # not in acme

    stats = (await http.get("/_sim/stats")).json()["companies"]
    assert stats["acme"]["channels"] == ["cha_a", "cha_b"]
    assert (stats["acme"]["requests"], stats["acme"]["accepted"]) == (4, 3)
    assert stats["acme"]["rate_limited"] == 1
    assert "cha_a" not in stats and stats["cha_other"]["accepted"] == 1


async def test_a_company_has_its_own_limit_and_burst(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    front_sim.state.configure(
        rate_limit_per_minute=1,
        channel_companies={"cha_big": "big"},
        companies={"big": {"rate_limit_per_minute": 60, "rate_limit_burst": 3}},
    )
    first = await ping(http, "cha_big")
    assert first.headers["x-ratelimit-limit"] == "3"
    assert first.headers["x-ratelimit-remaining"] == "2"
    assert await statuses(http, "cha_big", 2) == [204, 204]
    limited = await ping(http, "cha_big")
    assert_429(limited)
    assert limited.headers["retry-after"] == "1"  # 60 a minute: a token a second
    # The global limit (1 a minute) is what the other companies inherit.
    assert await statuses(http, "cha_small", 2) == [204, 429]
    assert (await ping(http, "cha_small")).headers["x-ratelimit-limit"] == "1"


async def test_429_waits_for_the_company_bucket(http: httpx.AsyncClient, front_sim: Sim) -> None:
    front_sim.state.configure(rate_limit_per_minute=60, rate_limit_burst=1)
    await ping(http, "cha_a")
    limited = await ping(http, "cha_a")
    assert_429(limited)
    assert limited.headers["retry-after"] == "1"
    reset = int(limited.headers["x-ratelimit-reset"])
    assert time.time() <= reset <= time.time() + 2
    # A refused request takes no token: one second later exactly one more passes.
    time.sleep(1.05)
    assert await statuses(http, "cha_a", 2) == [204, 429]


async def test_a_companys_error_rate(http: httpx.AsyncClient, front_sim: Sim) -> None:
    front_sim.state.configure(
        channel_companies={"cha_f1": "flaky", "cha_f2": "flaky"},
        companies={"flaky": {"error_rate": 1.0}},
        error_statuses=[502],
    )
    broken = await ping(http, "cha_f2")
    assert broken.status_code == 502 and broken.json()["_error"]["status"] == 502
    assert RATE_HEADERS <= set(broken.headers)
    assert await statuses(http, "cha_f1", 2) == [502, 502]
    assert await statuses(http, "cha_fine", 3) == [204, 204, 204]
    companies = front_sim.state.stats()["companies"]
    assert companies["flaky"]["server_errors"] == 3 and companies["flaky"]["accepted"] == 0
    assert companies["cha_fine"]["server_errors"] == 0


async def test_a_company_that_refuses_credentials(http: httpx.AsyncClient, front_sim: Sim) -> None:
    front_sim.state.configure(
        channel_companies={"cha_gone": "gone"}, companies={"gone": {"refuse_credentials": True}}
    )
    refused = await ping(http, "cha_gone")  # a valid JWT all the same
    assert refused.status_code == 401
    assert refused.json()["_error"]["title"] == "Unauthorized"
    assert RATE_HEADERS <= set(refused.headers)
    assert await statuses(http, "cha_here", 1) == [204]
    assert front_sim.state.company_stats("gone")["unauthorized"] == 1
    assert front_sim.state.requests() and all(
        r["channel_id"] == "cha_here" for r in front_sim.state.requests()
    )


async def test_a_companys_latency(http: httpx.AsyncClient, front_sim: Sim) -> None:
    front_sim.state.configure(
        channel_companies={"cha_slow": "slow"}, companies={"slow": {"latency_ms": 1500}}
    )
    with pytest.raises(httpx.ReadTimeout):
        await ping(http, "cha_slow", timeout=0.3)
    started = time.monotonic()
    assert (await ping(http, "cha_fast")).status_code == 204
    assert time.monotonic() - started < 1.0


async def test_resource_limit_per_channel(http: httpx.AsyncClient, front_sim: Sim) -> None:
    # Slower than Front's 5 a second (with the same burst of 5) so a loaded machine
    # cannot refill a token between the burst's requests.
    front_sim.state.configure(
        resource_rate_per_second=2,
        resource_burst=5,
        channel_companies={"cha_a": "acme", "cha_b": "acme"},
    )
    burst = [await ping(http, "cha_a") for _ in range(6)]
    assert [r.status_code for r in burst] == [204] * 5 + [429]
    assert_429(burst[-1])
    assert "on this channel (2 requests per second" in burst[-1].json()["_error"]["message"]
    # Per channel, not per company: cha_b of the same company is not held back.
    assert await statuses(http, "cha_b", 5) == [204] * 5
    time.sleep(0.55)  # a token every 0.5 s
    assert (await ping(http, "cha_a")).status_code == 204
    assert front_sim.state.company_stats("acme")["rate_limited"] == 1


def test_resource_limit_is_off_unless_set() -> None:
    assert SimConfig().resource_rate_per_second is None
    assert SimConfig().rate_limit_per_minute is None


async def test_resource_limit_under_a_company_limit(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    # Refused by the channel's limit, the request does not spend the company's token.
    front_sim.state.configure(rate_limit_per_minute=3, resource_rate_per_second=1)
    assert await statuses(http, "cha_a", 2) == [204, 429]
    first = await ping(http, "cha_a")
    assert first.status_code == 429 and first.headers["x-ratelimit-remaining"] == "2"
    assert front_sim.state.company_stats("cha_a") | {"channels": []} == {
        "channels": [],
        "requests": 3,
        "accepted": 1,
        "rate_limited": 2,
        "server_errors": 0,
        "unauthorized": 0,
        "rejected": 0,
    }


async def test_companies_are_set_through_the_control_api(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    config = (
        await http.post(
            "/_sim/config",
            json={
                "channel_companies": {"cha_a": "acme"},
                "companies": {"acme": {"rate_limit_per_minute": 50, "latency_ms": 0}},
                "resource_rate_per_second": 5,
            },
        )
    ).json()
    assert config["channel_companies"] == {"cha_a": "acme"}
    assert config["companies"]["acme"]["rate_limit_per_minute"] == 50
    assert config["companies"]["acme"]["refuse_credentials"] is False
    assert front_sim.state.config.companies["acme"] == CompanySettings(
        rate_limit_per_minute=50, latency_ms=0
    )
    assert (await ping(http, "cha_a")).headers["x-ratelimit-limit"] == "50"

    for bad, word in [
        ({"companies": {"acme": {"colour": "blue"}}}, "colour"),
        ({"companies": {"acme": {"error_rate": 2}}}, "error_rate"),
        ({"companies": {"acme": 5}}, "acme"),
        ({"channel_companies": {"cha_a": 7}}, "channel_companies"),
        ({"resource_rate_per_second": 0}, "resource_rate_per_second"),
    ]:
        answer = await http.post("/_sim/config", json=bad)
        assert answer.status_code == 400 and word in answer.json()["error"], bad
    assert front_sim.state.config.channel_companies == {"cha_a": "acme"}  # unchanged

    assert (await http.post("/_sim/reset")).status_code == 204
    assert front_sim.state.config.companies == {}
    assert (await http.get("/_sim/stats")).json()["companies"] == {}


async def test_unknown_routes_count_for_the_channels_company(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    front_sim.state.configure(channel_companies={"cha_a": "acme"})
    missing = await http.post("/channels/cha_a/nothing", json={}, headers=auth_header("cha_a"))
    assert missing.status_code == 404
    assert front_sim.state.company_stats("acme")["rejected"] == 1


async def test_answers_are_logged_with_their_time_and_company(
    http: httpx.AsyncClient, front_sim: Sim
) -> None:
    front_sim.state.configure(
        channel_companies={"cha_a": "acme"},
        companies={"acme": {"rate_limit_per_minute": 60, "rate_limit_burst": 1}},
    )
    before = time.time()
    assert await statuses(http, "cha_a", 2) == [204, 429]
    assert await statuses(http, "cha_b", 1) == [204]
    log = front_sim.state.answers()
    assert [(a["company"], a["status"]) for a in log] == [
        ("acme", 204),
        ("acme", 429),
        ("cha_b", 204),
    ]
    assert all(before <= a["at"] <= time.time() for a in log)
    assert [a["status"] for a in front_sim.state.answers("acme", since=log[1]["at"])] == [429]
    got = (await http.get("/_sim/answers", params={"company": "cha_b"})).json()
    assert [a["status"] for a in got] == [204]
    assert (await http.get("/_sim/answers", params={"since": "soon"})).status_code == 400
