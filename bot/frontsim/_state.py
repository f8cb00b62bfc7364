"""What the simulator remembers: accepted requests, counters, calls, messages, templates,
rate-limit buckets, attachments served to the app and the callbacks it was sent.

One lock guards everything, because tests read the state from another thread than
the server's event loop.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._config import SimConfig

__all__ = [
    "Admission",
    "Outcome",
    "RecordedRequest",
    "SimCall",
    "SimState",
    "StaleRequest",
    "StoredAttachment",
]

# Front's voice channel lifecycle; a transfer ends a leg, so "transferred" is final too.
CALL_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"connected", "hangup", "missed", "abandoned"}),
    "ringing": frozenset({"queued", "connected", "missed", "abandoned", "transferred"}),
    "connected": frozenset({"hold", "transferred", "hangup"}),
    "hold": frozenset({"connected", "transferred", "hangup"}),
    "hangup": frozenset(),
    "missed": frozenset(),
    "abandoned": frozenset(),
    "transferred": frozenset(),
}
FINAL_STATUSES = frozenset(s for s, after in CALL_TRANSITIONS.items() if not after)

# Reported when no rate limit is configured, so the headers are always there.
UNLIMITED_REPORTED = 100_000


@dataclass
class RecordedRequest:
    seq: int
    operation: str
    channel_id: str
    path_params: dict[str, str]
    body: Any
    files: list[dict[str, Any]]
    received_at: float
    idempotency_key: str
    duplicate: bool
    status: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SimCall:
    channel_id: str
    external_call_id: str
    direction: str
    parent_external_call_id: str
    status: str
    history: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    transcripts: list[list[dict[str, Any]]] = field(default_factory=list)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    started_at: int | None = None
    # The latest `occurred_at` accepted so far: Front's timeline only moves forward.
    last_occurred_at: int | None = None
    # The first create-call body, to tell a repeat (fine) from a different call (refused).
    created_body: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any] | None = None
    title: str = ""
    message: str = ""


@dataclass(frozen=True)
class Admission:
    """The rate limiter's answer for one request.

    `scope` says which limit refused it: "company" (the per-minute bucket) or
    "resource" (the per-channel per-second bucket); "" when allowed."""

    allowed: bool
    wait: float
    headers: dict[str, str]
    scope: str = ""


@dataclass(frozen=True)
class StoredAttachment:
    """A file of a simulated Front message, served to the app at `/download/<id>`."""

    id: str
    channel_id: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class _Bucket:
    per_second: float
    capacity: int
    tokens: float
    refilled: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.refilled) * self.per_second)
        self.refilled = now


class StaleRequest(Exception):
    """The request began before a reset; it must not touch the new state."""


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class SimState:
    """The simulator's memory and fault switches; safe to use from any thread.

    With `config.enforce_call_lifecycle` (the default) it refuses with 409 what Front's
    voice lifecycle does not allow: a status change the lifecycle has no arrow for, any
    status after a final one, an `occurred_at` before the call's `started_at` or before
    the previous status's, a transfer leg whose parent is unknown or not `transferred`,
    and a call id created again with another body. Exact repeats stay accepted (as
    duplicates): a client retrying after a lost answer must not be punished.
    """

    _config: SimConfig
    _rng: random.Random

    def __init__(self, config: SimConfig) -> None:
        self._lock = threading.Lock()
        self._initial = config
        self.generation = 0
        self._reset(config)

    # Configuration -------------------------------------------------------------------

    @property
    def config(self) -> SimConfig:
        return self._config

    def configure(self, **changes: Any) -> SimConfig:
        """Change settings while running, e.g. `configure(error_rate=0.5)`."""
        return self.configure_from(changes)

    def configure_from(self, changes: Mapping[str, Any]) -> SimConfig:
        with self._lock:
            new = self._config.replace(changes)
            if new.seed != self._config.seed or "seed" in changes:
                self._rng = random.Random(new.seed)
            # Buckets whose limits changed start full again (see `_bucket`).
            self._config = new
            return new

    def reset(self, config: SimConfig | None = None) -> None:
        """Forget everything; back to the start-up settings unless `config` is given."""
        with self._lock:
            self._reset(config or self._initial)
            self.generation += 1

    def _current(self, generation: int | None) -> None:
        # A request still sleeping in injected latency when a test resets must not draw
        # from the new RNG or take the new bucket's tokens: that would make runs differ.
        if generation is not None and generation != self.generation:
            raise StaleRequest

    def _reset(self, config: SimConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self._company_buckets: dict[str, _Bucket] = {}
        self._resource_buckets: dict[str, _Bucket] = {}
        self._company_answers: dict[str, Counter[int]] = {}
        self._company_channels: dict[str, set[str]] = {}
        self.attachments: dict[str, StoredAttachment] = {}
        self._callbacks: list[dict[str, Any]] = []
        self._next_front_id = 1
        self._seen_jti: dict[str, float] = {}
        self._records: list[RecordedRequest] = []
        self._rejections: list[dict[str, Any]] = []
        self._keys: set[str] = set()
        self._accepted: Counter[str] = Counter()
        self._duplicates: Counter[str] = Counter()
        self._answers: Counter[int] = Counter()
        self.calls: dict[tuple[str, str], SimCall] = {}
        self.channels: dict[str, str] = {}
        self.templates: dict[tuple[str, str], dict[str, Any]] = {}
        self._message_uids: dict[tuple[str, str, str], str] = {}
        self.outbound: dict[tuple[str, str, str], str] = {}
        self.message_statuses: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._next_template_id = 1001
        self._next_message = 1

    # Reading ---------------------------------------------------------------------------

    def requests(self, operation: str | None = None) -> list[dict[str, Any]]:
        """Every accepted request, oldest first (duplicates included, marked)."""
        with self._lock:
            return [
                r.to_dict() for r in self._records if operation is None or r.operation == operation
            ]

    def rejections(self) -> list[dict[str, Any]]:
        """Refused requests (status and reason), to see why a test's request failed."""
        with self._lock:
            return [dict(r) for r in self._rejections]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            answers = self._answers
            return {
                "accepted": dict(self._accepted),
                "duplicates": dict(self._duplicates),
                "total_accepted": sum(self._accepted.values()),
                "total_duplicates": sum(self._duplicates.values()),
                "rate_limited": answers[429],
                "server_errors": sum(n for s, n in answers.items() if s >= 500),
                "unauthorized": answers[401],
                "bad_requests": answers[400],
                "not_found": answers[404],
                "conflicts": answers[409],
                "too_large": answers[413],
                "answers": {str(s): n for s, n in sorted(answers.items())},
                "companies": {
                    company: self._company_stats(company, counts)
                    for company, counts in sorted(self._company_answers.items())
                },
            }

    def _company_stats(self, company: str, answers: Counter[int]) -> dict[str, Any]:
        # What a fairness benchmark needs: how much each company got through and refused.
        return {
            "channels": sorted(self._company_channels.get(company, ())),
            "requests": sum(answers.values()),
            "accepted": sum(n for s, n in answers.items() if 200 <= s < 300),
            "rate_limited": answers[429],
            "server_errors": sum(n for s, n in answers.items() if s >= 500),
            "unauthorized": answers[401],
            "rejected": sum(
                n for s, n in answers.items() if 400 <= s < 500 and s not in (401, 429)
            ),
        }

    def company_stats(self, company: str) -> dict[str, Any]:
        """One company's counts (see `stats()["companies"]`); zeros when it sent nothing."""
        with self._lock:
            return self._company_stats(company, self._company_answers.get(company, Counter()))

    def callbacks(self) -> list[dict[str, Any]]:
        """Callbacks sent to the webhook, oldest first, with what the webhook answered."""
        with self._lock:
            return [dict(c) for c in self._callbacks]

    def call(self, channel_id: str, external_call_id: str) -> SimCall | None:
        with self._lock:
            return self.calls.get((channel_id, external_call_id))

    # Used by the app -------------------------------------------------------------------

    def count_answer(
        self, status: int, operation: str = "", reason: str = "", channel_id: str | None = None
    ) -> None:
        with self._lock:
            self._answers[status] += 1
            if channel_id is not None:
                company = self._config.company_of(channel_id)
                self._company_answers.setdefault(company, Counter())[status] += 1
                self._company_channels.setdefault(company, set()).add(channel_id)
            if status >= 400:
                self._rejections.append(
                    {"operation": operation, "status": status, "message": reason}
                )

    def check_jti(self, jti: str, exp: float) -> bool:
        """False when the token id was already used (a replayed token)."""
        now = time.time()
        with self._lock:
            if len(self._seen_jti) > 10_000:
                self._seen_jti = {k: e for k, e in self._seen_jti.items() if e >= now - 60}
            if jti in self._seen_jti:
                return False
            self._seen_jti[jti] = exp
            return True

    def latency_ms(self, channel_id: str | None) -> float:
        """The latency to add for a request of this channel's company."""
        config = self._config
        if channel_id is None:
            return config.latency_ms
        return config.limits(config.company_of(channel_id)).latency_ms

    def refuses_credentials(self, channel_id: str) -> bool:
        config = self._config
        return config.limits(config.company_of(channel_id)).refuse_credentials

    @staticmethod
    def _bucket(
        buckets: dict[str, _Bucket], name: str, per_second: float, capacity: int, now: float
    ) -> _Bucket:
        bucket = buckets.get(name)
        if bucket is None or (bucket.per_second, bucket.capacity) != (per_second, capacity):
            # New, or its limits were changed: it starts full, as after a reset.
            bucket = _Bucket(per_second, capacity, float(capacity), now)
            buckets[name] = bucket
        else:
            bucket.refill(now)
        return bucket

    def admit(self, channel_id: str | None, generation: int | None = None) -> Admission:
        """Take a token from the channel's company bucket and from the channel's own
        (per-resource) bucket; a refused request takes neither."""
        with self._lock:
            self._current(generation)
            config = self._config
            now = time.monotonic()
            limits = config.limits(config.company_of(channel_id or ""))
            company: _Bucket | None = None
            if limits.rate_limit_per_minute is not None:
                company = self._bucket(
                    self._company_buckets,
                    config.company_of(channel_id or ""),
                    limits.rate_limit_per_minute / 60.0,
                    limits.capacity,
                    now,
                )
            resource: _Bucket | None = None
            if config.resource_rate_per_second is not None and channel_id:
                resource = self._bucket(
                    self._resource_buckets,
                    channel_id,
                    config.resource_rate_per_second,
                    config.resource_capacity,
                    now,
                )

            if company is not None and company.tokens < 1.0:
                wait = (1.0 - company.tokens) / company.per_second
                return Admission(False, wait, self._headers(company.capacity, 0, wait), "company")
            if resource is not None and resource.tokens < 1.0:
                wait = (1.0 - resource.tokens) / resource.per_second
                return Admission(False, wait, self._company_headers(company), "resource")
            if resource is not None:
                resource.tokens -= 1.0
            if company is not None:
                company.tokens -= 1.0
            return Admission(True, 0.0, self._company_headers(company))

    def take_token(
        self, generation: int | None = None, channel_id: str | None = None
    ) -> tuple[bool, float, dict[str, str]]:
        """(allowed, seconds until a token is free, x-ratelimit-* headers); see `admit`."""
        admission = self.admit(channel_id, generation)
        return admission.allowed, admission.wait, admission.headers

    def _company_headers(self, bucket: _Bucket | None) -> dict[str, str]:
        if bucket is None:  # no limit: the headers are there all the same
            return self._headers(UNLIMITED_REPORTED, UNLIMITED_REPORTED, 0.0)
        until_full = (bucket.capacity - bucket.tokens) / bucket.per_second
        return self._headers(bucket.capacity, int(bucket.tokens), until_full)

    @staticmethod
    def _headers(limit: int, remaining: int, seconds: float) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, remaining)),
            "x-ratelimit-reset": str(math.ceil(time.time() + seconds)),
        }

    def draw_fault(
        self, generation: int | None = None, channel_id: str | None = None
    ) -> int | None:
        with self._lock:
            self._current(generation)
            config = self._config
            rate = (
                config.error_rate
                if channel_id is None
                else config.limits(config.company_of(channel_id)).error_rate
            )
            if rate <= 0 or self._rng.random() >= rate:
                return None
            return self._rng.choice(config.error_statuses)

    # Callbacks and attachments ---------------------------------------------------------

    def store_attachment(
        self, channel_id: str, filename: str, content_type: str, data: bytes
    ) -> StoredAttachment:
        with self._lock:
            stored = StoredAttachment(
                id=f"fil_sim{len(self.attachments) + 1:06d}",
                channel_id=channel_id,
                filename=filename,
                content_type=content_type,
                data=data,
            )
            self.attachments[stored.id] = stored
            return stored

    def attachment(self, attachment_id: str) -> StoredAttachment | None:
        with self._lock:
            return self.attachments.get(attachment_id)

    def next_front_message_id(self) -> str:
        with self._lock:
            self._next_front_id += 1
            return f"msg_sim{self._next_front_id - 1:06d}"

    def record_callback(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._callbacks.append(dict(entry))

    def conversation_contact(self, channel_id: str, conversation_id: str) -> dict[str, Any] | None:
        """The contact of a conversation the app synced: the last inbound sender, else
        the first recipient of the last outbound message. None when unknown."""
        with self._lock:
            for record in reversed(self._records):
                body = record.body if isinstance(record.body, dict) else {}
                meta = body.get("metadata") or {}
                if (
                    record.channel_id != channel_id
                    or meta.get("external_conversation_id") != conversation_id
                ):
                    continue
                if record.operation == "sync_inbound_message":
                    return dict(body["sender"])
                if record.operation == "sync_outbound_message" and body.get("to"):
                    return dict(body["to"][0])
            return None

    # The domain ------------------------------------------------------------------------

    def apply(
        self,
        operation: str,
        channel_id: str,
        params: dict[str, str],
        body: dict[str, Any],
        files: list[dict[str, Any]],
        generation: int | None = None,
    ) -> tuple[Outcome, int]:
        """Check order rules, update the state, record the request, say what to answer.

        Returns the outcome and the record's `seq` (0 when refused)."""
        with self._lock:
            self._current(generation)
            handler = getattr(self, f"_{operation}")
            key: str
            outcome: Outcome
            key, outcome = handler(channel_id, params, body, files)
            if outcome.status >= 400:
                return outcome, 0
            duplicate = key in self._keys
            self._keys.add(key)
            self._accepted[operation] += 1
            if duplicate:
                self._duplicates[operation] += 1
            self._records.append(
                RecordedRequest(
                    seq=len(self._records) + 1,
                    operation=operation,
                    channel_id=channel_id,
                    path_params=dict(params),
                    body=body,
                    files=files,
                    received_at=time.time(),
                    idempotency_key=key,
                    duplicate=duplicate,
                    status=outcome.status,
                )
            )
            return outcome, len(self._records)

    def mark_answer(self, seq: int, status: int) -> None:
        """The answer actually sent for a recorded request (an injected fault)."""
        with self._lock:
            if 0 < seq <= len(self._records) and self._records[seq - 1].seq == seq:
                self._records[seq - 1].status = status

    def _find_call(self, channel_id: str, params: dict[str, str]) -> SimCall | Outcome:
        call = self.calls.get((channel_id, params["external_call_id"]))
        if call is None:
            return Outcome(
                404, title="Not found", message=f"call {params['external_call_id']!r} not found"
            )
        return call

    @staticmethod
    def _conflict(message: str) -> tuple[str, Outcome]:
        return "", Outcome(409, title="Conflict", message=message)

    def _create_call(self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any) -> Any:
        call_id = body["external_call_id"]
        key = f"create_call|{ch}|{call_id}"
        strict = self._config.enforce_call_lifecycle
        existing = self.calls.get((ch, call_id))
        if existing is not None:
            if strict and body != existing.created_body:
                differ = sorted(
                    k
                    for k in set(body) | set(existing.created_body)
                    if body.get(k) != existing.created_body.get(k)
                )
                return self._conflict(
                    f"external_call_id: call {call_id!r} already exists with another body "
                    f"({', '.join(differ)} differ); a call id is created once"
                )
            return key, Outcome(202)
        parent_id = body["parent_external_call_id"]
        if strict and parent_id != call_id:
            # A transfer leg: Front links it to the leg it continues, which must have ended
            # by being transferred.
            parent = self.calls.get((ch, parent_id))
            if parent is None:
                return self._conflict(
                    f"parent_external_call_id: parent call {parent_id!r} is unknown "
                    "(create the first leg before a transfer leg)"
                )
            if parent.status != "transferred":
                return self._conflict(
                    f"parent_external_call_id: parent call {parent_id!r} is {parent.status}, "
                    "not transferred (a transfer leg follows a transferred call)"
                )
        status = body["initial_status"]
        started_at = body.get("started_at")
        self.calls[(ch, call_id)] = SimCall(
            channel_id=ch,
            external_call_id=call_id,
            direction=body["direction"],
            parent_external_call_id=parent_id,
            status=status,
            history=[status],
            started_at=started_at,
            last_occurred_at=started_at,
            created_body=body,
        )
        return key, Outcome(202)

    def _update_call(self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any) -> Any:
        call = self._find_call(ch, p)
        if isinstance(call, Outcome):
            return "", call
        new = body["call_status"]
        key = f"update_call|{ch}|{call.external_call_id}|{new}|{body.get('occurred_at')}"
        if key in self._keys:
            return key, Outcome(202)
        occurred = body.get("occurred_at")
        if self._config.enforce_call_lifecycle:
            problem = self._lifecycle_problem(call, new, occurred)
            if problem:
                return self._conflict(problem)
        call.status = new
        call.history.append(new)
        if occurred is not None:
            last = call.last_occurred_at
            call.last_occurred_at = occurred if last is None else max(last, occurred)
        return key, Outcome(202)

    @staticmethod
    def _lifecycle_problem(call: SimCall, new: str, occurred: int | None) -> str:
        if call.status in FINAL_STATUSES:
            return (
                f"call_status: call {call.external_call_id!r} already reached its final "
                f"status {call.status}; {new} cannot follow"
            )
        if new != call.status and new not in CALL_TRANSITIONS.get(call.status, frozenset()):
            return f"call_status: cannot go from {call.status} to {new}"
        if occurred is not None:
            if call.started_at is not None and occurred < call.started_at:
                return (
                    f"occurred_at: {occurred} is before the call's started_at "
                    f"{call.started_at} (both are milliseconds)"
                )
            if call.last_occurred_at is not None and occurred < call.last_occurred_at:
                return (
                    f"occurred_at: {occurred} is before the previous status's occurred_at "
                    f"{call.last_occurred_at}"
                )
        return ""

    def _call_extra(
        self, op: str, ch: str, p: dict[str, str], body: dict[str, Any], files: Any
    ) -> tuple[str, Outcome, SimCall | None]:
        call = self._find_call(ch, p)
        if isinstance(call, Outcome):
            return "", call, None
        key = f"{op}|{ch}|{call.external_call_id}|{_hash([body, files])}"
        return key, Outcome(202), (None if key in self._keys else call)

    def _add_call_summary(self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any) -> Any:
        key, outcome, call = self._call_extra("add_call_summary", ch, p, body, f)
        if call is not None:
            call.summaries.append(body["content"])
        return key, outcome

    def _add_call_transcript(self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any) -> Any:
        key, outcome, call = self._call_extra("add_call_transcript", ch, p, body, f)
        if call is not None:
            call.transcripts.append(body["lines"])
        return key, outcome

    def _add_call_recording(
        self, ch: str, p: dict[str, str], body: dict[str, Any], files: list[dict[str, Any]]
    ) -> Any:
        key, outcome, call = self._call_extra("add_call_recording", ch, p, body, files)
        if call is not None:
            call.recordings.append({"recording_type": body["recording_type"], **files[0]})
        return key, outcome

    def _sync_message(self, op: str, ch: str, body: dict[str, Any]) -> Any:
        meta = body["metadata"]
        key = f"{op}|{ch}|{meta['external_id']}"
        # Front dedups on external_id: a repeat gets the first answer again.
        uid = self._message_uids.get((op, ch, meta["external_id"]))
        if uid is None:
            uid = f"sim{self._next_message:08d}"
            self._next_message += 1
            self._message_uids[(op, ch, meta["external_id"])] = uid
            if op == "sync_outbound_message":
                self.outbound[(ch, meta["external_conversation_id"], meta["external_id"])] = uid
        return key, Outcome(202, {"status": "accepted", "message_uid": uid})

    def _sync_inbound_message(
        self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any
    ) -> Any:
        return self._sync_message("sync_inbound_message", ch, body)

    def _sync_outbound_message(
        self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any
    ) -> Any:
        return self._sync_message("sync_outbound_message", ch, body)

    def _update_external_message_status(
        self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any
    ) -> Any:
        where = (ch, p["conv_ext_id"], p["message_ext_id"])
        if where not in self.outbound:
            return "", Outcome(
                404,
                title="Not found",
                message=f"no outbound message {p['message_ext_id']!r} "
                f"in conversation {p['conv_ext_id']!r}",
            )
        self.message_statuses[where] = body
        return f"update_external_message_status|{'|'.join(where)}|{_hash(body)}", Outcome(204)

    def _update_channel(self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any) -> Any:
        if "status" in body:
            self.channels[ch] = body["status"]
        return f"update_channel|{ch}|{_hash(body)}", Outcome(204)

    def _template_answer(self, ch: str, external_id: str, body: dict[str, Any]) -> Outcome:
        template = self.templates.setdefault((ch, external_id), {})
        if "template_id" not in template:
            template["template_id"] = self._next_template_id
            self._next_template_id += 1
        template.update({k: v for k, v in body.items() if k != "template_id"})
        return Outcome(200, {"template_id": template["template_id"]})

    def _sync_application_message_template(
        self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any
    ) -> Any:
        key = f"sync_application_message_template|{ch}|{_hash(body)}"
        return key, self._template_answer(ch, body["external_id"], body)

    def _update_application_message_template(
        self, ch: str, p: dict[str, str], body: dict[str, Any], f: Any
    ) -> Any:
        if (ch, p["external_id"]) not in self.templates:
            return "", Outcome(
                404, title="Not found", message=f"template {p['external_id']!r} not found"
            )
        key = f"update_application_message_template|{ch}|{p['external_id']}|{_hash(body)}"
        return key, self._template_answer(ch, p["external_id"], body)
