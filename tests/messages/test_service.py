from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.core import links
from bot.core.errors import InvalidFields, NotLinked, UserError
from bot.delivery.outbox import FileToSend
from bot.features.messages import drafts
from bot.features.messages import service as svc
from storage.engine import session_scope
from storage.models import Direction, LoggedMessage, OutboxFile, OutboxRow, ThreadLink
from tests.messages.spec import assert_valid

TEAM, CHANNEL = "T1", "C1"


def draft(ts: str, root: str | None = None, **kw: object) -> drafts.MessageDraft:
    values: dict[str, object] = {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "ts": ts,
        "root_ts": root or ts,
        "direction": Direction.inbound,
        "contact": drafts.Contact("ada@example.com", "Ada", "ada@example.com"),
        "body_html": "<div>hello</div>",
        "body_text": "hello",
        "logged_by": "U1",
        "source": drafts.Source.shortcut,
    }
    values.update(kw)
    return drafts.MessageDraft(**values)  # type: ignore[arg-type]


@pytest.fixture
def linked(engine: Engine) -> Engine:
    with session_scope(engine) as s:
        links.connect(
            s, team_id=TEAM, slack_channel_id=CHANNEL, front_channel_id="cha_1", user_id="U0"
        )
    return engine


def log(engine: Engine, d: drafts.MessageDraft) -> svc.LogOutcome:
    with session_scope(engine) as s:
        return svc.log_message(s, draft=d)


def rows(engine: Engine) -> list[OutboxRow]:
    with session_scope(engine, readonly=True) as s:
        return list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def test_ids_are_stable_and_short() -> None:
    assert (
        drafts.message_external_id("T1", "C1", "1700000000.000100")
        == "slack:T1:C1:1700000000.000100"
    )
    assert drafts.conversation_external_id("T1", "C1", "1700000000.000100") == (
        "slack-thread:T1:C1:1700000000.000100"
    )
    long = drafts.message_external_id("T" * 100, "C" * 100, "1.2")
    assert len(long) == 200 and long == drafts.message_external_id("T" * 100, "C" * 100, "1.2")
    assert long != drafts.message_external_id("T" * 100, "C" * 100, "1.3")
    assert drafts.delivered_at("1700000000.999999") == 1700000000
    assert drafts.ts_value("1700000000.000100") < drafts.ts_value("1700000000.000200")
    assert drafts.ts_value("1700000000.000100") == Decimal("1700000000.0001")
    with pytest.raises(ValueError):
        drafts.delivered_at("nope")


def test_contact_checks() -> None:
    c = drafts.check_contact(handle=" 06 12 34 56 78 ", name=" Ada ", email="", region="FR")
    assert c == drafts.Contact("+33612345678", "Ada", None)
    c = drafts.check_contact(handle="", name=None, email="Ada@Example.com", region="US")
    assert c.handle == c.email == "Ada@example.com"
    with pytest.raises(InvalidFields) as err:
        drafts.check_contact(handle="+1 555", name=None, email="not-an-email", region="US")
    assert set(err.value.errors) == {"handle", "email"}


def test_first_message_starts_a_conversation(linked: Engine) -> None:
    out = log(linked, draft("1700000000.000100"))
    assert out.created
    (row,) = rows(linked)
    assert row.operation == "sync_inbound_message"
    assert row.lane == "conversation:cha_1:slack-thread:T1:C1:1700000000.000100"
    assert row.payload == {
        "sender": {"handle": "ada@example.com", "name": "Ada", "email": "ada@example.com"},
        "body": "<div>hello</div>",
        "metadata": {
            "external_id": "slack:T1:C1:1700000000.000100",
            "external_conversation_id": "slack-thread:T1:C1:1700000000.000100",
        },
        "delivered_at": 1700000000,
    }
    assert_valid(row.operation, row.payload)
    with session_scope(linked, readonly=True) as s:
        (link,) = s.exec(select(ThreadLink)).all()
    assert (link.kind, link.thread_ts, link.external_id) == (
        "conversation",
        "1700000000.000100",
        "slack-thread:T1:C1:1700000000.000100",
    )


def test_replies_thread_and_reference_the_previous_message(linked: Engine) -> None:
    root = "1700000000.000100"
    log(linked, draft(root))
    log(linked, draft("1700000050.000300", root))
    # Logged late, between the two: it references the root, not the latest log.
    out = log(
        linked,
        draft(
            "1700000020.000200",
            root,
            direction=Direction.outbound,
            sender_name="Bob",
            author_email="bob@acme.example",
            subject="Re: order",
        ),
    )
    assert out.message.referenced_external_id == f"slack:T1:C1:{root}"
    first, second, third = rows(linked)
    assert first.lane == second.lane == third.lane
    assert second.payload["metadata"]["referenced_message_external_id"] == f"slack:T1:C1:{root}"
    assert third.operation == "sync_outbound_message"
    assert third.payload["to"] == [
        {"handle": "ada@example.com", "name": "Ada", "email": "ada@example.com"}
    ]
    assert third.payload["author_id"] == "alt:email:bob@acme.example"
    assert third.payload["sender_name"] == "Bob"
    assert third.payload["subject"] == "Re: order"
    for row in (first, second, third):
        assert_valid(row.operation, row.payload)


def test_the_same_message_twice_is_queued_once(linked: Engine) -> None:
    assert log(linked, draft("1700000000.000100")).created
    again = log(linked, draft("1700000000.000100", body_html="<div>edited</div>"))
    assert not again.created and again.message.body_text == "hello"
    assert len(rows(linked)) == 1


