"""Errors raised by the Channel API client.

Every failure of a client call is one of these; the class says what to do next:

```
FrontError                 base: .operation, .status_code (None if no answer), .title,
 │                         .message (Front's own words when it answered), .retryable
 ├── InvalidRequest        refused locally before sending (.field); never retry
 ├── FrontRejected         400/404/409/413/422: will never succeed as is; never retry
 ├── FrontUnauthorized     401/403: credentials wrong or revoked; pause, tell admins
 └── FrontRetryable        5xx, timeouts, connection errors, other unexpected answers
      └── FrontRateLimited 429; .retry_after in seconds
```

Lower-level errors (httpx's, Front's `_error` envelope) are translated in one place,
`map_transport_errors` and `error_from_response`, both used only by the client's
single sending function. Messages never carry credentials: the caller passes the
values to scrub, and the envelope's text is scrubbed before it is stored.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, ClassVar

import httpx

if TYPE_CHECKING:
    from ._wire import RateLimitInfo

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "FrontError",
    "FrontRateLimited",
    "FrontRejected",
    "FrontRetryable",
    "FrontUnauthorized",
    "InvalidRequest",
    "error_from_response",
    "map_transport_errors",
    "parse_retry_after",
    "redact",
]

# When a 429 says nothing usable: one full window of Front's per-minute limit.
DEFAULT_RETRY_AFTER = 60.0
# Front documents retry-after in seconds, yet one of its error bodies speaks of
# milliseconds; no sane wait is over 1000 s, so a larger value must be milliseconds.
_RETRY_AFTER_MS_THRESHOLD = 1000.0
# x-ratelimit-reset is a UNIX time in seconds; a value this large can only be ms.
_UNIX_MS_THRESHOLD = 1e11
REDACTED = "[redacted]"


class FrontError(Exception):
    """Base class. `str()` is safe to log and to show to an admin.

    `rate_limit`: the answer's x-ratelimit-* headers, when Front answered at all: a
    refused request counts against the company's limit as much as an accepted one."""

    retryable: ClassVar[bool] = False
    rate_limit: RateLimitInfo | None = None

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        status_code: int | None = None,
        title: str = "",
    ) -> None:
        self.operation = operation
        self.status_code = status_code
        self.title = title
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        head = " ".join(p for p in (str(self.status_code or ""), self.title) if p)
        where = f"{self.operation}: " if self.operation else ""
        return f"{where}{head}: {self.message}" if head else f"{where}{self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(operation={self.operation!r}, "
            f"status_code={self.status_code!r}, message={self.message!r})"
        )


class InvalidRequest(FrontError):
    """The request breaks the spec; it was not sent. `.field` names the culprit."""

    def __init__(self, message: str, *, field: str = "", operation: str = "") -> None:
        super().__init__(message, operation=operation, title="Invalid request")
        self.field = field


class FrontRejected(FrontError):
    """Front understood and refused (bad body, unknown call, too large)."""


class FrontUnauthorized(FrontError):
    """Front refused the credentials; every request will fail until an admin acts."""


class FrontRetryable(FrontError):
    """Worth trying again later: Front or the network failed, not the request."""

    retryable: ClassVar[bool] = True


class FrontRateLimited(FrontRetryable):
    """Front's rate limit; wait `.retry_after` seconds before the next request."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = DEFAULT_RETRY_AFTER,
        operation: str = "",
        status_code: int | None = 429,
        title: str = "Too many requests",
    ) -> None:
        super().__init__(message, operation=operation, status_code=status_code, title=title)
        self.retry_after = retry_after


_REJECTED = frozenset({400, 404, 409, 413, 422})
_UNAUTHORIZED = frozenset({401, 403})


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float:
    """Seconds to wait after a 429, from `retry-after`, else `x-ratelimit-reset`."""
    now = time.time() if now is None else now
    raw = (headers.get("retry-after") or "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            # RFC 9110 also allows an HTTP date.
            try:
                when = email.utils.parsedate_to_datetime(raw).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
            else:
                return max(0.0, when - now)
        else:
            if math.isfinite(value) and value >= 0:
                return value / 1000.0 if value > _RETRY_AFTER_MS_THRESHOLD else value
    reset = (headers.get("x-ratelimit-reset") or "").strip()
    if reset:
        try:
            at = float(reset)
        except ValueError:
            pass
        else:
            if math.isfinite(at) and at > 0:
                if at > _UNIX_MS_THRESHOLD:
                    at /= 1000.0
                return max(0.0, at - now)
    return DEFAULT_RETRY_AFTER


def _envelope(response: httpx.Response) -> tuple[str, str]:
    """(title, message) from Front's `{"_error": {...}}`, or a stand-in from the raw body."""
    title = response.reason_phrase or ""
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("_error")
        if isinstance(err, dict):
            return str(err.get("title") or title), str(err.get("message") or "")
        if isinstance(data.get("message"), str):
            return title, str(data["message"])
    # Not Front's envelope (a proxy's HTML page, say): keep a short excerpt for the admin.
    text = response.content[:200].decode("utf-8", "replace").strip()
    return title, text


def error_from_response(
    operation: str, response: httpx.Response, *, secrets: Iterable[str] = ()
) -> FrontError | None:
    """The error an answer means, or None when it is the success the operation expects."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    title, message = _envelope(response)
    secrets = tuple(secrets)
    title, message = redact(title, secrets), redact(message, secrets)
    if status == 429:
        return FrontRateLimited(
            message or "rate limit reached",
            retry_after=parse_retry_after(response.headers),
            operation=operation,
            title=title or "Too many requests",
        )
    kind: type[FrontError]
    if status in _REJECTED:
        kind = FrontRejected
    elif status in _UNAUTHORIZED:
        kind = FrontUnauthorized
    else:
        # 5xx, and anything this API never documents (3xx, 405, 418...): most likely a
        # proxy or an outage in between, which time can fix.
        kind = FrontRetryable
    return kind(message or title, operation=operation, status_code=status, title=title)


@contextlib.contextmanager
def map_transport_errors(operation: str, *, secrets: Iterable[str] = ()) -> Iterator[None]:
    """Turn httpx's exceptions into FrontRetryable (or InvalidRequest for a bad URL)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise FrontRetryable(
            f"timed out ({type(exc).__name__})", operation=operation, title="Timeout"
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise InvalidRequest(
            redact(f"bad Front URL: {exc}", secrets), field="base_url", operation=operation
        ) from None
    except httpx.TransportError as exc:
        raise FrontRetryable(
            redact(f"{type(exc).__name__}: {exc}", secrets) or type(exc).__name__,
            operation=operation,
            title="Connection error",
        ) from exc
    except httpx.InvalidURL as exc:
        raise InvalidRequest(
            redact(f"bad URL: {exc}", secrets), field="path", operation=operation
        ) from None
