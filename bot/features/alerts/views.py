"""Failure alerts in Slack: Block Kit built from an `AlertSummary`, nothing else.

The message says what failed, why (Front's own words), how many attempts were made and
how many later deliveries of the same call or conversation wait behind it, with Retry
and Discard buttons while something can be done; once someone acts, the same message
says who did what ("Delivered after retry by @ada").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.mrkdwn import escape
from bot.delivery.alert_summary import AlertSummary
from bot.delivery.alerts import PAUSED
from storage.models import AlertState


class AlertIds(StrEnum):
    retry = "delivery_alert_retry"
    discard = "delivery_alert_discard"
    summary_block = "delivery_alert_summary"
    actions_block = "delivery_alert_actions"


class AlertButton(BaseModel):
    """The value of an alert's buttons."""

    alert_id: int
    # How many later deliveries the Discard confirmation said go with it.
    dependents: int = 0


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _quote(text: str) -> str:
    """Front's words (or a template's name), quoted and escaped: they mention nobody."""
    return "\n".join(f"> {escape(line)}" for line in (text or "(no message)").splitlines()[:6])


def _front_said(s: AlertSummary) -> str:
    head = " ".join(p for p in (str(s.status_code or ""), s.title) if p)
    return f"{head}: {s.message}" if head and s.message else head or s.message


def headline(s: AlertSummary) -> str:
    """One line: the state of the alert, for the message and its notification text."""
    who = f" by <@{s.acted_by}>" if s.acted_by else ""
    if s.kind == PAUSED:
        if s.state == AlertState.resolved:
            if s.acted_by:
                return f":white_check_mark: Deliveries to Front resumed{who}."
            return (
                ":white_check_mark: Deliveries to Front resumed: "
                "Front accepts our credentials again."
            )
        return (
            ":no_entry: Deliveries to Front are paused for this workspace: "
            "Front refused our credentials."
        )
    example = escape(s.example)  # may hold a template's name, as an admin typed it
    if s.rows <= 1:
        what = f"*{example}*"
    else:
        what = f"*{_plural(s.rows, 'delivery', 'deliveries')}* (for example {example})"
    if s.state == AlertState.resolved:
        if s.action == "discard" and not s.delivered:
            return f":wastebasket: {what}: discarded{who}."
        if s.action == "retry" or s.delivered:
            return f":white_check_mark: {what}: delivered after retry{who}."
        return f":white_check_mark: {what}: done."
    if s.state == AlertState.retrying:
        return f":hourglass_flowing_sand: {what}: retrying{who}…"
    verb = "was" if s.rows <= 1 else "were"
    if s.in_progress:
        return f":warning: {what}: {s.failed} failed, {s.in_progress} retrying{who}."
    if s.action == "retry":
        return f":warning: {what} failed again after a retry{who}."
    return f":warning: {what} {verb} not delivered to Front."


def alert_text(s: AlertSummary) -> str:
    """Plain-text fallback (notifications, screen readers)."""
    return headline(s).replace("*", "")


def _details(s: AlertSummary) -> str:
    lines = [f"Front said:\n{_quote(_front_said(s))}"]
    if s.kind == PAUSED:
        if s.state != AlertState.resolved:
            lines.append(
                "Nothing is lost: deliveries wait. An admin should check the Front app's "
                "credentials (`FRONT_APP_UID` / `FRONT_APP_SECRET`, or `FRONT_API_TOKEN`) and "
                "the channel's connection in Front. Switchboard tries again by itself from "
                "time to time; press *Resume* to try now."
            )
        return "\n".join(lines)
    if s.rows > 1:
        facts = [f"{s.failed} still failed" if s.failed else "none failed now"]
        facts.append(f"the first gave up after {_plural(s.example_attempts, 'attempt')}")
    else:
        facts = [f"gave up after {_plural(s.example_attempts, 'attempt')}"]
    if s.waiting_behind:
        facts.append(
            f"{_plural(s.waiting_behind, 'later delivery', 'later deliveries')} of the same "
            f"call or conversation {'waits' if s.waiting_behind == 1 else 'wait'} behind "
            f"{'it' if s.rows <= 1 else 'them'}"
        )
    joined = " · ".join(facts)
    lines.append(joined[:1].upper() + joined[1:])
    return "\n".join(lines)


def _discard_warning(s: AlertSummary) -> str:
    if not s.dependents:
        return (
            "These deliveries will never reach Front; later ones of the same call or "
            "conversation go ahead."
        )
    return (
        f"These deliveries will never reach Front, and neither will "
        f"{_plural(s.dependents, 'later delivery', 'later deliveries')} of the same call or "
        f"conversation that {'needs' if s.dependents == 1 else 'need'} them: "
        f"{'it is' if s.dependents == 1 else 'they are'} discarded too."
    )


def alert_blocks(s: AlertSummary) -> list[dict[str, Any]]:
    blocks: list[Block] = [
        SectionBlock(
            block_id=AlertIds.summary_block,
            text=MarkdownTextObject(text=headline(s)),
        ),
        SectionBlock(text=MarkdownTextObject(text=_details(s))),
    ]
    value = AlertButton(alert_id=s.id, dependents=s.dependents).model_dump_json()
    if s.state == AlertState.open:
        buttons = [
            ButtonElement(
                text="Resume" if s.kind == PAUSED else "Retry",
                action_id=AlertIds.retry,
                value=value,
                style="primary",
            )
        ]
        if s.kind != PAUSED:
            buttons.append(
                ButtonElement(
                    text="Discard",
                    action_id=AlertIds.discard,
                    value=value,
                    style="danger",
                    confirm=ConfirmObject(
                        title="Discard?",
                        text=_discard_warning(s),
                        confirm="Discard",
                        deny="Keep",
                    ),
                )
            )
        blocks.append(ActionsBlock(block_id=AlertIds.actions_block, elements=buttons))
    if s.logged_by and s.kind != PAUSED:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Logged by <@{s.logged_by}>")])
        )
    return [b.to_dict() for b in blocks]
