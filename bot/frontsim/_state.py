"""What the simulator remembers: accepted requests, counters, calls, messages, templates,
rate-limit buckets, attachments served to the app and the callbacks it was sent.

One lock guards everything, because tests read the state from another thread than
the server's event loop.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._config import SimConfig
from ._limits import Admission, RateLimits
from ._operations import CALL_TRANSITIONS, ChannelOperations, Outcome, SimCall

__all__ = [
    "CALL_TRANSITIONS",
    "Admission",
    "Outcome",
    "RecordedRequest",
    "SimCall",
    "SimState",
    "StaleRequest",
    "StoredAttachment",
]


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


@dataclass(frozen=True)
class StoredAttachment:
    """A file of a simulated Front message, served to the app at `/download/<id>`."""

    id: str
    channel_id: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


class StaleRequest(Exception):
    """The request began before a reset; it must not touch the new state."""


class SimState(ChannelOperations):
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
        self._limits = RateLimits()
        self._company_answers: dict[str, Counter[int]] = {}
        self._company_channels: dict[str, set[str]] = {}
        # Every answer as (time.time(), company, status): what a benchmark needs to count
        # 429s or a rate after a warm-up. Compact tuples, since a long run keeps them all.
        self._answer_log: list[tuple[float, str, int]] = []
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

    def answers(self, company: str | None = None, since: float = 0.0) -> list[dict[str, Any]]:
        """Every answer sent (`at`: UNIX time, `company`, `status`), oldest first; only one
        company's with `company`, only those at or after `since`."""
        with self._lock:
            return [
                {"at": at, "company": c, "status": status}
                for at, c, status in self._answer_log
                if at >= since and (company is None or c == company)
            ]

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
            company = ""
            if channel_id is not None:
                company = self._config.company_of(channel_id)
                self._company_answers.setdefault(company, Counter())[status] += 1
                self._company_channels.setdefault(company, set()).add(channel_id)
            self._answer_log.append((time.time(), company, status))
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

    def admit(self, channel_id: str | None, generation: int | None = None) -> Admission:
        """Take a token from the channel's company bucket and from the channel's own
        (per-resource) bucket; a refused request takes neither."""
        with self._lock:
            self._current(generation)
            return self._limits.admit(self._config, channel_id)

    def take_token(
        self, generation: int | None = None, channel_id: str | None = None
    ) -> tuple[bool, float, dict[str, str]]:
        """(allowed, seconds until a token is free, x-ratelimit-* headers); see `admit`."""
        admission = self.admit(channel_id, generation)
        return admission.allowed, admission.wait, admission.headers

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
