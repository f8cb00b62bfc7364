"""Calls from Slack: `/logcall`, the call card's buttons, and the modals they open.

Every listener acks first. Modals open right after the ack (a trigger_id lasts 3 s and
works once), before any database or users.info work. View submissions check what they
can cheaply inside the ack, so a mistake is shown next to its field while the modal
stays open; slow work (the agent's email, files, the card) happens after it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import links
from bot.core.errors import NotLinked, UserError
from bot.core.mrkdwn import escape
from bot.core.phones import normalise_handle
from bot.core.uow import in_transaction, read
from bot.delivery.outbox import FileToSend
from bot.features.calls import service as calls
from bot.features.calls import transcripts
from bot.features.calls.cards import refresh_call_card
from bot.features.calls.service import CallCard
from bot.features.calls.views import (
    CallFormMeta,
    CallIds,
    CallModalMeta,
    CallRef,
    RecordingOffer,
    TransferRef,
    call_card_blocks,
    card_text,
    log_call_modal,
    recording_modal,
    recording_offer_blocks,
    summary_modal,
    transcript_modal,
)
from bot.runtime import Runtime
from bot.slack.errors import UNEXPECTED, tell
from bot.slack.files import MAX_ATTACHMENT_BYTES, SlackFile, fetch_file, parse_files
from bot.slack.modals import notice_modal
from storage.models import utcnow

log = logging.getLogger(__name__)

# How long a transcript file's download may hold the modal's ack (Slack allows 3 s in all).
TRANSCRIPT_FETCH_IN_ACK_SECONDS = 1.5
# A call logged more than this ahead of now is a typo in the date.
FUTURE_SLACK = timedelta(minutes=10)
# Above this many channel members, speakers are matched against the call's people only.
MAX_MEMBERS_TO_RESOLVE = 50


async def _field_error(ack: AsyncAck, block: str, text: str) -> None:
    """Answer the submission with an error under `block`; the modal stays as typed."""
    await ack(response_action="errors", errors={str(block): text})


class LinkedChannels:
    """Channels this process saw linked within the last minute.

    `/logcall` checks the link only to warn early ("not connected yet"), after the modal
    is open, on the event loop that acks the next requests; for a channel it saw linked a
    moment ago it skips that thread hop and query. The check that counts runs when the
    call is stored (in its transaction), so a stale entry only delays the warning.
    """

    ttl_seconds = 60.0
    max_entries = 10_000

    def __init__(self) -> None:
        self._until: dict[tuple[str, str, str], float] = {}

    def __contains__(self, key: tuple[str, str, str]) -> bool:
        until = self._until.get(key)
        return until is not None and until > time.monotonic()

    def add(self, key: tuple[str, str, str]) -> None:
        if len(self._until) >= self.max_entries:
            self._until.clear()
        self._until[key] = time.monotonic() + self.ttl_seconds

    def discard(self, key: tuple[str, str, str]) -> None:
        self._until.pop(key, None)


LINKED = LinkedChannels()


def linked_key(runtime: Runtime, team_id: str, channel_id: str) -> tuple[str, str, str]:
    # Per database too: tests (and tools) run several apps in one process.
    return (runtime.settings.database_url, team_id, channel_id)


def _runtime(context: dict[str, Any]) -> Runtime:
    runtime: Runtime = context["runtime"]
    return runtime


def _values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = view["state"]["values"]
    return values


def _value(values: dict[str, dict[str, Any]], block: str, action: str) -> dict[str, Any]:
    return (values.get(block) or {}).get(action) or {}


async def _tell_submitter(
    client: AsyncWebClient, meta: CallModalMeta | CallFormMeta, text: str
) -> None:
    """`tell` the person who submitted a call form, in the call's thread."""
    await tell(
        client, channel=meta.channel_id, user=meta.user_id, text=text, thread_ts=meta.thread_ts
    )


async def user_email(client: AsyncWebClient, user_id: str) -> str | None:
    """The profile email, or None: the email is optional in Front, so a user Slack will not
    describe (deleted, another organisation's, a rate limit) never costs the call or click."""
    try:
        resp = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.info("users.info %s: %s", user_id, exc.response.get("error"))
        return None
    user = resp.get("user") or {}
    email = (user.get("profile") or {}).get("email")
    return str(email) if email else None


