"""Client for Front's Channel API (see `openapi.json` beside this file).

```
async with FrontClient("https://api2.frontapp.com", JwtAuth(uid, secret)) as front:
    await front.create_call("cha_123", CreateCallInbound(...))
```
"""

from ._auth import FrontAuth, JwtAuth, TokenAuth, auth_from_settings
from ._client import FrontClient
from ._exceptions import (
    DEFAULT_RETRY_AFTER,
    FrontError,
    FrontRateLimited,
    FrontRejected,
    FrontRetryable,
    FrontUnauthorized,
    InvalidRequest,
    parse_retry_after,
)
from ._models import (
    AddCallRecording,
    AddCallSummary,
    AddCallTranscript,
    ApplicationMessageTemplate,
    ApplicationMessageTemplateEdit,
    Attachment,
    CallParty,
    CallStatus,
    Contact,
    CreateCall,
    CreateCallInbound,
    CreateCallOutbound,
    InboundMessage,
    InitialStatus,
    MessageMetadata,
    MessageStatus,
    OutboundMessage,
    RecordingType,
    SpeakerType,
    TranscriptLine,
    UpdateCall,
    UpdateChannel,
    VariableMapping,
)
from ._wire import MAX_UPLOAD_BYTES, FrontResult, Operation, RateLimitInfo

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "MAX_UPLOAD_BYTES",
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
    "FrontAuth",
    "FrontClient",
    "FrontError",
    "FrontRateLimited",
    "FrontRejected",
    "FrontResult",
    "FrontRetryable",
    "FrontUnauthorized",
    "InboundMessage",
    "InitialStatus",
    "InvalidRequest",
    "JwtAuth",
    "MessageMetadata",
    "MessageStatus",
    "Operation",
    "OutboundMessage",
    "RateLimitInfo",
    "RecordingType",
    "SpeakerType",
    "TokenAuth",
    "TranscriptLine",
    "UpdateCall",
    "UpdateChannel",
    "VariableMapping",
    "auth_from_settings",
    "parse_retry_after",
]
