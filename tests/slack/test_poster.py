"""The Slack poster against the fake Slack: lanes keep order, an outage or a 429 is retried,
a refusal gives the post up and its kind says so, a `tell` falls back to a DM."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import slack_posts
from bot.core.slack_posts import PostJob
from bot.runtime import Runtime
from bot.slack import say
from bot.slack.poster import PostContext, PostKinds, SlackPoster
from storage.engine import make_engine, session_scope
from storage.models import SlackPost, utcnow
from tests.conftest import make_settings
from tests.helpers.fake_slack import FakeSlack

pytestmark = pytest.mark.anyio

SAY = "test.say"


@pytest.fixture
def runtime(database_url: str, fake_slack: FakeSlack) -> Iterator[Runtime]:
    settings = make_settings(database_url=database_url, slack_api_url=fake_slack.api_url)
    rt = Runtime(settings=settings, engine=make_engine(database_url))
    yield rt
    rt.engine.dispose()


async def send_say(ctx: PostContext) -> dict[str, Any]:
    posted = await ctx.client.chat_postMessage(channel=ctx.args["channel"], text=ctx.args["text"])
    return {"ts": posted["ts"]}


recorded: list[tuple[str, str]] = []


def record_say(session: Session, job: PostJob, result: dict[str, Any]) -> None:
    recorded.append((job.args["text"], result["ts"]))


def say_failed(session: Session, job: PostJob, error: str) -> None:
    slack_posts.tell(
        session, team_id=job.team_id, user="U1", text=f"could not say {job.args['text']}: {error}"
    )


def poster(runtime: Runtime) -> SlackPoster:
    kinds = PostKinds()
    say.register_posts(kinds)
    kinds.add(SAY, send_say, record_say, say_failed)
    return SlackPoster(runtime, kinds)


def queue(runtime: Runtime, lane: str, *texts: str) -> None:
    with session_scope(runtime.engine) as s:
        for text in texts:
            slack_posts.enqueue(
                s, team_id="T1", lane=lane, kind=SAY, args={"channel": "C1", "text": text}
            )


def posts(runtime: Runtime) -> dict[str, SlackPost]:
    with session_scope(runtime.engine, readonly=True) as s:
        return {
            str(p.args.get("text")): p
            for p in s.exec(select(SlackPost).order_by(SlackPost.id))  # type: ignore[arg-type]
        }


def due_now(runtime: Runtime) -> None:
    with session_scope(runtime.engine) as s:
        s.execute(
            update(SlackPost)
            .where(col(SlackPost.status) == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def said(fake: FakeSlack) -> list[str]:
    return [str(a["text"]) for a in fake.called("chat.postMessage")]


async def test_a_lane_waits_for_its_head_while_other_lanes_go_on(
    runtime: Runtime, fake_slack: FakeSlack
) -> None:
    recorded.clear()
    fake_slack.respond(
        "chat.postMessage",
        lambda args: (
            {"ok": False, "error": "service_unavailable"}
            if args["text"] == "a1"
            else {"ok": True, "channel": "C1", "ts": fake_slack.next_ts()}
        ),
    )
    queue(runtime, "lane-a", "a1", "a2")
    queue(runtime, "lane-b", "b1")
    sender = poster(runtime)
    assert await sender.flush() == 1
    # Slack was down for a1: it waits (retried later, counted), and a2 waits behind it.
    # Lanes go concurrently: which of a1 and b1 Slack heard first is not an order.
    assert sorted(said(fake_slack)) == ["a1", "b1"]
    got = posts(runtime)
    assert (got["a1"].status, got["a1"].attempts) == ("pending", 1)
    assert got["a1"].last_error == "service_unavailable"
    assert got["a1"].next_attempt_at > utcnow()
    assert got["a2"].status == "pending" and got["b1"].status == "done"

    # Slack is back and a1 is due: a1, then a2, in order.
    del fake_slack.overrides["chat.postMessage"]
    due_now(runtime)
    assert await sender.flush() == 2
    assert said(fake_slack)[2:] == ["a1", "a2"]
    assert {p.status for p in posts(runtime).values()} == {"done"}
    assert [text for text, _ in recorded] == ["b1", "a1", "a2"]  # each recorded once, when sent


async def test_a_429_waits_what_slack_says_without_counting_an_attempt(
    runtime: Runtime, fake_slack: FakeSlack
) -> None:
    fake_slack.respond("chat.postMessage", lambda _args: {"ok": False, "error": "ratelimited"})
    queue(runtime, "lane", "hello")
    assert await poster(runtime).flush() == 0
    (post,) = posts(runtime).values()
    assert (post.status, post.attempts) == ("pending", 0)
    assert post.last_error is not None and "rate limited" in post.last_error
    assert post.next_attempt_at > utcnow() + timedelta(seconds=20)


async def test_a_refusal_gives_the_post_up_and_its_kind_tells_someone(
    runtime: Runtime, fake_slack: FakeSlack
) -> None:
    fake_slack.respond(
        "chat.postMessage",
        lambda args: (
            {"ok": False, "error": "channel_not_found"}
            if args["channel"] == "C1"
            else {"ok": True, "channel": args["channel"], "ts": fake_slack.next_ts()}
        ),
    )
    queue(runtime, "lane", "hello")
    await poster(runtime).flush()
    got = posts(runtime)
    assert (got["hello"].status, got["hello"].last_error) == ("failed", "channel_not_found")
    # Its `failed` queued a word to the person in the same transaction; it went out (a DM,
    # as it names no channel).
    (told,) = [p for p in got.values() if p.kind == slack_posts.TELL]
    assert told.status == "done"
    assert said(fake_slack)[-1] == "could not say hello: channel_not_found"
    assert fake_slack.called("chat.postMessage")[-1]["channel"] == "U1"


async def test_a_tell_is_a_dm_when_the_channel_refuses_and_waits_when_slack_is_down(
    runtime: Runtime, fake_slack: FakeSlack
) -> None:
    with session_scope(runtime.engine) as s:
        slack_posts.tell(s, team_id="T1", user="U1", text="refused", channel="CGONE")
        slack_posts.tell(s, team_id="T2", user="U2", text="down", channel="C1", thread_ts="1.2")
    fake_slack.respond(
        "chat.postEphemeral",
        lambda args: {
            "ok": False,
            "error": "channel_not_found" if args["channel"] == "CGONE" else "internal_error",
        },
    )
    sender = poster(runtime)
    await sender.flush()
    got = posts(runtime)
    assert got["refused"].status == "done"
    (dm,) = fake_slack.called("chat.postMessage")
    assert (dm["channel"], dm["text"]) == ("U1", "refused")
    # Slack down: no DM instead, the ephemeral is tried again later.
    assert got["down"].status == "pending" and got["down"].attempts == 1

    del fake_slack.overrides["chat.postEphemeral"]
    due_now(runtime)
    await sender.flush()
    assert posts(runtime)["down"].status == "done"
    ephemeral = fake_slack.called("chat.postEphemeral")[-1]
    assert (ephemeral["channel"], ephemeral["user"], ephemeral["thread_ts"]) == ("C1", "U2", "1.2")
    assert len(fake_slack.called("chat.postMessage")) == 1
