"""What the simulated Channel API does with an accepted request: the calls and their
lifecycle, synced messages and their statuses, the channel's status and its templates.

`ChannelOperations` is a part of `SimState`: its handlers run under the state's lock
(from `SimState.apply`) and answer (idempotency key, outcome).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ._config import SimConfig

__all__ = ["CALL_TRANSITIONS", "FINAL_STATUSES", "ChannelOperations", "Outcome", "SimCall"]

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


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ChannelOperations:
    """One handler per Channel API operation, `_<operation>(channel, path params, body,
    files)`; see `SimState` for the rules they enforce."""

    _config: SimConfig
    _keys: set[str]
    calls: dict[tuple[str, str], SimCall]
    channels: dict[str, str]
    templates: dict[tuple[str, str], dict[str, Any]]
    _message_uids: dict[tuple[str, str, str], str]
    outbound: dict[tuple[str, str, str], str]
    message_statuses: dict[tuple[str, str, str], dict[str, Any]]
    _next_template_id: int
    _next_message: int

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
