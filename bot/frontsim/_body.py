"""Reading a Channel API request's body as Front's gateway would: size, content type
(JSON, or multipart with `attachments[N]` files), then the operation's schema."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ._config import SimConfig
from ._spec import BodyError, SpecOperation, rebuild_form

__all__ = ["TooLarge", "read_body"]

_ATTACHMENT_FIELD = re.compile(r"^attachments\[(\d+)\]$")
# Room for form field names, boundaries and the JSON fields themselves.
_FORM_OVERHEAD = 1024 * 1024


class TooLarge(Exception):
    pass


async def read_body(
    request: Request, op: SpecOperation, config: SimConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(body, file descriptions) after checking size, content type and the schema."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > config.max_upload_bytes + _FORM_OVERHEAD:
        raise TooLarge(f"request of {declared} bytes is over {config.max_upload_bytes}")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()

    if media == "application/json" and "application/json" in op.content_types:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise BodyError("body: not valid JSON") from None
        op.validate(body)
        return body, []
    if media == "multipart/form-data" and op.accepts_multipart:
        return await _read_form(request, op, config)
    accepted = " or ".join(
        ["application/json"] * ("application/json" in op.content_types)
        + ["multipart/form-data"] * op.accepts_multipart
    )
    raise BodyError(f"Content-Type: must be {accepted}, not {media or 'missing'}")


async def _read_form(
    request: Request, op: SpecOperation, config: SimConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, UploadFile]] = []
    described: list[dict[str, Any]] = []
    try:
        form_context = request.form(
            max_files=1000, max_fields=1000, max_part_size=config.max_upload_bytes
        )
        async with form_context as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files.append((name, value))
                else:
                    fields.append((name, value))
            total = 0
            for name, upload in files:
                data = await upload.read()
                total += len(data)
                described.append(
                    {
                        "field": name,
                        "filename": upload.filename or "",
                        "content_type": upload.content_type or "",
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
                )
    except HTTPException as exc:
        raise BodyError(f"body: malformed multipart ({exc.detail})") from None
    if total > config.max_upload_bytes:
        raise TooLarge(f"attachments: {total} bytes in all, over {config.max_upload_bytes}")

    for name, _ in fields:
        if name == "attachments" or name.startswith("attachments["):
            raise BodyError(f"{name}: must be a file, not a text field")
    body = op.coerce_form(rebuild_form(fields))
    check = dict(body)
    if op.name == "add_call_recording":
        # The spec names the one file field plainly `attachments`.
        names = [d["field"] for d in described]
        if names != ["attachments"]:
            raise BodyError(
                "attachments: exactly one file in the `attachments` field is required"
                + (f" (got {', '.join(names)})" if names else "")
            )
        if not described[0]["content_type"].lower().startswith("audio/"):
            raise BodyError(
                f"attachments: must be audio/*, not {described[0]['content_type'] or 'missing'}"
            )
        check["attachments"] = described[0]["filename"]
    else:
        for d in described:
            if not _ATTACHMENT_FIELD.match(d["field"]):
                raise BodyError(f"{d['field']}: unexpected file field, use attachments[N]")
        described.sort(key=lambda d: int(d["field"][len("attachments[") : -1]))
        if described:
            check["attachments"] = [d["filename"] for d in described]
    op.validate(check)
    return body, described
