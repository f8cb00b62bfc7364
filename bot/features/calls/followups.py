"""What is added to a call after it is logged: summary, transcript and recording, from the
card's modals or from an audio file shared in the call's thread.

Each modal is checked inside its ack (a call gone, an empty summary, a file that is not
audio are answered next to the field, the text intact); files are fetched after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import InvalidFields, UserError
from bot.core.mrkdwn import escape
from bot.core.uow import in_transaction, read
from bot.delivery.outbox import FileToSend
from bot.features.calls import lifecycle, service, transcripts
from bot.features.calls.cards import refresh_call_card
from bot.features.calls.forms import (
    FIELD_BLOCKS,
    RecordingForm,
    TranscriptForm,
    read_recording,
    read_summary,
    read_transcript,
)
from bot.features.calls.ids import CallFormMeta, CallIds, RecordingOffer
from bot.features.calls.state import calls_in_thread
from bot.features.calls.views import recording_offer_blocks
from bot.runtime import Runtime
from bot.slack import lookups
from bot.slack.errors import UNEXPECTED
from bot.slack.files import MAX_ATTACHMENT_BYTES, SlackFile, fetch_file, parse_files
from bot.slack.forms import Submission, view_submission
from bot.slack.say import tell

log = logging.getLogger(__name__)

# How long a transcript file's download may hold the modal's ack (Slack allows 3 s in all).
TRANSCRIPT_FETCH_IN_ACK_SECONDS = 1.5
# Above this many channel members, speakers are matched against the call's people only.
MAX_MEMBERS_TO_RESOLVE = 50

Form = Submission[CallFormMeta]


async def _tell_submitter(client: AsyncWebClient, meta: CallFormMeta, text: str) -> None:
    """`tell` the person who submitted a call form, in the call's thread."""
    await tell(
        client, channel=meta.channel_id, user=meta.user_id, text=text, thread_ts=meta.thread_ts
    )


async def _queued(sub: Form, text: str) -> None:
    await _tell_submitter(sub.client, sub.meta, text)
    await refresh_call_card(sub.runtime, sub.meta.external_call_id, client=sub.client)


async def _check_call(sub: Form, field: str) -> None:
    """The form's call may be gone since the modal opened: one indexed read, inside the
    ack, so the person is told in the modal with their text intact."""
    try:
        await read(
            sub.runtime,
            service.get_call,
            team_id=sub.meta.team_id,
            external_call_id=sub.meta.external_call_id,
        )
    except service.CallNotFound as exc:
        raise InvalidFields({field: str(exc)}) from None


def typed_back(what: str, typed: str) -> str:
    """The person's own text, quoted and escaped, so a failure after the ack loses nothing."""
    quoted = "\n".join("> " + escape(line) for line in typed.splitlines() or [""])
    return f"Your {what}, so that it is not lost:\n{quoted}"


async def _not_stored(sub: Form, exc: Exception, what: str, typed: str) -> None:
    """Storing failed after the modal closed: say why, with what the person typed."""
    if isinstance(exc, UserError):
        why = str(exc)
    else:
        log.exception("storing a call's %s failed", what, exc_info=exc)
        why = UNEXPECTED
    await _tell_submitter(sub.client, sub.meta, f"{why}\n{typed_back(what, typed)}")


# Summary -------------------------------------------------------------------------------


async def _accept_summary(sub: Form) -> str:
    content = read_summary(sub.state)
    await _check_call(sub, "summary")
    return content


async def _add_summary(sub: Form, content: str) -> None:
    try:
        await in_transaction(
            sub.runtime,
            service.add_summary,
            wake=True,
            team_id=sub.meta.team_id,
            external_call_id=sub.meta.external_call_id,
            content=content,
            user_id=sub.meta.user_id,
        )
    except Exception as exc:
        await _not_stored(sub, exc, "summary", content)
        return
    await _queued(sub, "Summary queued for Front.")


summary_submitted = view_submission(
    CallFormMeta,
    _accept_summary,
    _add_summary,
    blocks=FIELD_BLOCKS,
    default_block=CallIds.summary_block,
)


# Transcript ----------------------------------------------------------------------------


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
    utterances = transcripts.parse_transcript(text, filename=file.filename)
    if not utterances:
        raise UserError(transcripts.NOTHING_PARSED)
    return utterances


@dataclass(frozen=True)
class _Transcript:
    form: TranscriptForm
    # An uploaded file still arriving when the ack had to go.
    pending: asyncio.Future[list[transcripts.Utterance]] | None = None


