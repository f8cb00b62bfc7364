"""Prometheus metrics (`GET /metrics`).

Counted where things happen: Front requests (`front_call`, from the flusher) and Slack
acks (`time_ack`, around Bolt's handler). Read from the database at scrape time: the
outbox, the oldest pending row, paused workspaces (`DatabaseCollector`), so every
process answers the same.

With several processes (`serve --workers N`), PROMETHEUS_MULTIPROC_DIR must be set before
this module is first imported (the supervisor does it): each process then writes its
counts to files there and any process's scrape adds them up. Otherwise the default
registry of this process is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Iterable, Iterator
from typing import TypeVar
from urllib.parse import unquote_plus

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from bot.front import (
    FrontRateLimited,
    FrontRejected,
    FrontRetryable,
    FrontUnauthorized,
    InvalidRequest,
)
from bot.ops.figures import read_figures

T = TypeVar("T")

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

FRONT_REQUESTS = Counter(
    "switchboard_front_requests",
    "Channel API requests sent by the flusher, by operation and outcome.",
    ["operation", "outcome"],
)
FRONT_SECONDS = Histogram(
    "switchboard_front_request_seconds",
    "Time for Front to answer a Channel API request.",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ACK_SECONDS = Histogram(
    "switchboard_slack_ack_seconds",
    "Time from a Slack request's arrival to our HTTP answer (the ack), by kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3),
)
ACK_KINDS = ("command", "action", "view_submission", "shortcut", "event", "options", "other")


def front_outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "delivered"
    if not isinstance(exc, Exception):
        return "cancelled"
    if isinstance(exc, FrontRateLimited):
        return "rate_limited"
    if isinstance(exc, FrontUnauthorized):
        return "unauthorized"
    if isinstance(exc, FrontRetryable):
        return "retryable"
    if isinstance(exc, FrontRejected | InvalidRequest):
        return "rejected"
    return "error"


async def front_call(operation: str, call: Awaitable[T]) -> T:
    """Await a Front client call, counting it by outcome and timing it."""
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        return await call
    except BaseException as exc:  # a cancelled send is counted as such, not as delivered
        error = exc
        raise
    finally:
        FRONT_SECONDS.labels(operation).observe(time.perf_counter() - started)
        FRONT_REQUESTS.labels(operation, front_outcome(error)).inc()


def ack_kind(content_type: str, body: bytes) -> str:
    """What a Slack request is, from its body: cheap substring checks, no parsing."""
    if "json" in content_type:
        return "event"  # event_callback and url_verification
    if body.startswith(b"payload=") or b"&payload=" in body:
        head = unquote_plus(body[:4000].decode("latin-1"))
        for marker, kind in (
            ('"type":"view_submission"', "view_submission"),
            ('"type":"view_closed"', "view_submission"),
            ('"type":"block_actions"', "action"),
            ('"type":"shortcut"', "shortcut"),
            ('"type":"message_action"', "shortcut"),
            ('"type":"block_suggestion"', "options"),
        ):
            if marker in head.replace('": "', '":"'):
                return kind
        return "other"
    if body.startswith(b"command=") or b"&command=" in body:
        return "command"
    return "other"


def observe_ack(kind: str, seconds: float) -> None:
    ACK_SECONDS.labels(kind).observe(seconds)


class DatabaseCollector(Collector):
    """Outbox and pause figures, read when Prometheus scrapes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("switchboard_database_up", "1 when the database answered.")
        try:
            figures = read_figures(self.engine)
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        rows = GaugeMetricFamily(
            "switchboard_outbox_rows", "Outbox rows by status.", labels=["status"]
        )
        for status, n in sorted(figures.outbox.items()):
            rows.add_metric([status], n)
        yield rows
        yield GaugeMetricFamily(
            "switchboard_outbox_oldest_pending_seconds",
            "Age of the oldest row still to deliver (0 when none).",
            value=figures.oldest_pending_seconds or 0.0,
        )
        yield GaugeMetricFamily(
            "switchboard_paused_workspaces",
            "Workspaces whose deliveries are paused.",
            value=len(figures.paused),
        )


class _ThisProcess(Collector):
    """The default registry's metrics (single process)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def render(engine: Engine) -> bytes:
    """The exposition text. Blocking (database): run it in a worker thread."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector(engine))
    return generate_latest(registry)
