"""Hypothesis strategies for signed Slack requests: shaped like the real payloads (from the
tests' payload helpers and the app's own ids and metadata models) so that most get past
Bolt's routing into the listeners, then bent: fields missing, of the wrong type, huge,
unknown ids, metadata that is not ours."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from bot.features.admin.views import TemplateIds, TemplateMeta
from bot.features.alerts.views import AlertButton, AlertIds
from bot.features.calls.ids import CallFormMeta, CallIds, CallModalMeta, CallRef, RecordingOffer
from bot.features.messages.ids import FormMeta, MarkFailedMeta, MessageIds
from tests.calls.payloads import call_values
from tests.helpers.slack_signing import FORM, event_body, interactivity_body
from tests.messages.payloads import block_actions, form_values, message_action, view_submission
from tests.reliability.authz import World

JSON = "application/json"
Request = tuple[str, str]  # (body, content type)

# Any JSON value, small: what a field of the wrong type may hold.
junk: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
words = st.text(max_size=40)
huge = st.integers(1_000, 200_000).map(lambda n: "x" * n)


def maybe(value: Any) -> st.SearchStrategy[Any]:
    """The value, or a wrong one, or nothing (the caller drops `...`)."""
    return st.one_of(*[st.just(value)] * 6, junk, st.just(...))


def _drop(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not ...}


def often(value: Any, *others: Any) -> st.SearchStrategy[Any]:
    """Mostly `value` (what Slack sends), sometimes one of `others` (`...`: left out)."""
    return st.sampled_from([value] * 5 + list(others))


def commands(w: World) -> st.SearchStrategy[Request]:
    texts = st.one_of(
        words,
        huge,
        st.sampled_from(
            [
                "help",
                "connect cha_1",
                "connect",
                "disconnect",
                "status offline",
                "status x",
                "templates",
                "alerts <#C1|support>",
                "alerts off",
                "+33 6 12 34 56 78 Ada out",
            ]
        ),
    )

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        fields = {
            "token": "legacy",
            "team_id": draw(often("T1", "T2", "", ...)),
            "channel_id": draw(often("C1", "C2", "", ...)),
            "user_id": draw(often("U1", "U2", "V1", "", ...)),
            "command": draw(st.sampled_from(["/logcall", "/logmsg", "/switchboard", "/nope"])),
            "text": draw(texts),
            "trigger_id": draw(
                often("trig", "", ...).map(lambda t: t if t != "trig" else f"trig-{draw(words)}")
            ),
            "response_url": f"{w.fake.base_url}/respond/command",
        }
        return urlencode(_drop(fields)), FORM

    return build()


def _metas(w: World) -> list[str]:
    """The private_metadata each modal carries, for this world's rows."""
    call = w.call.external_call_id
    return [
        CallModalMeta(team_id="T1", channel_id="C1", user_id="U1").model_dump_json(),
        CallModalMeta(
            team_id="T1", channel_id="C1", user_id="U1", parent_external_call_id=call
        ).model_dump_json(),
        CallFormMeta(
            team_id="T1", channel_id="C1", user_id="U1", external_call_id=call
        ).model_dump_json(),
        FormMeta(source="logmsg", team_id="T1", channel_id="C1").model_dump_json(),
        FormMeta(
            source="shortcut", team_id="T1", channel_id="C1", ts="1.1", root_ts="1.1"
        ).model_dump_json(),
        MarkFailedMeta(external_id=w.message.external_id, channel_id="C1").model_dump_json(),
        TemplateMeta(team_id="T1", channel_id="C1", template_id=w.template_id).model_dump_json(),
    ]


VIEWS = [
    CallIds.log_view,
    CallIds.summary_view,
    CallIds.transcript_view,
    CallIds.recording_view,
    MessageIds.form_view,
    MessageIds.mark_failed_view,
    TemplateIds.form_view,
]


