"""Sign and shape request bodies exactly as Slack sends them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret-0123456789"


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, content_type: str
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


FORM = "application/x-www-form-urlencoded"


def command_body(
    command: str,
    text: str = "",
    *,
    team_id: str = "T1",
    channel_id: str = "C1",
    user_id: str = "U1",
    trigger_id: str | None = None,
    response_url: str = "",
) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": team_id,
            "team_domain": "acme",
            "channel_id": channel_id,
            "channel_name": "support",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url,
            # Slack gives every command a fresh trigger id (a repeated one is a replay).
            "trigger_id": trigger_id or f"trig-{uuid.uuid4().hex[:12]}",
        }
    )


def interactivity_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any], *, team_id: str = "T1", event_id: str = "Ev1") -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": team_id,
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": team_id, "user_id": "UBOT", "is_bot": True, "enterprise_id": None}
            ],
        }
    )
