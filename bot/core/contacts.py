"""Who a number or handle belongs to, as the workspace last wrote it down: the name typed
on its last call or message, and the email of its last message. Forms open with these
(`/logcall`, `/logmsg`), so a number called every week is not typed out every time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from storage.models import Call, LoggedMessage


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
