"""Request models for Front's Channel API, one per request body in `openapi.json`.

They carry every constraint of the spec (required fields, enums, lengths, item counts)
plus a few of our own where the spec is silent but Front is known or very likely to
refuse (200 characters on call ids and on ids that end up in a URL path; at least one
recipient). Models are strict: no silent coercion of `"1"` to `1` or of `1` to `True`,
because Front would refuse what pydantic's lax mode would quietly fix, and the outbox
stores payloads that must mean exactly what they say.

Use `parse_body` (or a client method) to validate untrusted data: it raises
`InvalidRequest` naming the field, never pydantic's `ValidationError`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from ._exceptions import InvalidRequest

__all__ = [
    "AddCallRecording",
    "AddCallSummary",
    "AddCallTranscript",
    "ApplicationMessageTemplate",
    "ApplicationMessageTemplateEdit",
    "Attachment",
    "CallParty",
    "CallStatus",
    "Contact",
    "CreateCall",
    "CreateCallInbound",
    "CreateCallOutbound",
    "ExternalId",
    "InboundMessage",
    "InitialStatus",
    "MessageMetadata",
    "MessageStatus",
    "OutboundMessage",
    "PathId",
    "RecordingType",
    "SpeakerType",
    "TranscriptLine",
    "UpdateCall",
    "UpdateChannel",
    "VariableMapping",
    "dump_body",
    "parse_body",
]

MAX_EXTERNAL_ID_LENGTH = 200

# The spec's limit for message metadata ids; applied to call ids too (same kind of key).
ExternalId = Annotated[str, StringConstraints(max_length=MAX_EXTERNAL_ID_LENGTH)]
# An id placed in the URL path: an empty one would silently address another route.
PathId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID_LENGTH)]

InitialStatus = Literal["queued", "ringing"]
CallStatus = Literal[
    "queued", "ringing", "connected", "hold", "hangup", "abandoned", "missed", "transferred"
]
SpeakerType = Literal["internal", "external"]
RecordingType = Literal["call", "voicemail"]


def _number(value: Any) -> int | float:
    # JSON's number: ints stay ints (ms timestamps), floats pass, bools and text do not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a number")
    return value


# One validator rather than `int | float`, whose errors would name each union member.
Number = Annotated[int | float, PlainValidator(_number)]


class _Body(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )


# Calls ---------------------------------------------------------------------------------


class CallParty(_Body):
    handle: str
    name: str | None = None


class CreateCallInbound(_Body):
    external_call_id: ExternalId
    initial_status: InitialStatus
    direction: Literal["inbound"] = "inbound"
    from_: CallParty = Field(alias="from")
    parent_external_call_id: ExternalId
    started_at: Number | None = None
    agent_email_address: str | None = None


class CreateCallOutbound(_Body):
    external_call_id: ExternalId
    initial_status: InitialStatus
    direction: Literal["outbound"] = "outbound"
    to: CallParty
    parent_external_call_id: ExternalId
    started_at: Number | None = None
    agent_email_address: str | None = None


CreateCall = Annotated[CreateCallInbound | CreateCallOutbound, Field(discriminator="direction")]


class UpdateCall(_Body):
    call_status: CallStatus
    occurred_at: Number | None = None
    agent_email_address: str | None = None


class AddCallSummary(_Body):
    content: Annotated[str, StringConstraints(min_length=1)]


class TranscriptLine(_Body):
    speaker_name: str
    content: str
    start_time_seconds: Number
    speaker_type: SpeakerType


class AddCallTranscript(_Body):
    lines: Annotated[list[TranscriptLine], Field(min_length=1)]


class AddCallRecording(_Body):
    """The form fields of add-call-recording; the audio file travels beside them."""

    recording_type: RecordingType


# Channel and templates -----------------------------------------------------------------


class UpdateChannel(_Body):
    status: Literal["offline", "ok"] | None = None


class VariableMapping(_Body):
    uid: str
    type: str
    name: str


class ApplicationMessageTemplateEdit(_Body):
    name: str | None = None
    blurb: str | None = None
    is_disabled: bool | None = None
    status_name: str | None = None
    variable_mappings: list[VariableMapping] | None = None
    template_preview: str | None = None


class ApplicationMessageTemplate(_Body):
    external_id: PathId
    name: str
    blurb: str
    is_disabled: bool
    status_name: str
    variable_mappings: list[VariableMapping]
    template_preview: str


# Messages ------------------------------------------------------------------------------


class Contact(_Body):
    """A message sender or recipient."""

    handle: str
    name: str | None = None
    email: str | None = None


class MessageMetadata(_Body):
    external_id: ExternalId
    external_conversation_id: ExternalId
    referenced_message_external_id: ExternalId | None = None


class InboundMessage(_Body):
    sender: Contact
    body: str
    metadata: MessageMetadata
    subject: str | None = None
    delivered_at: int | None = None  # seconds, not milliseconds like call timestamps


class OutboundMessage(_Body):
    to: Annotated[list[Contact], Field(min_length=1)]
    body: str
    metadata: MessageMetadata
    sender_name: str | None = None
    author_id: str | None = None
    subject: str | None = None
    delivered_at: int | None = None


class MessageStatus(_Body):
    """Body of update-external-message-status; `failed` reopens the conversation."""

    status: Literal["failed"]
    reason: str | None = None


class Attachment(BaseModel):
    """A file to upload. Kept in memory: Front refuses more than 25 MB per request."""

    model_config = ConfigDict(strict=True, frozen=True)

    filename: Annotated[str, StringConstraints(min_length=1)]
    content_type: Annotated[str, StringConstraints(min_length=3)]
    data: bytes = Field(repr=False)


# Validation ----------------------------------------------------------------------------

T = TypeVar("T")

_CREATE_CALL: TypeAdapter[CreateCallInbound | CreateCallOutbound] = TypeAdapter(CreateCall)


def _field_name(loc: tuple[int | str, ...], tagged: bool) -> str:
    # A discriminated union puts the tag first ("inbound", "from"); callers think in
    # payload terms, so drop it.
    if tagged and len(loc) > 1 and loc[0] in ("inbound", "outbound"):
        loc = loc[1:]
    return ".".join(str(part) for part in loc)


def invalid_from(exc: ValidationError, *, prefix: str = "", tagged: bool = False) -> InvalidRequest:
    """One `InvalidRequest` listing every problem; `.field` is the first one's path."""
    problems: list[str] = []
    first = ""
    for err in exc.errors(include_url=False, include_input=False):
        name = _field_name(err["loc"], tagged)
        # A scalar (a path id) has no location of its own: the prefix names it.
        field = prefix + name if name else (prefix.rstrip(".") or "body")
        msg = err["msg"]
        if err["type"] == "union_tag_not_found":
            field, msg = prefix + "direction", "Field required"
        elif err["type"] == "union_tag_invalid":
            field, msg = prefix + "direction", "Input should be 'inbound' or 'outbound'"
        first = first or field
        problems.append(f"{field}: {msg}")
    return InvalidRequest("; ".join(problems), field=first)


def parse_body(model: type[T] | TypeAdapter[T], data: Any, *, prefix: str = "") -> T:
    """Validate `data` (a model instance or a mapping) into `model` or raise InvalidRequest."""
    # Models are frozen and were validated when built: no need to check them twice.
    if isinstance(model, type) and isinstance(data, model):
        return data
    adapter = model if isinstance(model, TypeAdapter) else _adapter(model)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise invalid_from(exc, prefix=prefix, tagged=model is _CREATE_CALL) from None


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(model: type[T]) -> TypeAdapter[T]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


def parse_create_call(data: Any) -> CreateCallInbound | CreateCallOutbound:
    if isinstance(data, CreateCallInbound | CreateCallOutbound):
        return data
    return parse_body(_CREATE_CALL, data)


def dump_body(body: BaseModel) -> dict[str, Any]:
    """The JSON form Front expects: aliases (`from`), and no keys for absent options."""
    return body.model_dump(by_alias=True, exclude_none=True, mode="json")