def _values() -> st.SearchStrategy[Any]:
    """A modal's state values: the real shapes with odd answers, or no shape at all."""
    odd_time = st.sampled_from(["abc", 1e20, -1, 0, None, True, 2**40, 1764000000])
    calls = st.builds(
        call_values,
        direction=st.sampled_from(["inbound", "outbound", "sideways", ""]),
        party=st.sampled_from(["+33 6 12 34 56 78", "", "abc", "+1"]) | words,
        name=st.none() | words,
        status=st.sampled_from(["ringing", "queued", "hangup", "bogus"]),
        started=odd_time,
        agent=st.sampled_from(["U1", None, ""]),
    )
    messages = st.builds(
        form_values,
        direction=st.sampled_from(["inbound", "outbound", "up"]),
        handle=st.sampled_from(["+33 6 12 34 56 78", "ada@example.com", "", "??"]),
        name=words,
        email=st.sampled_from(["", "nope", "a@b.example"]),
        subject=words,
        body=words | huge.map(lambda s: s[:5000]),
        include_files=st.none() | st.booleans(),
        uploads=st.none()
        | st.lists(
            st.dictionaries(st.sampled_from(["id", "name", "size", "mimetype"]), junk), max_size=2
        ),
    )
    blocks = st.sampled_from(
        [
            CallIds.summary_block,
            CallIds.transcript_text_block,
            CallIds.recording_file_block,
            MessageIds.reason_block,
            TemplateIds.name_block,
            TemplateIds.body_block,
        ]
    )
    loose = st.dictionaries(
        blocks,
        st.dictionaries(
            st.sampled_from(
                ["summary", "transcript", "recording_file", "reason", "name", "body", "x"]
            ),
            st.fixed_dictionaries({"value": junk, "files": junk}),
        ),
        max_size=3,
    )
    return st.one_of(calls, messages, loose, junk)


def view_submissions(w: World) -> st.SearchStrategy[Request]:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        view = {
            "type": "modal",
            "callback_id": draw(st.sampled_from(VIEWS) | words),
            "private_metadata": draw(st.one_of(*[st.sampled_from(_metas(w))] * 4, junk, words)),
            "blocks": [],
        }
        payload = view_submission(
            view,
            draw(_values()),
            user_id=draw(st.sampled_from(["U1", "U2", "V1"])),
            team=draw(st.sampled_from(["T1", "T2"])),
        )
        if draw(st.integers(0, 3)) == 0:
            state = draw(maybe({"values": draw(junk)}))
            if state is ...:
                payload["view"].pop("state")
            else:
                payload["view"]["state"] = state
        if draw(st.integers(0, 19)) == 0:
            payload["view"] = draw(junk | st.just(...))
        for key in ("user", "team"):
            if draw(st.integers(0, 19)) == 0:
                payload[key] = draw(junk)
        return interactivity_body(_drop(payload)), FORM

    return build()


def _actions(w: World) -> list[tuple[str, str | None]]:
    ref = CallRef(
        external_call_id=w.call.external_call_id, version=w.call.version
    ).model_dump_json()
    offer = RecordingOffer(external_call_id=w.call.external_call_id, file_id="F1").model_dump_json()
    alert = AlertButton(alert_id=w.alert_id).model_dump_json()
    return [
        (f"{CallIds.set_status}:connected", ref),
        (f"{CallIds.set_status}:bogus", ref),
        (f"{CallIds.set_status}:", ref),
        (CallIds.summary, ref),
        (CallIds.transcript, ref),
        (CallIds.recording, ref),
        (CallIds.transfer, ref),
        (f"{CallIds.thread_recording}:0", offer),
        (MessageIds.add_message, None),
        (MessageIds.mark_failed, w.message.external_id),
        (TemplateIds.add, None),
        (TemplateIds.edit, str(w.template_id)),
        (TemplateIds.toggle, f"{w.template_id}:1"),
        (TemplateIds.resync, None),
        (AlertIds.retry, alert),
        (AlertIds.discard, alert),
        ("unknown_action", None),
    ]


