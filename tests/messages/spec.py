"""Checking request bodies against the vendored Channel API spec."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator, validate

from bot.front import InboundMessage, MessageStatus, OutboundMessage

SPEC = Path(__file__).resolve().parents[2] / "bot" / "front" / "openapi.json"


@cache
def _spec() -> dict[str, Any]:
    return dict(json.loads(SPEC.read_text()))


def request_schema(operation_id: str) -> dict[str, Any]:
    for item in _spec()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                schema: dict[str, Any] = op["requestBody"]["content"]["application/json"]["schema"]
                return schema
    raise KeyError(operation_id)


MODELS: dict[str, Any] = {
    "sync_inbound_message": InboundMessage,
    "sync_outbound_message": OutboundMessage,
    "update_external_message_status": MessageStatus,
}


def assert_valid(operation: str, payload: dict[str, Any]) -> None:
    """`operation` in snake_case (the outbox's name); raises if the body breaks the spec,
    or the client's stricter models (200-character ids, at least one recipient)."""
    schema = {**request_schema(operation.replace("_", "-")), "components": _spec()["components"]}
    validate(payload, schema, cls=OAS30Validator)
    MODELS[operation].model_validate(payload)
