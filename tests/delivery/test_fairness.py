"""Fairness between workspaces: one workspace's flood, failures or refused credentials
never delay another's deliveries beyond that workspace's own pacing.

Each workspace is linked to its own Front channel, in its own simulator company. The
flusher's step (record the answers, claim for the free slots: one transaction) is driven
round by round with an injected clock, one simulated second a round, so delays are
counted in rounds, not measured in wall-clock time.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.delivery.claim import ClaimedRow, claim
from bot.delivery.flusher import FrontClients
from bot.delivery.outbox import conversation_lane, enqueue
from bot.delivery.outcomes import Outcome, record_outcomes
from bot.frontsim import CompanySettings, SimConfig
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import ChannelLink, OutboxPace, Workspace, utcnow
from tests.delivery.conftest import APP_SECRET, APP_UID, FAST, Sim, ctx

pytestmark = pytest.mark.anyio

# The flusher's claim size with its default 8 slots (and as many rows claimed ahead).
LIMIT = 16
FLOOD = 300
QUIET = ("Q1", "Q2", "Q3")
STEADY_ROUNDS = 12
MAX_ROUNDS = 80
# Failing rows keep coming back (a backoff shorter than a round), probes every 2 rounds.
POLICY = FAST.__class__(
    backoff_base=0.2, backoff_cap=0.5, jitter=0.2, max_attempts=10_000, probe_first_seconds=2.0
)


def channel(team: str) -> str:
    return f"cha_{team.lower()}"


def company(team: str) -> str:
    return f"co_{team.lower()}"


def add_rows(rt: Runtime, team: str, lanes: int, per_lane: int = 1, tag: str = "") -> list[int]:
    """`lanes` conversations of `per_lane` messages for `team`, on its own channel."""
    ids: list[int] = []
    with session_scope(rt.engine) as s:
        for lane in range(lanes):
            conversation = f"{team}-{tag}{lane}"
            for i in range(per_lane):
                row = enqueue(
                    s,
                    operation="sync_inbound_message",
                    front_channel_id=channel(team),
                    lane=conversation_lane(channel(team), conversation),
                    payload={
                        "sender": {"handle": "+14155550100"},
                        "body": f"message {i}",
                        "metadata": {
                            "external_id": f"{conversation}-m{i}",
                            "external_conversation_id": conversation,
                        },
                    },
                    context=ctx(team),
                )
                assert row.id is not None
                ids.append(row.id)
    return ids


@dataclass
class Run:
    """What one run saw: per row, the round it was enqueued in and the one it was
    delivered in; per round, how many rows each workspace was given."""

    prefix: str
    enqueued: dict[int, int] = field(default_factory=dict)
    delivered: dict[int, int] = field(default_factory=dict)
    claimed: list[dict[str, int]] = field(default_factory=list)
    team_of: dict[int, str] = field(default_factory=dict)

    def delays(self, team: str) -> list[int]:
        return [
            self.delivered.get(row, MAX_ROUNDS) - at
            for row, at in self.enqueued.items()
            if self.team_of[row] == self.prefix + team
        ]

    def waiting(self, *teams: str) -> int:
        names = {self.prefix + t for t in teams}
        return sum(
            1 for row in self.enqueued if self.team_of[row] in names and row not in self.delivered
        )

    def given(self, team: str) -> list[int]:
        """Per round, the rows claimed for `team`."""
        return [c.get(self.prefix + team, 0) for c in self.claimed]


async def send(clients: FrontClients, row: ClaimedRow) -> tuple[ClaimedRow, Outcome]:
    """What `Flusher._send` does for one row."""
    try:
        client = clients.for_team(row.team_id)
        result = await client.call(row.operation, row.front_channel_id, row.path, row.payload)
        return row, Outcome.of_result(result)
    except Exception as exc:
        return row, Outcome.of_error(exc)


def note(run: Run, team: str, ids: list[int], at: int) -> None:
    for row_id in ids:
        run.enqueued[row_id] = at
        run.team_of[row_id] = team


async def drive(rt: Runtime, sim: Sim, *, storm: bool) -> Run:
    """Workspace TA floods (or, calm, sends a little), TB's company answers 503 to
    everything and TC's refuses our credentials (calm: both fine); the quiet ones add one
    message a round for `STEADY_ROUNDS` rounds, besides a conversation of 3 at the start.
    Each run has its own workspaces (`prefix`), so a second run starts afresh."""
    prefix = "S" if storm else "K"
    teams = tuple(prefix + t for t in ("TA", "TB", "TC", *QUIET))
    ta, tb, tc, *quiet = teams
    companies: dict[str, CompanySettings] = {}
    if storm:
        companies[company(tb)] = CompanySettings(error_rate=1.0)
        companies[company(tc)] = CompanySettings(refuse_credentials=True)
    sim.state.reset(
        SimConfig(
            app_uid=APP_UID,
            app_secret=APP_SECRET,
            channel_companies={channel(t): company(t) for t in teams},
            companies=companies,
            error_statuses=(503,),
        )
    )
    with session_scope(rt.engine) as s:
        for i, team in enumerate(teams):
            s.add(Workspace(team_id=team))
            s.add(
                ChannelLink(team_id=team, slack_channel_id=f"C{i}", front_channel_id=channel(team))
            )
    run = Run(prefix)
    # The flood and the failing workspaces' rows come first: the oldest rows in the table.
    note(run, ta, add_rows(rt, ta, FLOOD if storm else 5), 0)
    note(run, tb, add_rows(rt, tb, 40 if storm else 3), 0)
    note(run, tc, add_rows(rt, tc, 20 if storm else 3), 0)
    for team in quiet:
        note(run, team, add_rows(rt, team, 1, per_lane=3, tag="start"), 0)

    clients = FrontClients(rt.settings)
    rng = random.Random(5)
    start: datetime = utcnow() + timedelta(minutes=10)  # ahead of every row's due time
    answers: list[tuple[ClaimedRow, Outcome]] = []
    try:
        for r in range(MAX_ROUNDS):
            if r < STEADY_ROUNDS:
                for team in quiet:
                    note(run, team, add_rows(rt, team, 1, tag=f"r{r}-"), r)
            now = start + timedelta(seconds=r)
            with session_scope(rt.engine) as s:
                paces: dict[str, OutboxPace] = {}
                recorded = record_outcomes(s, answers, policy=POLICY, now=now, rng=rng, paces=paces)
                got = claim(
                    s,
                    owner=f"fair#{r}",
                    limit=LIMIT,
                    lease_seconds=60,
                    probe_first_seconds=POLICY.probe_first_seconds,
                    paces=paces,
                    now=now,
                )
            for (row, _), rec in zip(answers, recorded, strict=True):
                if rec.status == "delivered":
                    run.delivered[row.id] = r
            per_team: dict[str, int] = {}
            for row in got.rows:
                per_team[row.team_id] = per_team.get(row.team_id, 0) + 1
            run.claimed.append(per_team)
            answers = list(await asyncio.gather(*(send(clients, row) for row in got.rows)))
            # TB's rows never go and TC's wait for probes: done once the others are.
            if r >= STEADY_ROUNDS and run.waiting("TA", *QUIET) == 0:
                break
    finally:
        await clients.aclose()
    return run


async def test_a_flooding_failing_or_refused_workspace_does_not_delay_the_others(
    runtime: Runtime, sim: Sim
) -> None:
    calm = await drive(runtime, sim, storm=False)
    storm = await drive(runtime, sim, storm=True)

    for team in QUIET:
        calm_delays, storm_delays = calm.delays(team), storm.delays(team)
        assert len(storm_delays) == 3 + STEADY_ROUNDS
        # Their own pacing (a conversation's 3 messages go one after another) is all
        # that delays them: not TA's 300 rows, TB's retries nor TC's refusals.
        assert max(storm_delays) <= max(calm_delays), (team, storm_delays, calm_delays)
        assert max(storm_delays) <= 3, (team, storm_delays)

    # TA gets its share: while it has rows waiting every claim is full (no slot left
    # idle for fairness' sake) and TA is given at least an equal part of it (6
    # workspaces at most), more when the others have less to send.
    assert storm.waiting("TA") == 0
    given = storm.given("TA")
    rounds = [r for r, n in enumerate(given) if n]
    assert sum(given) == FLOOD
    for r in rounds[1:-1]:
        assert sum(storm.claimed[r].values()) == LIMIT, storm.claimed
        assert given[r] >= LIMIT // 6, storm.claimed
    # TB and TC met their failures all along.
    stats = sim.state.stats()["companies"]
    assert stats[company("STB")]["server_errors"] > 0
    assert stats[company("STB")]["accepted"] == 0
    assert stats[company("STC")]["unauthorized"] > 0
