"""Running the simulator: in the foreground (`run`) or in a thread for tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Literal

import uvicorn

from ._app import create_app, get_state
from ._config import SimConfig
from ._state import SimState

__all__ = ["run", "running_simulator", "serve"]


def _bind(host: str, port: int) -> socket.socket:
    # Bound here rather than by uvicorn so the real port is known before serving (port 0).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every answer with a body waits ~40 ms on a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # Listening at once lets clients connect (into the backlog) before uvicorn serves.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(
    host: str = "127.0.0.1",
    port: int = 4010,
    app_uid: str | None = None,
    app_secret: str | None = None,
    api_token: str | None = None,
    *,
    rate_limit_per_minute: int | None = None,
    retry_after_unit: Literal["s", "ms"] = "s",
    error_rate: float = 0.0,
    latency_ms: float = 0.0,
    seed: int = 0,
    log_level: str = "info",
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve the Front simulator until interrupted (Ctrl-C); blocks.

    It answers Front's 11 Channel API operations at the spec's paths under
    `http://host:port` (point `FRONT_API_URL` there), validates every request against
    the vendored OpenAPI spec, and accepts `Bearer` JWTs signed with `app_secret`
    (iss = `app_uid`, sub = channel id) or the plain `api_token`; with neither set, any
    Bearer passes. Faults: `rate_limit_per_minute` (429 beyond it, `retry_after_unit`
    "s" or "ms"), `error_rate` (share of 5xx answers, reproducible with `seed`),
    `latency_ms`. All can be changed while running with `POST /_sim/config`; see
    `GET /_sim/requests`, `GET /_sim/stats` and `POST /_sim/reset`. For every other
    setting (companies, callbacks, lenient lifecycle...) build a `SimConfig` and `serve` it.

    `port=0` picks a free port; `on_listening(base_url)` is called once it is bound.
    """
    config = SimConfig(
        app_uid=app_uid,
        app_secret=app_secret,
        api_token=api_token,
        rate_limit_per_minute=rate_limit_per_minute,
        retry_after_unit=retry_after_unit,
        error_rate=error_rate,
        latency_ms=latency_ms,
        seed=seed,
    )
    serve(config, host=host, port=port, log_level=log_level, on_listening=on_listening)


def serve(
    config: SimConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 4010,
    log_level: str = "info",
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve a simulator with `config` until interrupted; see `run`."""
    sock = _bind(host, port)
    server = uvicorn.Server(
        # host/port only label uvicorn's start-up line; the socket is already bound.
        uvicorn.Config(
            create_app(config),
            host=host,
            port=port,
            log_level=log_level,
            lifespan="off",
            ws="none",
        )
    )
    if on_listening is not None:
        on_listening(_url(host, sock))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextlib.contextmanager
def running_simulator(
    config: SimConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    start_timeout: float = 10.0,
) -> Iterator[tuple[str, SimState]]:
    """Run a real simulator server in a background thread; yield (base_url, state).

    `state` is the live `SimState`: read `state.requests()` / `state.stats()`, change
    faults with `state.configure(...)`, clear with `state.reset()`. Use secrets of 32
    bytes or more: PyJWT warns about shorter HMAC keys, and tests turn warnings into
    errors.
    """
    app = create_app(config)
    sock = _bind(host, port)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="frontsim", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + start_timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Front simulator did not start")
            time.sleep(0.005)
        yield _url(host, sock), get_state(app)
    finally:
        server.should_exit = True
        thread.join(timeout=start_timeout)
        sock.close()
