"""The Channel API client: one async method per operation of `openapi.json`.

Every method validates its input (raising `InvalidRequest` before anything leaves the
process), then goes through `FrontClient._send`, the only place that builds the
Authorization header, talks to httpx and turns failures into `FrontError`s. Retrying
is not done here: the durable outbox owns it, using `FrontError.retryable` and
`FrontRateLimited.retry_after`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar
from urllib.parse import quote

import httpx

from ._auth import FrontAuth
from ._exceptions import InvalidRequest, error_from_response, map_transport_errors
from ._models import (
    AddCallRecording,
    AddCallSummary,
    AddCallTranscript,
    ApplicationMessageTemplate,
    ApplicationMessageTemplateEdit,
    Attachment,
    CreateCallInbound,
    CreateCallOutbound,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    RecordingType,
    UpdateCall,
    UpdateChannel,
    dump_body,
    parse_body,
    parse_create_call,
)
from ._wire import (
    _ROUTES,
    FrontResult,
    Operation,
    RateLimitInfo,
    _attachments,
    _check_size,
    _Files,
    _Form,
    _form_fields,
    _path_id,
    _result,
)

__all__ = ["FrontClient"]

logger = logging.getLogger("bot.front")

USER_AGENT = "switchboard-front-client/0.1"


P = ParamSpec("P")
R = TypeVar("R")


_Method = Callable[P, Coroutine[Any, Any, R]]


def _operation(op: Operation) -> Callable[[_Method[P, R]], _Method[P, R]]:
    """Tag local refusals with the operation they were for, so every error says it."""

    def decorate(method: _Method[P, R]) -> _Method[P, R]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await method(*args, **kwargs)
            except InvalidRequest as exc:
                exc.operation = exc.operation or op
                raise

        return wrapper

    return decorate


class FrontClient:
    """Async client for Front's Channel API over one pooled `httpx.AsyncClient`.

    Use it as `async with FrontClient(url, auth) as front: await front.create_call(...)`
    or call `aclose()` yourself. Safe to share between concurrent tasks.
    """

    def __init__(
        self,
        base_url: str,
        auth: FrontAuth,
        *,
        timeout: httpx.Timeout | float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 64,
    ) -> None:
        self._auth = auth
        # Absolute URLs spare httpx a second parse and merge per request (~10% of its cost).
        self._prefix = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # Front never redirects API calls; following one would resend the JWT elsewhere.
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"FrontClient(base_url={str(self._http.base_url)!r}, auth={self._auth!r})"

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        await self._http.aclose()

    # Channel and templates ------------------------------------------------------------

    @_operation(Operation.UPDATE_CHANNEL)
    async def update_channel(
        self, channel_id: str, body: UpdateChannel | Mapping[str, Any]
    ) -> FrontResult:
        model = parse_body(UpdateChannel, body)
        return await self._send(Operation.UPDATE_CHANNEL, channel_id, {}, json=dump_body(model))

    @_operation(Operation.SYNC_APPLICATION_MESSAGE_TEMPLATE)
    async def sync_application_message_template(
        self, channel_id: str, body: ApplicationMessageTemplate | Mapping[str, Any]
    ) -> FrontResult:
        model = parse_body(ApplicationMessageTemplate, body)
        return await self._send(
            Operation.SYNC_APPLICATION_MESSAGE_TEMPLATE, channel_id, {}, json=dump_body(model)
        )

    @_operation(Operation.UPDATE_APPLICATION_MESSAGE_TEMPLATE)
    async def update_application_message_template(
        self,
        channel_id: str,
        external_id: str,
        body: ApplicationMessageTemplateEdit | Mapping[str, Any],
    ) -> FrontResult:
        model = parse_body(ApplicationMessageTemplateEdit, body)
        return await self._send(
            Operation.UPDATE_APPLICATION_MESSAGE_TEMPLATE,
            channel_id,
            {"external_id": external_id},
            json=dump_body(model),
        )

    # Calls ----------------------------------------------------------------------------

    @_operation(Operation.CREATE_CALL)
    async def create_call(
        self, channel_id: str, body: CreateCallInbound | CreateCallOutbound | Mapping[str, Any]
    ) -> FrontResult:
        model = parse_create_call(body)
        return await self._send(Operation.CREATE_CALL, channel_id, {}, json=dump_body(model))

    @_operation(Operation.UPDATE_CALL)
    async def update_call(
        self, channel_id: str, external_call_id: str, body: UpdateCall | Mapping[str, Any]
    ) -> FrontResult:
        model = parse_body(UpdateCall, body)
        return await self._send(
            Operation.UPDATE_CALL,
            channel_id,
            {"external_call_id": external_call_id},
            json=dump_body(model),
        )

    @_operation(Operation.ADD_CALL_RECORDING)
    async def add_call_recording(
        self,
        channel_id: str,
        external_call_id: str,
        recording_type: RecordingType,
        file: Attachment,
    ) -> FrontResult:
        fields = parse_body(AddCallRecording, {"recording_type": recording_type})
        return await self._send_recording(channel_id, external_call_id, fields, [file])

    async def _send_recording(
        self,
        channel_id: str,
        external_call_id: str,
        fields: AddCallRecording,
        files: Sequence[Attachment | Mapping[str, Any]],
    ) -> FrontResult:
        attachments = _attachments(files)
        if len(attachments) != 1:
            raise InvalidRequest(
                f"attachments: a recording takes exactly one file, not {len(attachments)}",
                field="attachments",
            )
        (audio,) = attachments
        if not audio.content_type.lower().startswith("audio/"):
            raise InvalidRequest(
                f"attachments: a recording must be audio/*, not {audio.content_type!r}",
                field="attachments",
            )
        form = _form_fields(dump_body(fields), "", [])
        _check_size(form, attachments)
        # The spec names the single file field plainly `attachments` (no index).
        upload: _Files = [("attachments", (audio.filename, audio.data, audio.content_type))]
        return await self._send(
            Operation.ADD_CALL_RECORDING,
            channel_id,
            {"external_call_id": external_call_id},
            form=form,
            files=upload,
        )

    @_operation(Operation.ADD_CALL_SUMMARY)
    async def add_call_summary(
        self, channel_id: str, external_call_id: str, body: AddCallSummary | Mapping[str, Any]
    ) -> FrontResult:
        model = parse_body(AddCallSummary, body)
        return await self._send(
            Operation.ADD_CALL_SUMMARY,
            channel_id,
            {"external_call_id": external_call_id},
            json=dump_body(model),
        )

    @_operation(Operation.ADD_CALL_TRANSCRIPT)
    async def add_call_transcript(
        self,
        channel_id: str,
        external_call_id: str,
        body: AddCallTranscript | Mapping[str, Any],
    ) -> FrontResult:
        model = parse_body(AddCallTranscript, body)
        return await self._send(
            Operation.ADD_CALL_TRANSCRIPT,
            channel_id,
            {"external_call_id": external_call_id},
            json=dump_body(model),
        )

    # Messages -------------------------------------------------------------------------

    @_operation(Operation.UPDATE_EXTERNAL_MESSAGE_STATUS)
    async def update_external_message_status(
        self,
        channel_id: str,
        conversation_external_id: str,
        message_external_id: str,
        body: MessageStatus | Mapping[str, Any],
    ) -> FrontResult:
        model = parse_body(MessageStatus, body)
        return await self._send(
            Operation.UPDATE_EXTERNAL_MESSAGE_STATUS,
            channel_id,
            {"conv_ext_id": conversation_external_id, "message_ext_id": message_external_id},
            json=dump_body(model),
        )

    @_operation(Operation.SYNC_INBOUND_MESSAGE)
    async def sync_inbound_message(
        self,
        channel_id: str,
        body: InboundMessage | Mapping[str, Any],
        attachments: Sequence[Attachment] = (),
    ) -> FrontResult:
        model = parse_body(InboundMessage, body)
        return await self._send_message(
            Operation.SYNC_INBOUND_MESSAGE, channel_id, dump_body(model), attachments
        )

    @_operation(Operation.SYNC_OUTBOUND_MESSAGE)
    async def sync_outbound_message(
        self,
        channel_id: str,
        body: OutboundMessage | Mapping[str, Any],
        attachments: Sequence[Attachment] = (),
    ) -> FrontResult:
        model = parse_body(OutboundMessage, body)
        return await self._send_message(
            Operation.SYNC_OUTBOUND_MESSAGE, channel_id, dump_body(model), attachments
        )

    async def _send_message(
        self,
        operation: Operation,
        channel_id: str,
        payload: dict[str, Any],
        attachments: Sequence[Attachment | Mapping[str, Any]],
    ) -> FrontResult:
        if not attachments:
            return await self._send(operation, channel_id, {}, json=payload)
        files = _attachments(attachments)
        # Front drops file URLs in JSON; files only travel as multipart, where each JSON
        # field becomes its own bracketed form field.
        form = _form_fields(payload, "", [])
        _check_size(form, files)
        upload: _Files = [
            (f"attachments[{i}]", (f.filename, f.data, f.content_type)) for i, f in enumerate(files)
        ]
        return await self._send(operation, channel_id, {}, form=form, files=upload)

    # Generic entry point for the outbox ------------------------------------------------

    async def call(
        self,
        operation: Operation | str,
        channel_id: str,
        path: Mapping[str, str],
        payload: Mapping[str, Any],
        files: Sequence[Attachment] = (),
    ) -> FrontResult:
        """Send a stored request: `path` holds the spec's path parameters by name
        (`external_call_id`, `external_id`, `conv_ext_id`, `message_ext_id`)."""
        try:
            op = Operation(operation)
        except ValueError:
            raise InvalidRequest(
                f"operation: unknown operation {operation!r}", field="operation"
            ) from None
        try:
            return await self._dispatch(op, channel_id, path, payload, files)
        except InvalidRequest as exc:
            exc.operation = exc.operation or op
            raise

    async def _dispatch(
        self,
        op: Operation,
        channel_id: str,
        path: Mapping[str, str],
        payload: Mapping[str, Any],
        files: Sequence[Attachment],
    ) -> FrontResult:
        route = _ROUTES[op]
        extra = sorted(set(path) - set(route.path_params))
        if extra:
            raise InvalidRequest(
                f"path.{extra[0]}: not a path parameter of {op}", field=f"path.{extra[0]}"
            )
        for name in route.path_params:
            if name not in path:
                raise InvalidRequest(f"path.{name}: Field required", field=f"path.{name}")
        if files and op not in (
            Operation.ADD_CALL_RECORDING,
            Operation.SYNC_INBOUND_MESSAGE,
            Operation.SYNC_OUTBOUND_MESSAGE,
        ):
            raise InvalidRequest(f"attachments: {op} takes no files", field="attachments")

        match op:
            case Operation.UPDATE_CHANNEL:
                return await self.update_channel(channel_id, payload)
            case Operation.SYNC_APPLICATION_MESSAGE_TEMPLATE:
                return await self.sync_application_message_template(channel_id, payload)
            case Operation.UPDATE_APPLICATION_MESSAGE_TEMPLATE:
                return await self.update_application_message_template(
                    channel_id, path["external_id"], payload
                )
            case Operation.CREATE_CALL:
                return await self.create_call(channel_id, payload)
            case Operation.UPDATE_CALL:
                return await self.update_call(channel_id, path["external_call_id"], payload)
            case Operation.ADD_CALL_RECORDING:
                fields = parse_body(AddCallRecording, payload)
                return await self._send_recording(
                    channel_id, path["external_call_id"], fields, files
                )
            case Operation.ADD_CALL_SUMMARY:
                return await self.add_call_summary(channel_id, path["external_call_id"], payload)
            case Operation.ADD_CALL_TRANSCRIPT:
                return await self.add_call_transcript(channel_id, path["external_call_id"], payload)
            case Operation.UPDATE_EXTERNAL_MESSAGE_STATUS:
                return await self.update_external_message_status(
                    channel_id, path["conv_ext_id"], path["message_ext_id"], payload
                )
            case Operation.SYNC_INBOUND_MESSAGE:
                return await self.sync_inbound_message(channel_id, payload, files)
            case Operation.SYNC_OUTBOUND_MESSAGE:
                return await self.sync_outbound_message(channel_id, payload, files)

    # The one way out -------------------------------------------------------------------

    async def _send(
        self,
        operation: Operation,
        channel_id: str,
        path_params: Mapping[str, str],
        *,
        json: Any = None,
        form: _Form | None = None,
        files: _Files | None = None,
    ) -> FrontResult:
        route = _ROUTES[operation]
        segments = {"channel_id": quote(_path_id("channel_id", channel_id), safe="")}
        for name in route.path_params:
            segments[name] = quote(_path_id(name, path_params[name]), safe="")
        url = self._prefix + route.template.format_map(segments)

        authorization = self._auth.authorization(channel_id)
        secrets = (*self._auth.secret_values(), authorization.removeprefix("Bearer "))
        with map_transport_errors(operation, secrets=secrets):
            response = await self._http.request(
                route.method,
                url,
                json=json,
                data=dict(form) if form is not None else None,
                files=files,
                headers={"Authorization": authorization},
            )
        logger.debug("front %s -> %s", operation, response.status_code)
        error = error_from_response(operation, response, secrets=secrets)
        if error is not None:
            error.rate_limit = RateLimitInfo.from_headers(response.headers)
            raise error
        return _result(operation, route.answer, response)
