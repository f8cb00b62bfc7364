"""Front's callbacks (the two-way bridge), before any feature sees them: the signature
check, and the shape every callback has (`{"type": ..., "payload": ...}`).

Front POSTs to our webhook with `X-Front-Request-Timestamp` and `X-Front-Signature` =
base64(HMAC-SHA256(app secret, "<timestamp>:<raw body>")). How long Front waits and
whether it retries is not documented: handlers answer fast and are idempotent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

MAX_AGE_SECONDS = 300


class CallbackRefused(Exception):
    """The request is not one we accept; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def verify_signature(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
) -> None:
    """base64(HMAC-SHA256(secret, "<timestamp>:<body>")), timestamp within 5 minutes of
    now, either side (a callback dated ahead is as suspect as an old one)."""
    if not timestamp or not signature:
        raise CallbackRefused(401, "missing X-Front-Signature or X-Front-Request-Timestamp")
    # Plain ASCII digits only: float() takes "nan" (no comparison with it is true, so it
    # would pass any age check), "inf", "1e9", "+1", "1_0".
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 16):
        raise CallbackRefused(401, "bad X-Front-Request-Timestamp")
    ts = float(int(timestamp))
    if ts > 1e11:  # the unit is not documented: accept milliseconds too
        ts /= 1000
    now = time.time() if now is None else now
    if not abs(now - ts) <= MAX_AGE_SECONDS:  # written to fail closed, should a NaN get here
        raise CallbackRefused(401, "stale request timestamp")
    expected = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).digest()
    )
    # As bytes: compare_digest refuses str with non-ASCII characters (a header can carry them).
    if not hmac.compare_digest(expected, signature.encode()):
        raise CallbackRefused(401, "bad signature")


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    """What Front sends in X-Front-Signature (used by the simulator and tests)."""
    return base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).digest()
    ).decode()


def parse(data: Any) -> tuple[str, dict[str, Any]]:
    """(type, payload) of a callback body; CallbackRefused (400) for anything else."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise CallbackRefused(400, "expected a JSON object with a `type`")
    payload = data.get("payload") or {}
    if not isinstance(payload, dict):
        raise CallbackRefused(400, "`payload` must be an object")
    return data["type"], payload
