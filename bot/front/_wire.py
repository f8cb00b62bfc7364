"""The Channel API's wire: its operations and routes, what an answer carries back (ids,
rate limits), and how JSON becomes Front's multipart form fields."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import httpx

from ._exceptions import InvalidRequest
from ._models import Attachment, PathId, parse_body

MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class Operation(StrEnum):
    """The spec's operationIds in snake_case; also the client's method names."""

    UPDATE_CHANNEL = "update_channel"
    SYNC_APPLICATION_MESSAGE_TEMPLATE = "sync_application_message_template"
    UPDATE_APPLICATION_MESSAGE_TEMPLATE = "update_application_message_template"
    CREATE_CALL = "create_call"
    UPDATE_CALL = "update_call"
    ADD_CALL_RECORDING = "add_call_recording"
    ADD_CALL_SUMMARY = "add_call_summary"
    ADD_CALL_TRANSCRIPT = "add_call_transcript"
    UPDATE_EXTERNAL_MESSAGE_STATUS = "update_external_message_status"
    SYNC_INBOUND_MESSAGE = "sync_inbound_message"
    SYNC_OUTBOUND_MESSAGE = "sync_outbound_message"

    @property
    def operation_id(self) -> str:
        """The name used in `openapi.json` (kebab-case)."""
        return self.value.replace("_", "-")


_Answer = Literal["empty", "message", "template"]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    # Placeholders use the spec's parameter names; {channel_id} is always first.
    template: str
    path_params: tuple[str, ...]
    answer: _Answer


_ROUTES: dict[Operation, _Route] = {
    Operation.UPDATE_CHANNEL: _Route("PATCH", "/channels/{channel_id}", (), "empty"),
    Operation.SYNC_APPLICATION_MESSAGE_TEMPLATE: _Route(
        "PUT", "/channels/{channel_id}/application_message_templates", (), "template"
    ),
    Operation.UPDATE_APPLICATION_MESSAGE_TEMPLATE: _Route(
        "PATCH",
        "/channels/{channel_id}/application_message_templates/{external_id}",
        ("external_id",),
        "template",
    ),
    Operation.CREATE_CALL: _Route("POST", "/channels/{channel_id}/calls", (), "empty"),
    Operation.UPDATE_CALL: _Route(
        "PATCH", "/channels/{channel_id}/calls/{external_call_id}", ("external_call_id",), "empty"
    ),
    Operation.ADD_CALL_RECORDING: _Route(
        "POST",
        "/channels/{channel_id}/calls/{external_call_id}/recording",
        ("external_call_id",),
        "empty",
    ),
    Operation.ADD_CALL_SUMMARY: _Route(
        "POST",
        "/channels/{channel_id}/calls/{external_call_id}/summary",
        ("external_call_id",),
        "empty",
    ),
    Operation.ADD_CALL_TRANSCRIPT: _Route(
        "POST",
        "/channels/{channel_id}/calls/{external_call_id}/transcript",
        ("external_call_id",),
        "empty",
    ),
    Operation.UPDATE_EXTERNAL_MESSAGE_STATUS: _Route(
        "PUT",
        "/channels/{channel_id}/conversations/{conv_ext_id}/messages/{message_ext_id}/status",
        ("conv_ext_id", "message_ext_id"),
        "empty",
    ),
    Operation.SYNC_INBOUND_MESSAGE: _Route(
        "POST", "/channels/{channel_id}/inbound_messages", (), "message"
    ),
    Operation.SYNC_OUTBOUND_MESSAGE: _Route(
        "POST", "/channels/{channel_id}/outbound_messages", (), "message"
    ),
}


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """Front's x-ratelimit-* headers; `reset_at` is a UNIX time in seconds."""

    limit: int | None
    remaining: int | None
    reset_at: float | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        # One pass: each lookup in httpx.Headers is a linear scan with decoding.
        found: dict[str, float] = {}
        for name, value in headers.items():
            name = name.lower()
            if name.startswith("x-ratelimit-"):
                try:
                    found[name] = float(value)
                except ValueError:
                    pass
        if not found:
            return None
        limit = found.get("x-ratelimit-limit")
        remaining = found.get("x-ratelimit-remaining")
        return cls(
            limit=None if limit is None else int(limit),
            remaining=None if remaining is None else int(remaining),
            reset_at=found.get("x-ratelimit-reset"),
        )


@dataclass(frozen=True, slots=True)
class FrontResult:
    """What Front answered to a request it accepted."""

    operation: Operation
    status_code: int
    message_uid: str | None = None
    template_id: str | None = None
    rate_limit: RateLimitInfo | None = None


_Form = list[tuple[str, str]]


_Files = list[tuple[str, tuple[str, bytes, str]]]


def _form_fields(value: Any, prefix: str, out: _Form) -> _Form:
    """Flatten JSON into Front's bracketed form names: `to[0][handle]`, `metadata[x]`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _form_fields(item, f"{prefix}[{key}]" if prefix else str(key), out)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _form_fields(item, f"{prefix}[{index}]", out)
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif value is not None:
        out.append((prefix, str(value)))
    return out


def _check_size(form: _Form, files: Sequence[Attachment]) -> None:
    total = sum(len(f.data) for f in files) + sum(len(k) + len(v.encode()) for k, v in form)
    if total > MAX_UPLOAD_BYTES:
        raise InvalidRequest(
            f"attachments: {total} bytes in all, over Front's limit of {MAX_UPLOAD_BYTES}",
            field="attachments",
        )


def _attachments(files: Sequence[Attachment | Mapping[str, Any]]) -> list[Attachment]:
    return [parse_body(Attachment, f, prefix=f"attachments[{i}].") for i, f in enumerate(files)]


def _path_id(name: str, value: str) -> str:
    return parse_body(PathId, value, prefix=f"{name}")


def _result(operation: Operation, answer: _Answer, response: httpx.Response) -> FrontResult:
    message_uid: str | None = None
    template_id: str | None = None
    if answer != "empty" and response.content:
        try:
            data = json.loads(response.content)
        except ValueError:
            # Accepted all the same; the ids are a convenience, not the proof of delivery.
            data = None
        if isinstance(data, dict):
            if answer == "message" and isinstance(data.get("message_uid"), str):
                message_uid = data["message_uid"]
            raw_id = data.get("template_id")
            if answer == "template" and raw_id is not None and not isinstance(raw_id, bool):
                if isinstance(raw_id, float) and raw_id.is_integer():
                    raw_id = int(raw_id)
                template_id = str(raw_id)
    return FrontResult(
        operation=operation,
        status_code=response.status_code,
        message_uid=message_uid,
        template_id=template_id,
        rate_limit=RateLimitInfo.from_headers(response.headers),
    )