def action_ms(action: dict[str, Any]) -> int:
    """When the person clicked, in ms (Slack's `action_ts`), else now."""
    stamp = action.get("action_ts")
    if stamp:
        return int(Decimal(str(stamp)) * 1000)
    return calls.epoch_ms(utcnow())


# /logcall ----------------------------------------------------------------------------


async def logcall_command(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    await ack()
    meta = CallModalMeta(
        team_id=command["team_id"], channel_id=command["channel_id"], user_id=command["user_id"]
    )
    prefill = calls.parse_logcall_text(command.get("text") or "")
    opened = await client.views_open(
        trigger_id=command["trigger_id"], view=log_call_modal(meta, prefill, now=utcnow())
    )
    # Only now, with the modal open, is there time to look at the database.
    runtime = _runtime(context)
    key = linked_key(runtime, meta.team_id, meta.channel_id)
    if key in LINKED:
        return
    link = await read(
        runtime, links.get_link, team_id=meta.team_id, slack_channel_id=meta.channel_id
    )
    if link is not None:
        LINKED.add(key)
    else:
        text = str(NotLinked())
        await client.views_update(
            view_id=opened["view"]["id"], view=notice_modal("Not connected yet", text)
        )
        await respond(response_type="ephemeral", text=text)


def read_call_form(
    values: dict[str, dict[str, Any]], *, region: str, now: datetime
) -> calls.CallDraft | dict[str, str]:
    """The modal's answers as a draft (no email yet), or errors by block id."""
    errors: dict[str, str] = {}  # by block id
    direction = _value(values, CallIds.direction_block, CallIds.direction_input)
    status = _value(values, CallIds.status_block, CallIds.status_input)
    party = _value(values, CallIds.party_block, CallIds.party_input).get("value") or ""
    name = (_value(values, CallIds.name_block, CallIds.name_input).get("value") or "").strip()
    started = _value(values, CallIds.started_block, CallIds.started_input)
    agent = _value(values, CallIds.agent_block, CallIds.agent_input).get("selected_user")
    handle = ""
    try:
        handle = normalise_handle(party, region)
    except UserError as exc:
        errors[CallIds.party_block] = str(exc)
    started_at = now
    if started.get("selected_date_time") is not None:
        started_at = calls.from_epoch_ms(int(started["selected_date_time"]) * 1000)
        if started_at > now + FUTURE_SLACK:
            errors[CallIds.started_block] = "That is in the future: when did the call start?"
    if not agent:
        errors[CallIds.agent_block] = "Choose the teammate who was on the call."
    if errors:
        return errors
    return calls.CallDraft(
        direction=calls.Direction((direction.get("selected_option") or {}).get("value", "inbound")),
        party_handle=handle,
        party_name=name or None,
        initial_status=calls.Status((status.get("selected_option") or {}).get("value", "ringing")),
        started_at=started_at,
        agent_user_id=agent,
    )


async def _post_card(
    client: AsyncWebClient, channel: str, thread_ts: str | None, card: CallCard
) -> str:
    try:
        posted = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=card_text(card.call),
            blocks=call_card_blocks(card),
        )
    except SlackApiError as exc:
        if exc.response.get("error") in ("not_in_channel", "channel_not_found"):
            raise UserError(
                "I can't post in this channel: invite me first (`/invite @Switchboard`), "
                "then log the call again."
            ) from exc
        raise
    return str(posted["ts"])


