"""The operational figures, read from the database: what the status page (with
STATUS_TOKEN) and /metrics show. Counts, ages and ids only: never a name, a message or a
token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, text
from sqlmodel import col, select

from storage.engine import session_scope
from storage.models import (
    OUTBOX_TODO_SQL,
    DeliveryProcess,
    OutboxRow,
    OutboxStatus,
    Workspace,
    utcnow,
)


@dataclass(frozen=True)
class PausedWorkspace:
    team_id: str
    since: datetime
    why: str  # "uninstalled", "tokens revoked" or "Front refused the credentials"


@dataclass(frozen=True)
class ProcessFlush:
    owner: str
    host: str
    pid: int
    last_flush_at: datetime | None
    updated_at: datetime
    delivered: int
    failed: int


@dataclass(frozen=True)
class Figures:
    outbox: dict[str, int]
    oldest_pending_seconds: float | None
    paused: list[PausedWorkspace]
    processes: list[ProcessFlush]


def paused_why(reason: str | None) -> str:
    """Front's words stay out of view: they may quote a request."""
    if reason in ("uninstalled", "tokens revoked"):
        return reason
    return "Front refused the credentials"


def read_figures(engine: Engine, *, now: datetime | None = None) -> Figures:
    """Blocking (a worker thread in async code); one read-only transaction."""
    now = now or utcnow()
    with session_scope(engine, readonly=True) as session:
        counts = {str(s): 0 for s in OutboxStatus}
        for status, n in session.exec(
            select(OutboxRow.status, func.count()).group_by(col(OutboxRow.status))
        ):
            counts[str(status)] = int(n)
        # Among unfinished rows only (a partial index): not a walk in id order through the
        # delivered rows, which are the oldest.
        oldest = session.execute(
            text(
                f"SELECT MIN(created_at) AS created_at FROM outbox WHERE {OUTBOX_TODO_SQL}"
            ).columns(
                created_at=OutboxRow.__table__.c.created_at.type  # type: ignore[attr-defined]
            )
        ).scalar()
        paused = [
            PausedWorkspace(ws.team_id, ws.paused_at, paused_why(ws.paused_reason))
            for ws in session.exec(
                select(Workspace)
                .where(col(Workspace.paused_at).is_not(None))
                .order_by(col(Workspace.team_id))
            )
            if ws.paused_at is not None
        ]
        processes = [
            ProcessFlush(
                p.owner, p.host, p.pid, p.last_flush_at, p.updated_at, p.delivered, p.failed
            )
            for p in session.exec(
                select(DeliveryProcess).order_by(col(DeliveryProcess.updated_at).desc())
            )
        ]
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else None
    return Figures(counts, age, paused, processes)
