from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from bot.front import FrontClient, JwtAuth
from bot.frontsim import SimState

from .simulator import APP_SECRET, APP_UID, simulator


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Sim:
    url: str
    state: SimState


@pytest.fixture(scope="session")
def _front_sim_server() -> Iterator[Sim]:
    with simulator() as (url, state):
        yield Sim(url, state)


@pytest.fixture
def front_sim(_front_sim_server: Sim) -> Sim:
    """A running simulator (shared by the session), reset to its start-up settings."""
    _front_sim_server.state.reset()
    return _front_sim_server


@pytest.fixture
async def front_client(front_sim: Sim) -> AsyncIterator[FrontClient]:
    async with FrontClient(front_sim.url, JwtAuth(APP_UID, APP_SECRET)) as client:
        yield client
