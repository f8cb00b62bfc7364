"""Who a number or handle belongs to, as the workspace last wrote it down: the name typed
on its last call or message, and the email of its last message. Forms open with these
(`/logcall`, `/logmsg`), so a number called every week is not typed out every time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.core.phones import normalise_handle
from bot.core.uow import read
from bot.runtime import Runtime
from storage.models import Call, LoggedMessage

# A form opens after this read: a trigger lasts 3 s, and a prefilled name is a nicety.
PREFILL_BUDGET = 0.5


@dataclass(frozen=True)
class KnownContact:
    handle: str
    name: str | None = None
    email: str | None = None


def last_known(session: Session, *, team_id: str, handle: str) -> KnownContact | None:
    """The latest name and email written for `handle` (as stored: E.164 for a number) in
    this workspace, from calls and messages alike; None when it was never seen."""
    call = session.exec(
        select(Call.party_name, Call.created_at)
        .where(
            Call.team_id == team_id,
            Call.party_handle == handle,
            col(Call.party_name).is_not(None),
        )
        .order_by(col(Call.created_at).desc(), col(Call.id).desc())
        .limit(1)
    ).first()
    named = session.exec(
        select(LoggedMessage.name, LoggedMessage.created_at)
        .where(
            LoggedMessage.team_id == team_id,
            LoggedMessage.handle == handle,
            col(LoggedMessage.name).is_not(None),
        )
        .order_by(col(LoggedMessage.created_at).desc(), col(LoggedMessage.id).desc())
        .limit(1)
    ).first()
    email = session.exec(
        select(LoggedMessage.email)
        .where(
            LoggedMessage.team_id == team_id,
            LoggedMessage.handle == handle,
            col(LoggedMessage.email).is_not(None),
        )
        .order_by(col(LoggedMessage.created_at).desc(), col(LoggedMessage.id).desc())
        .limit(1)
    ).first()
    names = [found for found in (call, named) if found is not None and found[0]]
    name = max(names, key=lambda found: found[1])[0] if names else None
    if name is None and email is None:
        return None
    return KnownContact(handle=handle, name=name, email=email)


async def known_for(runtime: Runtime, *, team_id: str, typed: str) -> KnownContact | None:
    """`last_known` for a number or handle as typed after a command (normalised as forms
    store it), or None: when it was never seen, cannot be read, or the database is slow."""
    if not typed.strip():
        return None
    try:
        handle = normalise_handle(typed, runtime.settings.default_phone_region)
        return await asyncio.wait_for(
            read(runtime, last_known, team_id=team_id, handle=handle), PREFILL_BUDGET
        )
    except (UserError, TimeoutError):
        return None  # the form says what is wrong with the number when it is submitted