async def log_call_submitted(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    runtime = _runtime(context)
    meta = CallModalMeta.model_validate_json(view["private_metadata"])
    form = read_call_form(_values(view), region=runtime.settings.default_phone_region, now=utcnow())
    if isinstance(form, dict):
        await ack(response_action="errors", errors=form)
        return
    await ack()

    assert form.agent_user_id is not None
    draft = replace(form, agent_email=await user_email(client, form.agent_user_id))
    external_call_id = calls.new_external_call_id()
    leg = calls.new_leg(
        team_id=meta.team_id,
        slack_channel_id=meta.channel_id,
        user_id=meta.user_id,
        external_call_id=external_call_id,
        draft=draft,
        parent_external_call_id=meta.parent_external_call_id,
    )
    first_card = CallCard(
        call=leg, delivery=calls.DeliveryState.queued, leg=meta.leg, has_next_leg=False
    )
    # The card goes first: its ts is the thread the call is tied to, stored with the call.
    try:
        card_ts = await _post_card(client, meta.channel_id, meta.thread_ts, first_card)
    except UserError as exc:
        await _tell_submitter(client, meta, str(exc))
        return
    try:
        await in_transaction(
            runtime,
            calls.create_call,
            wake=True,
            team_id=meta.team_id,
            slack_channel_id=meta.channel_id,
            user_id=meta.user_id,
            external_call_id=external_call_id,
            draft=draft,
            card_ts=card_ts,
            parent_external_call_id=meta.parent_external_call_id,
        )
    except Exception as exc:
        # Nothing was stored: a card for it would lie.
        await client.chat_delete(channel=meta.channel_id, ts=card_ts)
        if isinstance(exc, UserError):
            await _tell_submitter(client, meta, str(exc))
            return
        raise
    if meta.parent_external_call_id:  # the parent's card drops its "Log transfer" button
        await refresh_call_card(runtime, meta.parent_external_call_id, client=client)


# The card's buttons ------------------------------------------------------------------


def _card_place(body: dict[str, Any]) -> tuple[str, str | None]:
    """(channel, thread) of a clicked card; a root card's thread is its own ts."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    thread_ts = container.get("thread_ts") or container.get("message_ts")
    return str(channel), thread_ts


async def status_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    runtime = _runtime(context)
    ref = CallRef.model_validate_json(action["value"])
    status = str(action["action_id"]).split(":", 1)[1]
    user_id = body["user"]["id"]
    occurred_at = calls.from_epoch_ms(action_ms(action))
    email = await user_email(client, user_id)
    try:
        await in_transaction(
            runtime,
            calls.set_status,
            wake=True,
            team_id=context["team_id"],
            external_call_id=ref.external_call_id,
            status=status,
            expected_version=ref.version,
            occurred_at=occurred_at,
            user_id=user_id,
            email=email,
        )
    finally:
        # Winner or loser, the card shows the call as it now is.
        await refresh_call_card(runtime, ref.external_call_id, client=client)


def _form_meta(
    body: dict[str, Any], context: dict[str, Any], external_call_id: str
) -> CallFormMeta:
    channel, thread_ts = _card_place(body)
    return CallFormMeta(
        team_id=context["team_id"],
        channel_id=channel,
        user_id=body["user"]["id"],
        external_call_id=external_call_id,
        thread_ts=thread_ts,
    )


def _card_title(body: dict[str, Any]) -> str:
    # The card's text is "Call received from …: Status".
    return str((body.get("message") or {}).get("text") or "This call").rsplit(":", 1)[0]


FormModal = Callable[[CallFormMeta, str], dict[str, Any]]


def _opens(modal: FormModal) -> Callable[..., Awaitable[None]]:
    """A card button that opens one of the call's forms (summary, transcript, recording)."""

    async def clicked(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        await ack()
        ref = CallRef.model_validate_json(action["value"])
        meta = _form_meta(body, context, ref.external_call_id)
        await client.views_open(trigger_id=body["trigger_id"], view=modal(meta, _card_title(body)))

    return clicked


summary_clicked = _opens(summary_modal)
transcript_clicked = _opens(transcript_modal)
recording_clicked = _opens(recording_modal)


async def transfer_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    await ack()
    ref = TransferRef.model_validate_json(action["value"])
    channel, thread_ts = _card_place(body)
    meta = CallModalMeta(
        team_id=context["team_id"],
        channel_id=channel,
        user_id=body["user"]["id"],
        parent_external_call_id=ref.external_call_id,
        thread_ts=thread_ts,
        leg=ref.leg,
    )
    prefill = calls.Prefill(party=ref.party, name=ref.name or "", direction=ref.direction)
    await client.views_open(
        trigger_id=body["trigger_id"], view=log_call_modal(meta, prefill, now=utcnow())
    )


# Summary, transcript, recording ------------------------------------------------------


async def _queued(runtime: Runtime, client: AsyncWebClient, meta: CallFormMeta, text: str) -> None:
    await _tell_submitter(client, meta, text)
    await refresh_call_card(runtime, meta.external_call_id, client=client)


async def _call_gone(runtime: Runtime, meta: CallFormMeta) -> str | None:
    """Why the form's call cannot take it (deleted since the modal opened), or None.

    One indexed read, inside the ack: the person is told in the modal, their text intact.
    """
    try:
        await read(
            runtime, calls.get_call, team_id=meta.team_id, external_call_id=meta.external_call_id
        )
    except calls.CallNotFound as exc:
        return str(exc)
    return None


def typed_back(what: str, typed: str) -> str:
    """The person's own text, quoted and escaped, so a failure after the ack loses nothing."""
    quoted = "\n".join("> " + escape(line) for line in typed.splitlines() or [""])
    return f"Your {what}, so that it is not lost:\n{quoted}"


async def _not_stored(
    client: AsyncWebClient, meta: CallFormMeta, exc: Exception, what: str, typed: str
) -> None:
    """Storing failed after the modal closed: say why, with what the person typed."""
    if isinstance(exc, UserError):
        why = str(exc)
    else:
        log.exception("storing a call's %s failed", what, exc_info=exc)
        why = UNEXPECTED
    text = f"{why}\n{typed_back(what, typed)}"
    await _tell_submitter(client, meta, text)


async def summary_submitted(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    meta = CallFormMeta.model_validate_json(view["private_metadata"])
    value = _value(_values(view), CallIds.summary_block, CallIds.summary_input).get("value")
    content = (value or "").strip()
    if not content:
        await _field_error(ack, CallIds.summary_block, "Write a summary.")
        return
    runtime = _runtime(context)
    gone = await _call_gone(runtime, meta)
    if gone:
        await _field_error(ack, CallIds.summary_block, gone)
        return
    await ack()
    try:
        await in_transaction(
            runtime,
            calls.add_summary,
            wake=True,
            team_id=meta.team_id,
            external_call_id=meta.external_call_id,
            content=content,
            user_id=meta.user_id,
        )
    except Exception as exc:
        await _not_stored(client, meta, exc, "summary", content)
        return
    await _queued(runtime, client, meta, "Summary queued for Front.")


async def _resolve_file(client: AsyncWebClient, raw: dict[str, Any]) -> SlackFile:
    """A file from a `file_input` value; files.info when Slack sent only its id."""
    found = parse_files([raw])
    if found:
        return found[0]
    info = await client.files_info(file=str(raw["id"]))
    return SlackFile.model_validate(info["file"])


async def _read_transcript_file(
    client: AsyncWebClient, raw: dict[str, Any]
) -> list[transcripts.Utterance]:
    file = await _resolve_file(client, raw)
    data = await fetch_file(client, file, max_bytes=transcripts.MAX_TRANSCRIPT_BYTES)
    text = transcripts.decode_text(data, file.filename)
    return transcripts.parse_transcript(text, filename=file.filename)


def _as_text(utterances: list[transcripts.Utterance]) -> str:
    """A file's transcript as `Speaker: text` lines (what pasting it would look like)."""
    return "\n".join(f"{u.speaker}: {u.content}" for u in utterances)


async def _names(client: AsyncWebClient, user_ids: list[str]) -> list[str]:
    async def one(user_id: str) -> list[str]:
        try:
            resp = await client.users_info(user=user_id)
        except SlackApiError:
            return []
        user = resp.get("user") or {}
        profile = user.get("profile") or {}
        return [
            str(n)
            for n in (
                user.get("real_name"),
                user.get("name"),
                profile.get("real_name"),
                profile.get("display_name"),
            )
            if n
        ]

    found = await asyncio.gather(*(one(u) for u in dict.fromkeys(user_ids)))
    return [name for names in found for name in names]


async def _teammate_test(
    runtime: Runtime,
    client: AsyncWebClient,
    meta: CallFormMeta,
    speakers: set[str],
) -> Any:
    """Who in the transcript is a teammate: the call's people first, the channel if need be."""
    call = await read(
        runtime, calls.get_call, team_id=meta.team_id, external_call_id=meta.external_call_id
    )
    people = [u for u in (call.agent_user_id, call.created_by, meta.user_id) if u]
    is_teammate = transcripts.teammate_matcher(await _names(client, people))
    if all(is_teammate(s) for s in speakers):
        return is_teammate
    try:
        resp = await client.conversations_members(
            channel=meta.channel_id, limit=MAX_MEMBERS_TO_RESOLVE + 1
        )
        members = [str(m) for m in resp.get("members") or []]
    except SlackApiError:  # e.g. the app lacks channels:read; the call's people must do
        return is_teammate
    if not members or len(members) > MAX_MEMBERS_TO_RESOLVE:
        return is_teammate
    return transcripts.teammate_matcher(await _names(client, people + members))


async def transcript_submitted(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    runtime = _runtime(context)
    meta = CallFormMeta.model_validate_json(view["private_metadata"])
    values = _values(view)
    text = _value(values, CallIds.transcript_text_block, CallIds.transcript_text_input).get("value")
    file_value = _value(values, CallIds.transcript_file_block, CallIds.transcript_file_input)
    files: list[dict[str, Any]] = file_value.get("files") or []
    if not (text or "").strip() and not files:
        await _field_error(
            ack, CallIds.transcript_text_block, "Paste a transcript or upload a file."
        )
        return
    if (text or "").strip() and files:
        await ack(
            response_action="errors",
            errors={
                CallIds.transcript_file_block: "Paste a transcript or upload a file, not both."
            },
        )
        return
    gone = await _call_gone(runtime, meta)
    if gone:
        block = CallIds.transcript_file_block if files else CallIds.transcript_text_block
        await _field_error(ack, block, gone)
        return

    if (text or "").strip():
        # Pasted text parses in microseconds: check it inside the ack.
        utterances = transcripts.parse_transcript(text or "")
        if not utterances:
            await _field_error(ack, CallIds.transcript_text_block, transcripts.NOTHING_PARSED)
            return
        await ack()
    else:
        # An uploaded file can only be checked once fetched. A transcript is a small text
        # file on Slack's own servers (files.info + one download, usually well under a
        # second), so it is fetched inside the 3 s ack window, giving at most 1.5 s: when
        # it arrives in time, an unreadable or empty file is answered next to the field
        # with the modal still open. When Slack is slow, the modal closes and the answer
        # comes in the call's thread instead; the fetch is never cut short.
        fetch = asyncio.ensure_future(_read_transcript_file(client, files[0]))
        done, _pending = await asyncio.wait({fetch}, timeout=TRANSCRIPT_FETCH_IN_ACK_SECONDS)
        if fetch in done:
            try:
                utterances = fetch.result()
            except UserError as exc:
                await _field_error(ack, CallIds.transcript_file_block, str(exc))
                return
            if not utterances:
                await _field_error(ack, CallIds.transcript_file_block, transcripts.NOTHING_PARSED)
                return
            await ack()
        else:
            await ack()
            try:
                utterances = await fetch
            except UserError as exc:
                await _tell_submitter(client, meta, str(exc))
                return
            if not utterances:
                text = transcripts.NOTHING_PARSED
                await _tell_submitter(client, meta, text)
                return

    try:
        is_teammate = await _teammate_test(runtime, client, meta, {u.speaker for u in utterances})
        lines = transcripts.front_lines(utterances, is_teammate)
        await in_transaction(
            runtime,
            calls.add_transcript,
            wake=True,
            team_id=meta.team_id,
            external_call_id=meta.external_call_id,
            lines=lines,
            user_id=meta.user_id,
        )
    except Exception as exc:
        await _not_stored(client, meta, exc, "transcript", text or _as_text(utterances))
        return
    await _queued(runtime, client, meta, f"Transcript ({len(lines)} lines) queued for Front.")


async def _add_recording(
    runtime: Runtime,
    client: AsyncWebClient,
    *,
    team_id: str,
    external_call_id: str,
    recording_type: str,
    file: SlackFile,
    user_id: str,
) -> str:
    content_type = calls.audio_type(file.filename, file.mimetype)
    if content_type is None:
        calls.check_recording(file.filename, file.mimetype)  # raises, saying why
    assert content_type is not None
    data = await fetch_file(client, file, max_bytes=MAX_ATTACHMENT_BYTES)
    await in_transaction(
        runtime,
        calls.add_recording,
        wake=True,
        team_id=team_id,
        external_call_id=external_call_id,
        recording_type=recording_type,
        file=FileToSend(filename=file.filename, content_type=content_type, data=data),
        user_id=user_id,
    )
    kind = "Voicemail" if recording_type == calls.RecordingType.voicemail else "Recording"
    return f"{kind} {file.filename} queued for Front."


async def recording_submitted(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    runtime = _runtime(context)
    meta = CallFormMeta.model_validate_json(view["private_metadata"])
    values = _values(view)
    files = _value(values, CallIds.recording_file_block, CallIds.recording_file_input).get("files")
    kind = _value(values, CallIds.recording_type_block, CallIds.recording_type_input)
    recording_type = (kind.get("selected_option") or {}).get("value", calls.RecordingType.call)
    if not files:
        await _field_error(ack, CallIds.recording_file_block, "Upload the call's audio file.")
        return
    if len(files) > 1:
        text = "A call has one recording: upload one file."
        await _field_error(ack, CallIds.recording_file_block, text)
        return
    first = files[0]
    name, mimetype = str(first.get("name") or "the file"), first.get("mimetype")
    # The type Slack reports is checked in the ack; the bytes (up to 10 MB) come after it.
    if mimetype and calls.audio_type(name, mimetype) is None:
        text = f"{name} is not an audio file ({mimetype})."
        await _field_error(ack, CallIds.recording_file_block, text)
        return
    gone = await _call_gone(runtime, meta)
    if gone:
        await _field_error(ack, CallIds.recording_file_block, gone)
        return
    await ack()
    try:
        file = await _resolve_file(client, first)
        done = await _add_recording(
            runtime,
            client,
            team_id=meta.team_id,
            external_call_id=meta.external_call_id,
            recording_type=str(recording_type),
            file=file,
            user_id=meta.user_id,
        )
    except UserError as exc:
        await _tell_submitter(client, meta, str(exc))
        return
    await _queued(runtime, client, meta, done)


# An audio file shared in a call's thread ---------------------------------------------


async def file_shared(
    event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    """Offer to send an audio file shared in a call's thread as the call's recording."""
    thread_ts, channel, user = event.get("thread_ts"), event.get("channel"), event.get("user")
    if not thread_ts or not channel or not user or thread_ts == event.get("ts"):
        return
    audio = [f for f in parse_files(event.get("files")) if calls.audio_type(f.filename, f.mimetype)]
    if not audio:
        return
    legs = await read(
        _runtime(context),
        calls.calls_in_thread,
        team_id=context["team_id"],
        slack_channel_id=str(channel),
        thread_ts=str(thread_ts),
    )
    if not legs:
        return
    for file in audio[:3]:
        await client.chat_postEphemeral(
            channel=str(channel),
            user=str(user),
            thread_ts=str(thread_ts),
            text=f"Send {file.filename} to Front as this call's recording?",
            blocks=recording_offer_blocks(file.filename, file.id, legs),
        )


async def thread_recording_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    await ack()
    runtime = _runtime(context)
    offer = RecordingOffer.model_validate_json(action["value"])
    info = await client.files_info(file=offer.file_id)
    file = SlackFile.model_validate(info["file"])
    done = await _add_recording(
        runtime,
        client,
        team_id=context["team_id"],
        external_call_id=offer.external_call_id,
        recording_type=offer.recording_type,
        file=file,
        user_id=body["user"]["id"],
    )
    await respond(replace_original=True, response_type="ephemeral", text=done)
    await refresh_call_card(runtime, offer.external_call_id, client=client)


__all__ = [
    "LINKED",
    "LinkedChannels",
    "file_shared",
    "linked_key",
    "log_call_submitted",
    "logcall_command",
    "read_call_form",
    "recording_clicked",
    "recording_submitted",
    "status_clicked",
    "summary_clicked",
    "summary_submitted",
    "thread_recording_clicked",
    "transcript_clicked",
    "transcript_submitted",
    "transfer_clicked",
    "user_email",
]
