"""Helpers to run Front's simulator in tests; importable from any test package.

```
from bot.frontsim import SimConfig
from tests.front.simulator import running_simulator   # or: from bot.frontsim import ...

with running_simulator(SimConfig(app_uid=APP_UID, app_secret=APP_SECRET)) as (url, sim):
    ...  # point FRONT_API_URL at `url`; inspect sim.requests(), sim.stats()
```

The server is a real uvicorn on 127.0.0.1, port 0, in a background thread, so requests
go over loopback HTTP exactly as they would to Front.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt

from bot.frontsim import SimConfig, SimState, running_simulator

__all__ = [
    "API_TOKEN",
    "APP_SECRET",
    "APP_UID",
    "CHANNEL",
    "auth_header",
    "default_config",
    "make_jwt",
    "running_simulator",
    "simulator",
    "valid_bodies",
]

APP_UID = "app_test_0001"
# 32+ bytes: PyJWT warns about shorter HMAC keys and tests turn warnings into errors.
APP_SECRET = "test-app-secret-0123456789abcdef0123456789"
API_TOKEN = "test-api-token-fedcba9876543210fedcba98765"
CHANNEL = "cha_test"


def default_config(**changes: Any) -> SimConfig:
    """Both credentials accepted (JWT and the fallback token), no faults."""
    return SimConfig(app_uid=APP_UID, app_secret=APP_SECRET, api_token=API_TOKEN).replace(changes)


@contextmanager
def simulator(**changes: Any) -> Iterator[tuple[str, SimState]]:
    """`running_simulator(default_config(**changes))`."""
    with running_simulator(default_config(**changes)) as running:
        yield running


def make_jwt(
    channel_id: str,
    *,
    app_uid: str = APP_UID,
    secret: str = APP_SECRET,
    ttl: float = 10,
    **claims: Any,
) -> str:
    """A token as Front expects it; pass claims (or None to drop one) to break it."""
    now = time.time()
    payload: dict[str, Any] = {
        "iss": app_uid,
        "sub": channel_id,
        "jti": secrets.token_urlsafe(12),
        "iat": int(now),
        "exp": int(now + ttl),
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm="HS256")


def auth_header(channel_id: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_jwt(channel_id, **claims)}"}


def valid_bodies() -> dict[str, dict[str, Any]]:
    """One valid JSON body per operation (recording: its form fields)."""
    return {
        "update_channel": {"status": "ok"},
        "sync_application_message_template": {
            "external_id": "tpl_1",
            "name": "Welcome",
            "blurb": "Hello {{1}}",
            "is_disabled": False,
            "status_name": "APPROVED",
            "variable_mappings": [{"uid": "1", "type": "text", "name": "first_name"}],
            "template_preview": "Hello Ada",
        },
        "update_application_message_template": {"is_disabled": True, "status_name": "REJECTED"},
        "create_call": {
            "external_call_id": "call_1",
            "initial_status": "ringing",
            "direction": "inbound",
            "from": {"handle": "+33123456789", "name": "Ada"},
            "parent_external_call_id": "call_1",
            "started_at": 1_700_000_000_000,
            "agent_email_address": "agent@example.com",
        },
        "update_call": {"call_status": "connected", "occurred_at": 1_700_000_001_000},
        "add_call_recording": {"recording_type": "call"},
        "add_call_summary": {"content": "Customer asked about invoices."},
        "add_call_transcript": {
            "lines": [
                {
                    "speaker_name": "Ada",
                    "content": "Hello",
                    "start_time_seconds": 0,
                    "speaker_type": "external",
                },
                {
                    "speaker_name": "Agent",
                    "content": "Hi, how can I help?",
                    "start_time_seconds": 1.5,
                    "speaker_type": "internal",
                },
            ]
        },
        "update_external_message_status": {"status": "failed", "reason": "carrier refused"},
        "sync_inbound_message": {
            "sender": {"handle": "+33123456789", "name": "Ada", "email": "ada@example.com"},
            "subject": "Invoice",
            "body": "Where is my invoice? é ✓",
            "metadata": {
                "external_id": "msg_in_1",
                "external_conversation_id": "conv_1",
                "referenced_message_external_id": "msg_0",
            },
            "delivered_at": 1_700_000_000,
        },
        "sync_outbound_message": {
            "to": [{"handle": "+33123456789", "name": "Ada"}, {"handle": "+14155550100"}],
            "sender_name": "Agent",
            "author_id": "tea_1",
            "subject": "Re: Invoice",
            "body": "Here it is",
            "metadata": {"external_id": "msg_out_1", "external_conversation_id": "conv_1"},
            "delivered_at": 1_700_000_100,
        },
    }
