"""A local simulator of Front's Channel API, for tests, demos and benchmarks.

`switchboard frontsim` serves it (see `run`); tests start it in a thread with
`running_simulator` or mount `create_app(config)` themselves and inspect it through
`get_state(app)`. Routes and request schemas come from `bot/front/openapi.json`.
"""

from ._app import create_app, get_state
from ._config import CompanySettings, SimConfig
from ._server import run, running_simulator
from ._state import CALL_TRANSITIONS, RecordedRequest, SimCall, SimState

__all__ = [
    "CALL_TRANSITIONS",
    "CompanySettings",
    "RecordedRequest",
    "SimCall",
    "SimConfig",
    "SimState",
    "create_app",
    "get_state",
    "run",
    "running_simulator",
]
