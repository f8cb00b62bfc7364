"""Pacing one workspace's requests (`bot.delivery.pacing`), with an explicit clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.delivery import pacing
from bot.delivery.outcomes import Outcome, OutcomeKind
from bot.front import FrontClient, FrontRetryable, JwtAuth, RateLimitInfo
from storage.models import OutboxPace

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pace(per_minute: float, tokens: float) -> OutboxPace:
    p = pacing.new_pace("T1", T0)
    p.capacity, p.tokens, p.per_second = float(per_minute), tokens, per_minute / 60.0
    return p


def takes(p: OutboxPace, now: datetime, wanted: int = 100) -> int:
    got = 0
    while got < wanted and pacing.take(p, now) is not None:
        got += 1
    return got


def test_a_full_company_bucket_goes_out_at_the_resource_rate() -> None:
    # 200 a minute with all 200 tokens left: Front would take them all, but its channel
    # refuses more than about 5 a second, so they are spread out.
    p = pace(200, 200.0)
    assert takes(p, at(0)) == pacing.RESOURCE_BURST
    pacing.settle(p, at(0))
    assert p.ready_at == at(1 / pacing.RESOURCE_PER_SECOND)
    assert takes(p, at(1)) == pacing.RESOURCE_PER_SECOND
    assert p.tokens == pytest.approx(200 - 8 + 200 / 60, abs=1e-6)


def test_a_company_allowed_more_than_the_resource_rate_is_not_spread() -> None:
    p = pace(1200, 50.0)  # 20 a second: a limit the resource's would only lower
    assert takes(p, at(0)) == 50


def test_an_answer_does_not_give_back_tokens_spent_after_its_request() -> None:
    p = pace(600, 0.0)
    p.seq = 10  # claims 7 to 10 went out after the answered claim 6
    info = RateLimitInfo(limit=600, remaining=20, reset_at=None)
    pacing.calibrate(p, info, sent_seq=6, now=at(0), in_flight=2)
    assert p.tokens == 20 - 4 - 2 and p.calibrated_seq == 6
    # An older answer than the one last used says nothing new.
    pacing.calibrate(p, RateLimitInfo(600, 60, None), sent_seq=5, now=at(0), in_flight=0)
    assert p.tokens == 14


def test_a_429s_headers_set_the_count_not_the_rate() -> None:
    p = pace(100, 3.0)
    p.per_second = 2.0  # learnt from earlier answers
    # After a 429 the reset may say when one token is back: 0.6 s here.
    info = RateLimitInfo(limit=100, remaining=0, reset_at=at(0.6).timestamp())
    pacing.calibrate(p, info, sent_seq=1, now=at(0), in_flight=0, rate_limited=True)
    assert p.per_second == 2.0 and p.tokens == 0
    pacing.rate_limited(p, 1.0, at(0))
    assert p.ready_at == at(1) and takes(p, at(0.5)) == 0


@pytest.mark.anyio
async def test_a_refused_request_still_reports_the_rate_limit() -> None:
    """Front counts a 5xx against the limit too: its headers reach the pacing."""

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "42"}
        return httpx.Response(503, json={"_error": {"status": 503}}, headers=headers)

    client = FrontClient(
        "https://front.test", JwtAuth("app", "secret" * 6), transport=httpx.MockTransport(handler)
    )
    with pytest.raises(FrontRetryable) as caught:
        await client.update_channel("cha_1", {"status": "ok"})
    await client.aclose()
    outcome = Outcome.of_error(caught.value)
    assert outcome.kind == OutcomeKind.retryable
    assert outcome.rate_limit == RateLimitInfo(limit=100, remaining=42, reset_at=None)
