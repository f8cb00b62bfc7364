"""Requests already handled: Slack re-sends an event it thinks failed, and a signed request
can be replayed. A request's key is stored in the transaction that does its work, so the
work happens once, and a request that failed can still be done when it comes again."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.core.errors import AlreadyHandled
from storage.models import SlackEvent

MAX_KEY = 64


def key_of(*parts: str) -> str:
    """A stored key for a request: readable when short, a digest when long."""
    raw = ":".join(parts)
    if len(raw) <= MAX_KEY:
        return raw
    return f"{parts[0][:12]}:{hashlib.sha256(raw.encode()).hexdigest()[:48]}"


def remember(session: Session, key: str) -> None:
    """Record `key`; raise `AlreadyHandled` when it was recorded before."""
    try:
        with session.begin_nested():
            session.add(SlackEvent(event_id=key))
    except IntegrityError:
        raise AlreadyHandled(key) from None
