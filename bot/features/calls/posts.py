"""What a call shows in Slack, queued with the change that needs it: its card (posted or
updated from the database when the post goes), a word to someone in its thread, and the
reminder a call still open after four hours gets. Sent by `cards` and `followups`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import slack_posts
from bot.core.links import tie_thread
from bot.delivery.outbox import call_lane
from bot.features.calls.legs import root_external_call_id
from storage.models import Call, OutboxRow, ThreadKind, utcnow

# Slack posts of the calls feature (sent by `bot.features.calls.cards` and `followups`).
CARD = "call.card"
TRANSCRIPT = "call.transcript"
RECORDING = "call.recording"
REMINDER = "call.reminder"

# A call still going this long after it started (or was logged) gets a word in its thread.
REMIND_AFTER = timedelta(hours=4)


def slack_lane(session: Session, call: Call) -> str:
    """The Slack lane of a call: its card comes before what is said in its thread."""
    return f"call:{root_external_call_id(session, call)}"


def queue_card(session: Session, call: Call, *, lane: str | None = None) -> None:
    """Have the call's card show the call as it is now: posted if it is not yet, else
    updated; queued once (a pending card post renders whatever is true when it goes).
    In another `lane` (a failure alert's), only an update, after what that lane holds."""
    if lane is None:
        slack_posts.enqueue(
            session,
            team_id=call.team_id,
            lane=slack_lane(session, call),
            kind=CARD,
            args={"external_call_id": call.external_call_id},
            key=f"card:{call.external_call_id}",
        )
        return
    slack_posts.enqueue(
        session,
        team_id=call.team_id,
        lane=lane,
        kind=CARD,
        args={"external_call_id": call.external_call_id, "update_only": True},
        key=f"card:{call.external_call_id}:{lane}",
    )


def tell_about(session: Session, call: Call, *, user: str, text: str) -> None:
    """A word to `user` in the call's thread, after its card (in the call's Slack lane)."""
    slack_posts.tell(
        session,
        team_id=call.team_id,
        user=user,
        text=text,
        channel=call.slack_channel_id,
        thread_ts=call.thread_ts or call.card_ts,
        lane=slack_lane(session, call),
    )


def queue_reminder(session: Session, call: Call) -> None:
    """Ask, in the call's thread, how a call still open after four hours ended. Queued when
    it is logged, due then; in a lane of its own (the call's lane must not wait for it),
    and it says nothing if the call has ended by then."""
    due = max(call.started_at, utcnow()) + REMIND_AFTER
    slack_posts.enqueue(
        session,
        team_id=call.team_id,
        lane=f"call-reminder:{call.external_call_id}",
        kind=REMINDER,
        args={"external_call_id": call.external_call_id},
        key=f"reminder:{call.external_call_id}",
        due_at=due,
    )


def card_posted(session: Session, *, external_call_id: str, ts: str) -> None:
    """The card is in Slack: a first leg's card starts the thread tied to the call, and
    the call's deliveries learn the thread (a failure alert goes there)."""
    call = session.exec(select(Call).where(Call.external_call_id == external_call_id)).first()
    if call is None or call.card_ts == ts:
        return
    call.card_ts = ts
    if call.parent_external_call_id == call.external_call_id:
        call.thread_ts = ts
        tie_thread(
            session,
            team_id=call.team_id,
            channel_id=call.slack_channel_id,
            thread_ts=ts,
            kind=ThreadKind.call,
            external_id=call.external_call_id,
            front_channel_id=call.front_channel_id,
        )
    session.add(call)
    session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.lane) == call_lane(root_external_call_id(session, call)),
            col(OutboxRow.slack_thread_ts).is_(None),
        )
        .values(slack_thread_ts=call.thread_ts)
    )