def block_actions_requests(w: World) -> st.SearchStrategy[Request]:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        action_id, value = draw(st.sampled_from(_actions(w)))
        value = draw(st.one_of(st.just(value), st.just(value), st.just(value), junk, words))
        in_modal = draw(st.booleans())
        metadata = draw(st.one_of(*[st.sampled_from(_metas(w))] * 4, junk, words))
        view = {"id": "VLIST", "private_metadata": metadata}
        payload = block_actions(
            action_id,
            value=value if isinstance(value, str) else None,
            user_id=draw(st.sampled_from(["U1", "U2", "V1"])),
            team=draw(st.sampled_from(["T1", "T2"])),
            message_ts=draw(st.sampled_from([w.call.card_ts, w.message.card_ts, "1.1", None])),
            thread_ts=draw(st.sampled_from([None, w.call.card_ts])),
            ephemeral=draw(st.booleans()),
            view=view if in_modal else None,
        )
        if not isinstance(value, str) and value is not None:
            payload["actions"][0]["value"] = value
        shape = draw(st.integers(0, 15))
        if shape == 0:
            payload["actions"] = []
        elif shape == 1:
            payload["actions"] = draw(junk)
        elif shape == 2:
            payload["actions"][0].pop("action_ts")
        elif shape == 3:
            payload.pop("trigger_id")
        elif shape == 4:
            payload["container"] = draw(junk)
        return interactivity_body(payload), FORM

    return build()


def shortcuts(w: World) -> st.SearchStrategy[Request]:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        message = _drop(
            {
                "ts": draw(maybe(draw(st.sampled_from(["1.1", str(w.message.card_ts)])))),
                "user": draw(maybe("UEXT")),
                "text": draw(maybe(draw(words))),
                "thread_ts": draw(st.sampled_from([..., "1.0", None])),
                "files": draw(st.just(...) | st.lists(junk, max_size=2)),
                "bot_id": draw(st.just(...) | st.just("B1")),
            }
        )
        if "ts" not in message:
            message["ts"] = "1.1"
        payload = message_action(
            message,
            user_id=draw(st.sampled_from(["U1", "V1"])),
            team=draw(st.sampled_from(["T1", "T2"])),
        )
        kind = draw(st.integers(0, 7))
        if kind == 0:
            payload = {
                "type": "shortcut",
                "callback_id": MessageIds.shortcut,
                "team": {"id": "T1"},
                "user": {"id": "U1"},
                "trigger_id": "trig-global",
            }
        elif kind == 1:
            payload["message"] = draw(junk)
        elif kind == 2:
            payload["channel"] = draw(junk)
        return interactivity_body(payload), FORM

    return build()


def events(w: World) -> st.SearchStrategy[Request]:
    @st.composite
    def build(draw: st.DrawFn) -> Request:
        event = _drop(
            {
                "type": draw(st.sampled_from(["app_home_opened", "message", "app_mention", "x"])),
                "subtype": draw(st.sampled_from([..., "file_share", "bot_message"])),
                "user": draw(maybe("U1")),
                "channel": draw(maybe("C1")),
                "tab": draw(maybe("home")),
                "ts": draw(maybe("2.2")),
                "thread_ts": draw(st.sampled_from([..., w.call.card_ts, "2.2"])),
                "files": draw(
                    st.just(...)
                    | st.lists(
                        st.dictionaries(
                            st.sampled_from(
                                ["id", "name", "mimetype", "size", "url_private_download"]
                            ),
                            junk,
                        ),
                        max_size=2,
                    )
                ),
            }
        )
        body = event_body(
            event,
            team_id=draw(st.sampled_from(["T1", "T2"])),
            event_id=draw(words.map(lambda s: f"Ev{s}")),
        )
        if draw(st.integers(0, 9)) == 0:
            body = json.dumps({"type": "url_verification", "challenge": draw(words)})
        return body, JSON

    return build()


def slack_requests(w: World) -> st.SearchStrategy[Request]:
    return st.one_of(
        commands(w), view_submissions(w), block_actions_requests(w), shortcuts(w), events(w)
    )
