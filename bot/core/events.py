"""Slack events already handled (Slack re-sends an event it thinks failed)."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import SlackEvent


def remember_event(*, session: Session, event_id: str) -> None:
    """Record `event_id`; raises IntegrityError (at flush) when it was seen before."""
    session.add(SlackEvent(event_id=event_id))
    session.flush()