def test_a_concurrent_duplicate_is_refused_by_the_database(linked: Engine) -> None:
    log(linked, draft("1700000000.000100"))
    with pytest.raises(IntegrityError), session_scope(linked) as s:
        # As if the first insert had not been seen yet.
        s.add(
            LoggedMessage(
                external_id="slack:T1:C1:1700000000.000100",
                external_conversation_id="x",
                team_id=TEAM,
                slack_channel_id=CHANNEL,
                front_channel_id="cha_1",
                direction="inbound",
                handle="h",
                logged_by="U1",
            )
        )
        s.flush()


def test_unlinked_channel_is_refused(engine: Engine) -> None:
    with pytest.raises(NotLinked):
        log(engine, draft("1700000000.000100"))
    assert rows(engine) == []


def test_files_travel_with_the_row_and_size_is_checked(linked: Engine) -> None:
    files = [FileToSend("a.txt", "text/plain", b"abc"), FileToSend("b.png", "image/png", b"\x89")]
    log(linked, draft("1700000000.000100", files=files))
    (row,) = rows(linked)
    with session_scope(linked, readonly=True) as s:
        stored = s.exec(select(OutboxFile).where(OutboxFile.outbox_id == row.id)).all()
    assert [(f.position, f.filename, f.data) for f in stored] == [
        (0, "a.txt", b"abc"),
        (1, "b.png", b"\x89"),
    ]
    with pytest.raises(drafts.FilesTooLarge):
        drafts.check_size(25 * 1024 * 1024, "x")
    drafts.check_size(20 * 1024 * 1024, "x")
    drafts.check_size(0, "x" * 30 * 1024 * 1024)  # no files: the body goes as JSON


def test_mark_failed_queues_the_status_in_the_conversation_lane(linked: Engine) -> None:
    out = log(linked, draft("1700000000.000100", direction=Direction.outbound))
    with session_scope(linked) as s:
        svc.mark_failed(
            s, team_id=TEAM, external_id=out.message.external_id, reason=" bounced ", user_id="U2"
        )
    first, status = rows(linked)
    assert status.operation == "update_external_message_status"
    assert status.lane == first.lane
    assert status.payload == {"status": "failed", "reason": "bounced"}
    assert status.path == {
        "conv_ext_id": out.message.external_conversation_id,
        "message_ext_id": out.message.external_id,
    }
    assert_valid(status.operation, status.payload)
    with pytest.raises(UserError, match="already marked"), session_scope(linked) as s:
        svc.mark_failed(
            s, team_id=TEAM, external_id=out.message.external_id, reason="x", user_id="U3"
        )


def test_two_clicks_at_once_mark_a_message_failed_once(linked: Engine) -> None:
    if linked.dialect.name != "postgresql":
        pytest.skip("SQLite serialises write transactions (BEGIN IMMEDIATE)")
    out = log(linked, draft("1700000000.000100", direction=Direction.outbound))
    refused: list[UserError] = []

    def second_click() -> None:
        try:
            with session_scope(linked) as s:
                svc.mark_failed(
                    s, team_id=TEAM, external_id=out.message.external_id, reason="b", user_id="U3"
                )
        except UserError as exc:
            refused.append(exc)

    def waiting_on_a_lock() -> bool:
        with linked.connect() as conn:
            return bool(
                conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).one()[0]
            )

    with session_scope(linked) as s:
        svc.mark_failed(
            s, team_id=TEAM, external_id=out.message.external_id, reason="a", user_id="U2"
        )
        other = threading.Thread(target=second_click)
        other.start()
        deadline = time.monotonic() + 10
        while not waiting_on_a_lock() and other.is_alive():
            assert time.monotonic() < deadline, "the second click never reached the row"
            time.sleep(0.01)
    other.join(10)
    assert len(refused) == 1
    statuses = [r for r in rows(linked) if r.operation == "update_external_message_status"]
    assert len(statuses) == 1 and statuses[0].payload["reason"] == "a"


def test_inbound_messages_cannot_be_marked_failed(linked: Engine) -> None:
    out = log(linked, draft("1700000000.000100"))
    with pytest.raises(UserError, match="sent to a customer"), session_scope(linked) as s:
        svc.mark_failed(
            s, team_id=TEAM, external_id=out.message.external_id, reason="", user_id="U"
        )


def test_record_delivery(linked: Engine) -> None:
    log(linked, draft("1700000000.000100"))
    (row,) = rows(linked)
    with session_scope(linked) as s:
        msg = svc.record_delivery(
            s,
            operation=row.operation,
            payload=row.payload,
            path=row.path,
            delivered=True,
            message_uid="uid_1",
        )
        assert msg is not None
        assert (msg.delivery_state, msg.message_uid) == ("delivered", "uid_1")
        assert (
            svc.record_delivery(s, operation="create_call", payload={}, path={}, delivered=True)
            is None
        )


def test_thread_info(linked: Engine) -> None:
    root = "1700000000.000100"
    with session_scope(linked, readonly=True) as s:
        info = svc.thread_info(s, team_id=TEAM, channel_id=CHANNEL, root_ts=root, ts=root)
    assert info == svc.ThreadInfo(can_log=True)
    log(linked, draft(root))
    with session_scope(linked, readonly=True) as s:
        info = svc.thread_info(s, team_id=TEAM, channel_id=CHANNEL, root_ts=root, ts="1700000001.0")
        again = svc.thread_info(s, team_id=TEAM, channel_id=CHANNEL, root_ts=root, ts=root)
    assert info.external_conversation_id == f"slack-thread:T1:C1:{root}"
    assert info.contact == drafts.Contact("ada@example.com", "Ada", "ada@example.com")
    assert info.already is None
    assert again.already is not None
