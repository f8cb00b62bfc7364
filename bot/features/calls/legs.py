"""A call's legs as stored: finding one for a workspace, its first leg, the legs it was
transferred to; and the errors a person sees when a call is gone or changed under them."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.core.errors import UserError
from bot.features.calls.lifecycle import status_label
from storage.models import Call


class CallNotFound(UserError):
    def __init__(self) -> None:
        super().__init__("I can't find this call any more; it may have been logged elsewhere.")


class CallChanged(UserError):
    """Someone else changed the call first: the person's click was based on an old card."""

    def __init__(self, call: Call) -> None:
        super().__init__(
            f"Someone changed this call to *{status_label(call.status)}* just before you, so "
            "your click was not applied. The card now shows what can happen next."
        )
        self.call = call
        # Read now: after a rollback the call's attributes can no longer be loaded.
        self.status = call.status


def get_call(session: Session, *, team_id: str, external_call_id: str) -> Call:
    call = session.exec(select(Call).where(Call.external_call_id == external_call_id)).first()
    if call is None or call.team_id != team_id:
        raise CallNotFound()
    return call


def root_external_call_id(session: Session, call: Call) -> str:
    """The first leg of `call`'s chain of transfers (a first leg is its own parent)."""
    seen = {call.external_call_id}
    current = call
    while current.parent_external_call_id not in seen:
        parent = session.exec(
            select(Call).where(Call.external_call_id == current.parent_external_call_id)
        ).first()
        if parent is None:
            break
        seen.add(parent.external_call_id)
        current = parent
    return current.external_call_id


def legs_after(session: Session, *, external_call_id: str) -> list[Call]:
    """The legs a call was transferred to."""
    return list(
        session.exec(
            select(Call).where(
                Call.parent_external_call_id == external_call_id,
                Call.external_call_id != external_call_id,
            )
        )
    )
