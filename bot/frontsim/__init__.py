"""A local simulator of Front's Channel API, for tests, demos and benchmarks.

`switchboard frontsim` and `python -m bot.frontsim` serve it (`serve_from_command_line`,
as strict and rate-limited as Front); tests start it in a thread with
`running_simulator` or mount `create_app(config)` themselves and inspect it through
`get_state(app)`. Routes and request schemas come from `bot/front/openapi.json`.
"""

from ._app import create_app, get_state
from ._config import CompanySettings, SimConfig
from ._launch import (
    Credentials,
    command_line_config,
    describe_credentials,
    read_credentials,
    serve_from_command_line,
)
from ._server import run, running_simulator, serve
from ._state import CALL_TRANSITIONS, RecordedRequest, SimCall, SimState

__all__ = [
    "CALL_TRANSITIONS",
    "CompanySettings",
    "Credentials",
    "RecordedRequest",
    "SimCall",
    "SimConfig",
    "SimState",
    "command_line_config",
    "create_app",
    "describe_credentials",
    "get_state",
    "read_credentials",
    "run",
    "running_simulator",
    "serve",
    "serve_from_command_line",
]
