"""Calls: `/logcall` (a live call or a finished one, and `/logcall list`), the call card
and its lifecycle buttons (now, or at a time), Edit before Front has it, summary,
transcript and recording; the card follows its deliveries to Front, and a call still open
after four hours is asked about in its thread."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.delivery.hooks import DeliveryHooks
from bot.features.calls import cards, followups, listeners, times
from bot.features.calls.ids import STATUS_ACTION, THREAD_RECORDING_ACTION, CallIds
from bot.slack.poster import PostKinds


def register(app: AsyncApp) -> None:
    app.command("/logcall")(listeners.logcall_command)
    app.view(CallIds.log_view)(listeners.log_call_submitted)
    app.action(STATUS_ACTION)(listeners.status_clicked)
    app.action(CallIds.transfer)(listeners.transfer_clicked)
    app.action(CallIds.edit)(listeners.edit_clicked)
    app.action(CallIds.set_time)(times.time_clicked)
    app.view(CallIds.time_view)(times.time_submitted)
    app.action(CallIds.summary)(listeners.summary_clicked)
    app.view(CallIds.summary_view)(followups.summary_submitted)
    app.action(CallIds.transcript)(listeners.transcript_clicked)
    app.view(CallIds.transcript_view)(followups.transcript_submitted)
    app.action(CallIds.recording)(listeners.recording_clicked)
    app.view(CallIds.recording_view)(followups.recording_submitted)
    app.action(THREAD_RECORDING_ACTION)(followups.thread_recording_clicked)
    # Before any broader message listener: Bolt runs the first listener that matches.
    app.event({"type": "message", "subtype": "file_share"})(followups.file_shared)


def register_hooks(hooks: DeliveryHooks) -> None:
    cards.register_hooks(hooks)


def register_posts(kinds: PostKinds) -> None:
    cards.register_posts(kinds)
    followups.register_posts(kinds)
