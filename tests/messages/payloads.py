"""Slack payloads for the messages tests, shaped as Slack sends them."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from bot.features.messages.ids import MessageIds

TEAM = "T1"
CHANNEL = "C1"


def message_action(
    message: dict[str, Any], *, user_id: str = "U1", channel: str = CHANNEL, team: str = TEAM
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "token": "legacy",
        "action_ts": "1700009999.000001",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team, "name": user_id},
        "channel": {"id": channel, "name": "support"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": MessageIds.shortcut,
        "trigger_id": f"trig-shortcut-{uuid.uuid4().hex[:8]}",
        "response_url": "",
        "message_ts": message["ts"],
        "message": {"type": "message", **message},
    }


def view_submission(
    view: dict[str, Any],
    values: dict[str, Any],
    *,
    user_id: str = "U1",
    team: str = TEAM,
    previous_view_id: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user_id, "team_id": team, "name": user_id.lower()},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "trig-submit",
        "view": {
            **view,
            # Each modal has its own id (the same view submitted again, as it was, is a
            # replay); views passed as opened (without one) get a fresh one.
            "id": view.get("id") or f"V{uuid.uuid4().hex[:10].upper()}",
            "team_id": team,
            "root_view_id": "V1",
            "previous_view_id": previous_view_id,
            "app_id": "A1",
            "state": {"values": values},
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


_CLICKS = itertools.count()


def block_actions(
    action_id: str,
    *,
    value: str | None = None,
    user_id: str = "U1",
    team: str = TEAM,
    channel: str = CHANNEL,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    ephemeral: bool = False,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": "b",
        "action_ts": f"{time.time():.6f}{next(_CLICKS) % 10}",  # a replay repeats it
    }
    if value is not None:
        action["value"] = value
    body: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user_id, "team_id": team, "name": user_id.lower()},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": f"trig-button-{uuid.uuid4().hex[:8]}",
        "actions": [action],
        "is_enterprise_install": False,
    }
    if view is not None:
        body["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        body["view"] = {**view, "id": view.get("id", "V1"), "state": {"values": {}}}
    else:
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        body["container"] = container
        body["channel"] = {"id": channel, "name": "support"}
        body["response_url"] = ""
        if not ephemeral:
            message: dict[str, Any] = {"type": "message", "ts": message_ts, "text": "card"}
            if thread_ts:
                message["thread_ts"] = thread_ts
            body["message"] = message
    return body


def _text(value: str | None, kind: str = "plain_text_input") -> dict[str, Any]:
    return {"type": kind, "value": value}


def form_values(
    *,
    direction: str = "inbound",
    handle: str = "",
    name: str = "",
    email: str = "",
    subject: str = "",
    body: str = "",
    include_files: bool | None = None,
    uploads: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    ids = MessageIds
    values: dict[str, Any] = {
        ids.direction_block: {
            ids.direction_input: {
                "type": "radio_buttons",
                "selected_option": {"value": direction},
            }
        },
        ids.handle_block: {ids.handle_input: _text(handle or None)},
        ids.name_block: {ids.name_input: _text(name or None)},
        ids.email_block: {ids.email_input: _text(email or None, "email_text_input")},
        ids.subject_block: {ids.subject_input: _text(subject or None)},
        ids.body_block: {ids.body_input: _text(body or None)},
    }
    if include_files is not None:
        chosen = [{"value": "yes"}] if include_files else []
        values[ids.files_block] = {
            ids.include_files_input: {"type": "checkboxes", "selected_options": chosen}
        }
    if uploads is not None:
        values[ids.files_block] = {ids.upload_input: {"type": "file_input", "files": uploads}}
    return values


def initial_values(view: dict[str, Any]) -> dict[str, Any]:
    """What each input of a modal shows when it opens, by block id."""
    out: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if "initial_option" in element:
            out[block["block_id"]] = element["initial_option"]["value"]
        elif "initial_options" in element:
            out[block["block_id"]] = [o["value"] for o in element["initial_options"]]
        elif block.get("type") == "input":
            out[block["block_id"]] = element.get("initial_value")
    return out


def find_button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any] | None:
    for block in blocks:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return dict(element)
    return None


_EVENTS = itertools.count(1)


def customer_event(
    ts: str, text: str, *, thread_ts: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A Slack Connect customer's message event (their team is T9)."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": "UEXT",
        "user_team": "T9",
        "source_team": "T9",
        "team": "T9",
        "ts": ts,
        "text": text,
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def teammate_event(
    ts: str, text: str, *, user: str = "U2", thread_ts: str | None = None, **extra: Any
) -> dict[str, Any]:
    event = customer_event(ts, text, thread_ts=thread_ts, **extra)
    event.update(user=user, user_team=TEAM, source_team=TEAM, team=TEAM)
    return event


def next_event_id() -> str:
    return f"Ev{next(_EVENTS):08d}{uuid.uuid4().hex[:6]}"
