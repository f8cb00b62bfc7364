"""The flusher against the Front simulator: outcomes, order, backoff, pacing, hooks."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.core import slack_posts
from bot.delivery.flusher import Flusher
from bot.delivery.hooks import DeliveryHooks, OutboxRowSnapshot
from bot.delivery.outbox import FileToSend
from bot.runtime import Runtime
from bot.server import delivery_hooks
from storage.engine import session_scope
from storage.models import (
    DeliveryAlert,
    OutboxFile,
    OutboxPace,
    OutboxRow,
    SlackPost,
    Workspace,
    utcnow,
)
from tests.delivery.conftest import APP_SECRET, CHANNEL, FAST, Sim, add_call, add_messages
from tests.helpers.delivery import settle_posts
from tests.helpers.fake_slack import FakeSlack

pytestmark = pytest.mark.anyio


def rows(rt: Runtime) -> dict[int, OutboxRow]:
    with session_scope(rt.engine, readonly=True) as s:
        return {r.id: r for r in s.exec(select(OutboxRow)) if r.id is not None}


async def test_delivers_in_lane_order_and_keeps_fronts_ids(runtime: Runtime, sim: Sim) -> None:
    call_ids = add_call(runtime, "call-1", ("connected", "hold", "connected", "hangup"))
    msg_ids = add_messages(
        runtime, "conv-1", 3, files=(FileToSend("a.txt", "text/plain", b"hello"),)
    )
    flusher = Flusher(runtime, policy=FAST)
    stats = await flusher.flush()
    await flusher.aclose()

    assert stats.delivered == len(call_ids) + len(msg_ids)
    got = rows(runtime)
    assert {r.status for r in got.values()} == {"delivered"}
    assert all(r.lease_owner is None and r.attempts == 1 for r in got.values())
    assert got[msg_ids[0]].result and got[msg_ids[0]].result["message_uid"].startswith("sim")
    call = sim.state.call(CHANNEL, "call-1")
    assert call is not None and call.history == [
        "ringing",
        "connected",
        "hold",
        "connected",
        "hangup",
    ]
    sent = [
        r["body"]["metadata"]["external_id"] for r in sim.state.requests("sync_inbound_message")
    ]
    assert sent == ["conv-1-m0", "conv-1-m1", "conv-1-m2"]
    with session_scope(runtime.engine, readonly=True) as s:
        assert [f.data for f in s.exec(select(OutboxFile))] == [None, None, None]


def first_seen_order(sim: Sim) -> dict[str, list[str]]:
    """Per lane, the order in which requests first reached Front (duplicates dropped)."""
    order: dict[str, list[str]] = {}
    seen: set[str] = set()
    for r in sim.state.requests():
        key = r["idempotency_key"]
        if key in seen:
            continue
        seen.add(key)
        if r["operation"] in ("create_call", "update_call"):
            lane = r["path_params"].get("external_call_id") or r["body"]["external_call_id"]
            order.setdefault(lane, []).append(r["body"].get("call_status", "create"))
        else:
            meta = r["body"]["metadata"]
            order.setdefault(meta["external_conversation_id"], []).append(meta["external_id"])
    return order


@pytest.mark.parametrize("error_mode", ["before", "after"])
async def test_lane_order_holds_under_retries(runtime: Runtime, sim: Sim, error_mode: str) -> None:
    # 30% of requests fail; "after" means Front processed them before failing (so a
    # retry is a duplicate, which stable ids make harmless).
    sim.state.configure(error_rate=0.3, seed=7, error_mode=error_mode)
    statuses = ("connected", "hold", "connected", "hangup")
    for i in range(6):
        add_call(runtime, f"call-{i}", statuses)
    for i in range(3):
        add_messages(runtime, f"conv-{i}", 5)
    policy = FAST.__class__(**{**FAST.__dict__, "max_attempts": 100})
    flusher = Flusher(runtime, policy=policy, idle_wait=1.0)
    await flusher.flush()
    await flusher.aclose()

    assert {r.status for r in rows(runtime).values()} == {"delivered"}
    assert sim.state.stats()["server_errors"] > 0
    order = first_seen_order(sim)
    for i in range(6):
        assert order[f"call-{i}"] == ["create", *statuses]
        call = sim.state.call(CHANNEL, f"call-{i}")
        assert call is not None and call.history == ["ringing", *statuses]
    for i in range(3):
        assert order[f"conv-{i}"] == [f"conv-{i}-m{j}" for j in range(5)]


async def test_retryable_errors_back_off_exponentially(runtime: Runtime, sim: Sim) -> None:
    sim.state.configure(error_rate=1.0, error_statuses=[503])
    (row_id,) = add_messages(runtime, "conv", 1)
    policy = FAST.__class__(backoff_base=10.0, backoff_cap=100.0, jitter=0.2)
    flusher = Flusher(runtime, policy=policy)
    before = utcnow()
    await flusher.flush()
    await flusher.aclose()
    row = rows(runtime)[row_id]
    assert (row.status, row.attempts, row.last_error_status) == ("pending", 1, 503)
    assert row.last_error == "503 Service unavailable: injected fault"
    delay = (row.next_attempt_at - before).total_seconds()
    assert 8.0 <= delay <= 12.5
    # The n-th failure waits base * 2**(n-1), capped, within the jitter.
    for n, base in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (30, 100)):
        assert base * 0.8 <= policy.backoff(n) <= base * 1.2


async def test_rate_limited_rows_wait_as_front_says_without_spending_attempts(
    runtime: Runtime, sim: Sim
) -> None:
    sim.state.configure(rate_limit_per_minute=60, rate_limit_burst=1)
    ids = [add_messages(runtime, f"conv-{i}", 1)[0] for i in range(3)]
    flusher = Flusher(runtime, policy=FAST, idle_wait=0.0)
    before = utcnow()
    await flusher.flush()
    got = rows(runtime)
    limited = [got[i] for i in ids if got[i].status == "pending"]
    assert len(limited) == 2 and sim.state.stats()["rate_limited"] == 2
    for row in limited:
        assert row.attempts == 0 and row.last_error_status == 429
        assert 0.9 <= (row.next_attempt_at - before).total_seconds() <= 2.5
    with session_scope(runtime.engine, readonly=True) as s:
        pace = s.get(OutboxPace, "T1")
        assert pace is not None and pace.blocked_until is not None and pace.blocked_until > before

    # Once the wait is over they go (the flusher waits for them within its idle window).
    sim.state.configure(rate_limit_per_minute=None)
    flusher.idle_wait = 3.0
    await flusher.flush()
    await flusher.aclose()
    assert {r.status for r in rows(runtime).values()} == {"delivered"}
    assert all(r.attempts == 1 for r in rows(runtime).values())


async def test_steady_stream_is_paced_from_the_headers(runtime: Runtime, sim: Sim) -> None:
    # 600 a minute with a burst of 10: the bucket refills 10 a second.
    sim.state.configure(rate_limit_per_minute=600, rate_limit_burst=10)
    for i in range(25):
        add_messages(runtime, f"conv-{i}", 1)
    flusher = Flusher(runtime, policy=FAST, idle_wait=5.0)
    await flusher.flush()
    await flusher.aclose()
    assert {r.status for r in rows(runtime).values()} == {"delivered"}
    # Pacing from x-ratelimit-* keeps 429s rare (the first ones teach the limit).
    assert sim.state.stats()["rate_limited"] <= 3


async def test_rejected_fails_at_once_and_retryable_fails_after_max_attempts(
    runtime: Runtime, sim: Sim
) -> None:
    # Updating a call Front never saw: 404, which no retry will fix.
    with session_scope(runtime.engine) as s:
        from bot.delivery.outbox import SlackContext, call_lane, enqueue

        rejected = enqueue(
            s,
            operation="update_call",
            front_channel_id=CHANNEL,
            lane=call_lane("ghost"),
            payload={"call_status": "hangup"},
            path={"external_call_id": "ghost"},
            context=SlackContext(team_id="T1", channel_id="C1", thread_ts="1.0"),
        ).id
        invalid = enqueue(
            s,
            operation="add_call_summary",
            front_channel_id=CHANNEL,
            lane=call_lane("other"),
            payload={"content": ""},
            path={"external_call_id": "other"},
            context=SlackContext(team_id="T1"),
        ).id
    flusher = Flusher(runtime, policy=FAST.__class__(**{**FAST.__dict__, "max_attempts": 3}))
    await flusher.flush()
    got = rows(runtime)
    assert got[rejected].status == "failed" and got[rejected].attempts == 1
    assert got[rejected].last_error_status == 404
    assert "not found" in (got[rejected].last_error or "")
    assert got[invalid].status == "failed" and got[invalid].attempts == 1
    assert "content" in (got[invalid].last_error or "")

    sim.state.configure(error_rate=1.0, error_statuses=[502])
    (retryable,) = add_messages(runtime, "conv", 1)
    flusher.idle_wait = 1.0
    await flusher.flush()
    await flusher.aclose()
    row = rows(runtime)[retryable]
    assert (row.status, row.attempts, row.last_error_status) == ("failed", 3, 502)


async def test_a_retryable_row_older_than_max_age_fails(runtime: Runtime, sim: Sim) -> None:
    sim.state.configure(error_rate=1.0)
    (row_id,) = add_messages(runtime, "conv", 1)
    policy = FAST.__class__(**{**FAST.__dict__, "max_age": timedelta(0)})
    flusher = Flusher(runtime, policy=policy)
    await flusher.flush()
    await flusher.aclose()
    row = rows(runtime)[row_id]
    assert (row.status, row.attempts) == ("failed", 1)


async def test_hooks_run_in_the_outcome_transaction_and_a_failing_hook_breaks_nothing(
    runtime: Runtime, sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str, str | None]] = []

    def queue(session: Session, row: OutboxRowSnapshot, what: str) -> None:
        slack_posts.enqueue(
            session, team_id="T1", lane=f"test:{row.id}", kind="test", args={"what": what}
        )

    def on_message(session: Session, row: OutboxRowSnapshot) -> None:
        # Inside the transaction that records the outcome: the row is already in its state.
        stored = session.get(OutboxRow, row.id)
        assert stored is not None and stored.status == row.status
        seen.append((row.operation, row.status, row.message_uid))
        queue(session, row, "delivered")

    def broken(session: Session, row: OutboxRowSnapshot) -> None:
        queue(session, row, "broken")  # rolled back with its savepoint
        raise RuntimeError("hook bug")

    def on_failed(session: Session, row: OutboxRowSnapshot) -> None:
        seen.append((row.operation, row.status, row.last_error))
        queue(session, row, "failed")

    hooks = DeliveryHooks()
    hooks.on_delivered("*", broken)
    hooks.on_delivered("sync_inbound_message", on_message)
    hooks.on_failed("update_call", on_failed)
    add_messages(runtime, "conv", 1)
    with session_scope(runtime.engine) as s:
        from bot.delivery.outbox import SlackContext, call_lane, enqueue

        enqueue(
            s,
            operation="update_call",
            front_channel_id=CHANNEL,
            lane=call_lane("ghost"),
            payload={"call_status": "hangup"},
            path={"external_call_id": "ghost"},
            context=SlackContext(team_id="T1"),
        )
    flusher = Flusher(runtime, hooks=hooks, policy=FAST)
    await flusher.flush()
    await flusher.aclose()
    assert ("sync_inbound_message", "delivered", "sim00000001") in seen
    assert any(
        op == "update_call" and st == "failed" and "not found" in (e or "") for op, st, e in seen
    )
    assert "hook bug" in caplog.text
    assert {r.status for r in rows(runtime).values()} == {"delivered", "failed"}
    # What the hooks queued committed with the outcomes; the broken hook's write did not.
    with session_scope(runtime.engine, readonly=True) as s:
        queued = sorted(p.args["what"] for p in s.exec(select(SlackPost)))
    assert queued == ["delivered", "failed"]


async def test_two_flushes_at_once_in_one_process_do_not_overlap(
    runtime: Runtime, sim: Sim
) -> None:
    add_messages(runtime, "conv", 5)
    flusher = Flusher(runtime, policy=FAST)
    await asyncio.gather(flusher.flush(), flusher.flush())
    await flusher.aclose()
    assert sim.state.stats()["total_duplicates"] == 0
    assert {r.status for r in rows(runtime).values()} == {"delivered"}


async def test_refused_credentials_pause_the_workspace_and_tell_once_then_a_probe_resumes(
    runtime: Runtime, sim: Sim, fake_slack: FakeSlack
) -> None:
    sim.state.configure(app_secret="the-secret-was-rotated-in-front-0123456789")
    ids = [add_messages(runtime, f"conv-{i}", 2)[0] for i in range(3)]
    # The production hooks: the pause reaches Slack through them.
    flusher = Flusher(runtime, hooks=delivery_hooks(), policy=FAST, idle_wait=0.0)
    await flusher.flush()
    await settle_posts(runtime)  # the hooks queued the alert; the Slack poster posts it
    got = rows(runtime)
    assert {r.status for r in got.values()} == {"pending"}
    assert all(r.attempts == 0 and r.last_error_status == 401 for r in got.values() if r.id in ids)
    with session_scope(runtime.engine, readonly=True) as s:
        ws = s.get(Workspace, "T1")
        assert ws is not None and ws.paused_at is not None
        (alert,) = s.exec(select(DeliveryAlert)).all()
        assert (alert.kind, alert.state) == ("paused", "open")
    # No alerts channel set: the thread of the row that met the refusal hears it, once.
    (post,) = [a for a in fake_slack.called("chat.postMessage") if a.get("blocks")]
    assert post["channel"] == "C1" and post["thread_ts"] == "111.000"
    assert "paused" in post["text"] and "Resume" in json.dumps(post["blocks"])

    # Probes keep failing for a while: still paused, nobody is told again. Probes back off,
    # so wait for the next one to be refused rather than for a fixed time.
    refused_before = sim.state.stats()["unauthorized"]
    flusher.idle_wait = 0.3
    deadline = asyncio.get_running_loop().time() + 15
    while sim.state.stats()["unauthorized"] <= refused_before:
        assert asyncio.get_running_loop().time() < deadline, "no further probe was made"
        await flusher.flush()
        await asyncio.sleep(0.02)
    await settle_posts(runtime)
    with session_scope(runtime.engine, readonly=True) as s:
        ws = s.get(Workspace, "T1")
        assert ws is not None and ws.paused_at is not None
    assert len([a for a in fake_slack.called("chat.postMessage") if a.get("blocks")]) == 1

    # The credentials work again: the next probe gets through and everything goes.
    sim.state.configure(app_secret=APP_SECRET)
    flusher.idle_wait = 3.0
    await flusher.flush()
    await flusher.aclose()
    await settle_posts(runtime)
    assert {r.status for r in rows(runtime).values()} == {"delivered"}
    with session_scope(runtime.engine, readonly=True) as s:
        ws = s.get(Workspace, "T1")
        assert ws is not None and ws.paused_at is None
        alert = s.exec(select(DeliveryAlert)).one()
        assert alert.state == "resolved"
    update = fake_slack.called("chat.update")[-1]
    assert "resumed" in update["text"] and "Resume" not in json.dumps(update["blocks"])
