"""Interactivity payloads shaped as Slack sends them, for the calls tests."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator, validate

from bot.features.calls.ids import CallIds

SPEC = json.loads((Path(__file__).parents[2] / "bot" / "front" / "openapi.json").read_text())
SCHEMAS = {
    "create_call": "CreateCall",
    "update_call": "UpdateCall",
    "add_call_summary": "AddCallSummary",
    "add_call_transcript": "AddCallTranscript",
}


def assert_valid_for_spec(operation: str, payload: dict[str, Any]) -> None:
    """The body is what the vendored OpenAPI spec accepts for this operation."""
    schema = {
        "$ref": f"#/components/schemas/{SCHEMAS[operation]}",
        "components": SPEC["components"],
    }
    validate(payload, schema, cls=OAS30Validator)


def view_submission(
    view: dict[str, Any], values: dict[str, Any], *, user_id: str = "U1", team_id: str = "T1"
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user_id, "team_id": team_id, "name": user_id.lower()},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "trig-submit",
        "view": {
            **view,
            "id": "V1",
            "team_id": team_id,
            "root_view_id": "V1",
            "app_id": "A1",
            "state": {"values": values},
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


def call_values(
    *,
    direction: str = "inbound",
    party: str = "+33 6 12 34 56 78",
    name: str | None = None,
    status: str = "ringing",
    started: int | None = None,
    agent: str | None = "U1",
    outcome: str | None = None,
    duration: str | None = None,
    summary: str | None = None,
    voicemail: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The log-call modal's state; without `outcome`, as a form from before outcomes (its
    block absent: still going)."""

    def radio(value: str) -> dict[str, Any]:
        return {"type": "radio_buttons", "selected_option": {"value": value}}

    extra: dict[str, Any] = {}
    if outcome is not None:
        extra[CallIds.outcome_block] = {CallIds.outcome_input: radio(outcome)}
    extra[CallIds.duration_block] = {
        CallIds.duration_input: {"type": "plain_text_input", "value": duration}
    }
    extra[CallIds.log_summary_block] = {
        CallIds.log_summary_input: {"type": "plain_text_input", "value": summary}
    }
    extra[CallIds.voicemail_block] = {
        CallIds.voicemail_input: {"type": "file_input", "files": voicemail or []}
    }
    return extra | {
        CallIds.direction_block: {CallIds.direction_input: radio(direction)},
        CallIds.party_block: {CallIds.party_input: {"type": "plain_text_input", "value": party}},
        CallIds.name_block: {CallIds.name_input: {"type": "plain_text_input", "value": name}},
        CallIds.status_block: {CallIds.status_input: radio(status)},
        CallIds.started_block: {
            CallIds.started_input: {"type": "datetimepicker", "selected_date_time": started}
        },
        CallIds.agent_block: {
            CallIds.agent_input: {"type": "users_select", "selected_user": agent}
        },
    }


def find_button(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, button) of the button with this action id."""
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    raise AssertionError(f"no button {action_id}: {buttons(blocks)}")


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        e["action_id"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    ]


_CLICKS = itertools.count()


def click(
    message: dict[str, Any],
    action_id: str,
    *,
    user_id: str = "U1",
    channel_id: str = "C1",
    action_ts: str | None = None,
    thread_ts: str | None = None,
    response_url: str = "",
    is_ephemeral: bool = False,
) -> dict[str, Any]:
    """A block_actions payload for a button on a posted message (`ts`, `blocks`, `text`)."""
    block_id, button = find_button(message["blocks"], action_id)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel_id,
        "is_ephemeral": is_ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user_id, "team_id": "T1", "name": user_id.lower()},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": f"trig-{action_id}-{uuid.uuid4().hex[:8]}",
        "container": container,
        "channel": {"id": channel_id, "name": "support"},
        "message": {**message, "type": "message"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": button.get("value"),
                "text": button.get("text"),
                # Each click has its own action_ts (the same one again is a replay).
                "action_ts": action_ts or f"{time.time():.6f}{next(_CLICKS) % 10}",
            }
        ],
    }


def time_values(status: str | None, at: int | None) -> dict[str, Any]:
    """The state of "Status at a time…": what happened, and when (epoch seconds)."""
    chosen = {"selected_option": {"value": status}} if status else {"selected_option": None}
    return {
        CallIds.time_status_block: {CallIds.time_status_input: {"type": "radio_buttons", **chosen}},
        CallIds.time_block: {
            CallIds.time_input: {"type": "datetimepicker", "selected_date_time": at}
        },
    }
