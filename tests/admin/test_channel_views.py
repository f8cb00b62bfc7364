"""The connect picker's words, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.links import parse_emoji
from bot.features.admin.channel_views import ConnectMeta, ago, capture_text, connect_picker_view
from storage.models import FrontChannel

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_ago() -> None:
    assert ago(NOW - timedelta(seconds=5), NOW) == "just now"
    assert ago(NOW - timedelta(minutes=12), NOW) == "12 min ago"
    assert ago(NOW - timedelta(hours=3), NOW) == "3 h ago"
    assert ago(NOW - timedelta(days=1), NOW) == "1 day ago"
    assert ago(NOW - timedelta(days=30), NOW) == "on 2026-11-02"


def test_options_fit_slacks_limits() -> None:
    long = "alt:address:" + "x" * 100  # fits a value (150), not an option's text (75)
    too_long = "alt:address:" + "y" * 190  # over a value's 150: typed by hand only
    channels = [FrontChannel(front_channel_id=name, authorized_at=NOW) for name in (long, too_long)]
    view = connect_picker_view(ConnectMeta(channel_id="C1"), channels, now=NOW)
    (option,) = view["blocks"][0]["element"]["options"]
    assert option["value"] == long and len(option["text"]["text"]) <= 75
    assert option["text"]["text"].endswith("… · authorized just now")


def test_capture_words() -> None:
    assert "not shared" in capture_text("C1", "on", None, shared=False)
    assert ":ticket:" in capture_text("C1", "emoji", "ticket")
    assert parse_emoji(" :Ticket: ") == "ticket"
