"""The App Home publishes at any number of channel links: within Slack's view limits."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.features.admin.home import home_view
from bot.features.admin.service import HomeSnapshot
from storage.models import ChannelLink


def _snapshot(n: int) -> HomeSnapshot:
    links = [
        ChannelLink(
            id=i,
            team_id="T1",
            slack_channel_id=f"C{i:08d}",
            # Long ids, as `alt:address:` ones can be, to fill the texts fast.
            front_channel_id=f"alt:address:support-line-{i:05d}@" + "x" * 120 + ".example.com",
            front_status="ok" if i % 2 else None,
        )
        for i in range(n)
    ]
    return HomeSnapshot(
        team_id="T1",
        links=links,
        alerts_channel_id="C_ALERTS",
        paused_reason="Front refused our credentials: " + "y" * 2990,
        outbox_counts={"pending": 3, "failed": 1},
        templates=4,
    )


def _texts(block: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if isinstance(block.get("text"), dict):
        found.append(block["text"]["text"])
    for element in block.get("elements", []):
        if isinstance(element, dict) and "text" in element:
            found.append(element["text"] if isinstance(element["text"], str) else "")
    return found


@pytest.mark.parametrize("count", [0, 1, 60, 500, 5000])
def test_every_block_fits_slacks_limits(count: int) -> None:
    view = home_view(_snapshot(count), front_configured=False)
    blocks = view["blocks"]
    assert len(blocks) <= 100
    for block in blocks:
        for text in _texts(block):
            assert len(text) <= 3000, (block["type"], len(text))
    everything = "\n".join(t for b in blocks for t in _texts(b))
    listed = set(re.findall(r"<#(C\d{8})>", everything))
    counted = re.search(r"…and (\d+) more", everything)
    # Every link is shown or counted, none twice, and the sections after the links stay.
    assert len(listed) + (int(counted.group(1)) if counted else 0) == count
    assert "*Failure alerts*" in everything and "*Commands*" in everything
    if count <= 60:
        assert counted is None


def test_five_hundred_links_are_all_listed() -> None:
    view = home_view(_snapshot(500), front_configured=True)
    everything = "\n".join(t for b in view["blocks"] for t in _texts(b))
    assert len(set(re.findall(r"<#(C\d{8})>", everything))) == 500
    assert "more (`/switchboard help`" not in everything


@pytest.mark.parametrize("count", [500, 5000])
def test_last_calls_fit_beside_every_link(count: int) -> None:
    """Ten calls with the longest names a call may carry, escaped, beside many links."""
    line = "• <!date^1764000000^{date_short_pretty} {time}|2025-11-24 16:00 UTC> " + (
        "&lt;" * 255 + " (+33 6 12 34 56 78): *Voicemail left* · queued for Front · "
        "<https://acme.slack.com/archives/C00000001/p1764000000000100|card>"
    )
    view = home_view(_snapshot(count), front_configured=True, recent_calls=[line] * 10)
    blocks = view["blocks"]
    assert len(blocks) <= 100
    for block in blocks:
        for text in _texts(block):
            assert len(text) <= 3000, (block["type"], len(text))
    everything = "\n".join(t for b in blocks for t in _texts(b))
    assert "*Your last calls*" in everything and "…and " in everything  # whole lines, counted
    assert everything.count("|card>") == everything.count("<https://acme.slack.com")