async def _accept_transcript(sub: Form) -> _Transcript:
    form = read_transcript(sub.state)
    await _check_call(sub, form.field)
    if form.file is None:
        return _Transcript(form)
    # An uploaded file can only be checked once fetched. A transcript is a small text file
    # on Slack's own servers (files.info + one download, usually well under a second), so
    # it is fetched inside the 3 s ack window, giving at most 1.5 s: when it arrives in
    # time, an unreadable or empty file is answered next to the field with the modal still
    # open. When Slack is slow, the modal closes and the answer comes in the call's thread
    # instead; the fetch is never cut short.
    fetch = asyncio.ensure_future(_read_transcript_file(sub.client, form.file))
    done, _pending = await asyncio.wait({fetch}, timeout=TRANSCRIPT_FETCH_IN_ACK_SECONDS)
    if fetch not in done:
        return _Transcript(form, pending=fetch)
    try:
        utterances = fetch.result()
    except UserError as exc:
        raise InvalidFields({form.field: str(exc)}) from None
    return _Transcript(TranscriptForm(utterances=utterances, text=form.text, file=form.file))


async def _teammate_test(sub: Form, speakers: set[str]) -> Callable[[str], bool]:
    """Who in the transcript is a teammate: the call's people first, the channel if need be."""
    runtime, client, meta = sub.runtime, sub.client, sub.meta
    call = await read(
        runtime, service.get_call, team_id=meta.team_id, external_call_id=meta.external_call_id
    )
    people = [u for u in (call.agent_user_id, call.created_by, meta.user_id) if u]
    is_teammate = transcripts.teammate_matcher(await lookups.all_names(runtime, client, people))
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
    return transcripts.teammate_matcher(await lookups.all_names(runtime, client, people + members))


def _as_text(utterances: list[transcripts.Utterance]) -> str:
    """A file's transcript as `Speaker: text` lines (what pasting it would look like)."""
    return "\n".join(f"{u.speaker}: {u.content}" for u in utterances)


async def _add_transcript(sub: Form, accepted: _Transcript) -> None:
    utterances = accepted.form.utterances
    if accepted.pending is not None:
        try:
            utterances = await accepted.pending
        except UserError as exc:
            await _tell_submitter(sub.client, sub.meta, str(exc))
            return
    try:
        is_teammate = await _teammate_test(sub, {u.speaker for u in utterances})
        lines = transcripts.front_lines(utterances, is_teammate)
        await in_transaction(
            sub.runtime,
            service.add_transcript,
            wake=True,
            team_id=sub.meta.team_id,
            external_call_id=sub.meta.external_call_id,
            lines=lines,
            user_id=sub.meta.user_id,
        )
    except Exception as exc:
        typed = accepted.form.text or _as_text(utterances)
        await _not_stored(sub, exc, "transcript", typed)
        return
    await _queued(sub, f"Transcript ({len(lines)} lines) queued for Front.")


transcript_submitted = view_submission(
    CallFormMeta,
    _accept_transcript,
    _add_transcript,
    blocks=FIELD_BLOCKS,
    default_block=CallIds.transcript_text_block,
)


# Recording -----------------------------------------------------------------------------


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
    content_type = lifecycle.audio_type(file.filename, file.mimetype)
    if content_type is None:
        lifecycle.check_recording(file.filename, file.mimetype)  # raises, saying why
    assert content_type is not None
    data = await fetch_file(client, file, max_bytes=MAX_ATTACHMENT_BYTES)
    await in_transaction(
        runtime,
        service.add_recording,
        wake=True,
        team_id=team_id,
        external_call_id=external_call_id,
        recording_type=recording_type,
        file=FileToSend(filename=file.filename, content_type=content_type, data=data),
        user_id=user_id,
    )
    kind = "Voicemail" if recording_type == lifecycle.RecordingType.voicemail else "Recording"
    return f"{kind} {file.filename} queued for Front."


async def _accept_recording(sub: Form) -> RecordingForm:
    form = read_recording(sub.state)
    await _check_call(sub, "recording")
    return form


async def _store_recording(sub: Form, form: RecordingForm) -> None:
    try:
        file = await _resolve_file(sub.client, form.file)
        done = await _add_recording(
            sub.runtime,
            sub.client,
            team_id=sub.meta.team_id,
            external_call_id=sub.meta.external_call_id,
            recording_type=form.recording_type,
            file=file,
            user_id=sub.meta.user_id,
        )
    except UserError as exc:
        await _tell_submitter(sub.client, sub.meta, str(exc))
        return
    await _queued(sub, done)


recording_submitted = view_submission(
    CallFormMeta,
    _accept_recording,
    _store_recording,
    blocks=FIELD_BLOCKS,
    default_block=CallIds.recording_file_block,
)


# An audio file shared in a call's thread ---------------------------------------------


async def file_shared(
    event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    """Offer to send an audio file shared in a call's thread as the call's recording."""
    thread_ts, channel, user = event.get("thread_ts"), event.get("channel"), event.get("user")
    if not thread_ts or not channel or not user or thread_ts == event.get("ts"):
        return
    files = parse_files(event.get("files"))
    audio = [f for f in files if lifecycle.audio_type(f.filename, f.mimetype)]
    if not audio:
        return
    legs = await read(
        context["runtime"],
        calls_in_thread,
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
    runtime: Runtime = context["runtime"]
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
