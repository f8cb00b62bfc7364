"""What is added to a call after it is logged: summary, transcript and recording, from the
card's modals or from an audio file shared in the call's thread.

Each modal is checked inside its ack (a call gone, an empty summary, a file that is not
audio are answered next to the field, the text intact) and stored there: a summary as its
request to Front; a transcript or a recording as a Slack post that fetches the file,
matches the speakers and queues the request (`call.transcript`, `call.recording`), so a
Slack outage after the ack delays it and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.core import slack_posts
from bot.core.errors import InvalidFields, UserError
from bot.core.events import key_of, remember
from bot.core.mrkdwn import escape
from bot.core.slack_posts import PostJob
from bot.core.uow import in_transaction, read
from bot.delivery.outbox import FileToSend
from bot.features.calls import legs, lifecycle, posts, service, transcripts
from bot.features.calls.forms import (
    FIELD_BLOCKS,
    read_recording,
    read_summary,
    read_transcript,
)
from bot.features.calls.ids import CallFormMeta, CallIds, RecordingOffer
from bot.features.calls.state import calls_in_thread
from bot.features.calls.views import recording_offer_blocks
from bot.slack import lookups
from bot.slack.files import MAX_ATTACHMENT_BYTES, SlackFile, fetch_file, parse_files
from bot.slack.forms import Click, Submission, button_value, on_click, view_submission
from bot.slack.poster import PostContext, PostKinds
from storage.models import Call

log = logging.getLogger(__name__)

# How long a transcript file's download may hold the modal's ack (Slack allows 3 s in all).
TRANSCRIPT_FETCH_IN_ACK_SECONDS = 1.5
# Above this many channel members, speakers are matched against the call's people only.
MAX_MEMBERS_TO_RESOLVE = 50

Form = Submission[CallFormMeta]


def typed_back(what: str, typed: str) -> str:
    """The person's own text, quoted and escaped, so a failure after the ack loses nothing."""
    quoted = "\n".join("> " + escape(line) for line in typed.splitlines() or [""])
    return f"Your {what}, so that it is not lost:\n{quoted}"


def _call_of(session: Session, args: dict[str, Any]) -> Call:
    return legs.get_call(
        session, team_id=args["team_id"], external_call_id=args["external_call_id"]
    )


def _call_args(sub: Form, field: str) -> dict[str, Any]:
    """What a follow-up needs of its form: the call (from the verified team), who sent it."""
    return {
        "team_id": sub.team_id,
        "external_call_id": sub.meta.external_call_id,
        "user": sub.user_id,
        "field": field,
    }


# Summary -------------------------------------------------------------------------------


def _store_summary(session: Session, *, args: dict[str, Any], content: str) -> None:
    call = service.add_summary(
        session,
        team_id=args["team_id"],
        external_call_id=args["external_call_id"],
        content=content,
        user_id=args["user"],
    )
    posts.tell_about(session, call, user=args["user"], text="Summary queued for Front.")


async def _accept_summary(sub: Form) -> None:
    content = read_summary(sub.state)
    try:
        await in_transaction(
            sub.runtime,
            _store_summary,
            wake=True,
            once=sub.replay_key,
            args=_call_args(sub, "summary"),
            content=content,
        )
    except legs.CallNotFound as exc:
        raise InvalidFields({"summary": str(exc)}) from None


summary_submitted = view_submission(
    CallFormMeta, _accept_summary, blocks=FIELD_BLOCKS, default_block=CallIds.summary_block
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


def _queue_transcript(session: Session, *, args: dict[str, Any]) -> None:
    call = _call_of(session, args)  # gone since the modal opened: said in the modal
    slack_posts.enqueue(
        session,
        team_id=call.team_id,
        lane=posts.slack_lane(session, call),
        kind=posts.TRANSCRIPT,
        args=args,
    )


async def _accept_transcript(sub: Form) -> None:
    form = read_transcript(sub.state)
    args = _call_args(sub, form.field)
    if form.file is not None:
        # An uploaded file can only be checked once fetched. A transcript is a small text
        # file on Slack's own servers, so it is fetched inside the ack window, giving it at
        # most 1.5 s: in time, an unreadable or empty file is answered next to the field.
        # When Slack is slow, the post that stores it fetches it again and tells the person.
        fetch = asyncio.ensure_future(_read_transcript_file(sub.client, form.file))
        done, _ = await asyncio.wait({fetch}, timeout=TRANSCRIPT_FETCH_IN_ACK_SECONDS)
        if fetch in done:
            try:
                utterances = fetch.result()
            except UserError as exc:
                raise InvalidFields({form.field: str(exc)}) from None
            args["lines"] = [[u.speaker, u.content, u.start_seconds] for u in utterances]
        else:
            fetch.cancel()
            args["file"] = form.file
    else:
        args["lines"] = [[u.speaker, u.content, u.start_seconds] for u in form.utterances]
        args["typed"] = form.text
    try:
        await in_transaction(
            sub.runtime, _queue_transcript, wake=True, once=sub.replay_key, args=args
        )
    except legs.CallNotFound as exc:
        raise InvalidFields({form.field: str(exc)}) from None


transcript_submitted = view_submission(
    CallFormMeta,
    _accept_transcript,
    blocks=FIELD_BLOCKS,
    default_block=CallIds.transcript_text_block,
)


async def _teammate_test(ctx: PostContext, speakers: set[str]) -> Callable[[str], bool]:
    """Who in the transcript is a teammate: the call's people first, the channel if need be."""
    runtime, client, args = ctx.runtime, ctx.client, ctx.args
    call = await read(
        runtime,
        legs.get_call,
        team_id=args["team_id"],
        external_call_id=args["external_call_id"],
    )
    people = [u for u in (call.agent_user_id, call.created_by, args["user"]) if u]
    is_teammate = transcripts.teammate_matcher(await lookups.all_names(runtime, client, people))
    if all(is_teammate(s) for s in speakers):
        return is_teammate
    try:
        resp = await client.conversations_members(
            channel=call.slack_channel_id, limit=MAX_MEMBERS_TO_RESOLVE + 1
        )
        members = [str(m) for m in resp.get("members") or []]
    except SlackApiError:  # e.g. the app lacks channels:read; the call's people must do
        return is_teammate
    if not members or len(members) > MAX_MEMBERS_TO_RESOLVE:
        return is_teammate
    return transcripts.teammate_matcher(await lookups.all_names(runtime, client, people + members))


async def send_transcript(ctx: PostContext) -> list[dict[str, Any]]:
    """The `call.transcript` post: the file fetched if need be, the speakers matched."""
    if ctx.args.get("file"):
        utterances = await _read_transcript_file(ctx.client, ctx.args["file"])
    else:
        utterances = [transcripts.Utterance(s, c, t) for s, c, t in ctx.args["lines"]]
    is_teammate = await _teammate_test(ctx, {u.speaker for u in utterances})
    return [dict(line) for line in transcripts.front_lines(utterances, is_teammate)]


def record_transcript(session: Session, job: PostJob, lines: list[dict[str, Any]]) -> None:
    args = job.args
    call = service.add_transcript(
        session,
        team_id=args["team_id"],
        external_call_id=args["external_call_id"],
        lines=lines,
        user_id=args["user"],
    )
    text = f"Transcript ({len(lines)} lines) queued for Front."
    posts.tell_about(session, call, user=args["user"], text=text)


# Recording -----------------------------------------------------------------------------


def queue_recording(session: Session, *, args: dict[str, Any]) -> None:
    call = _call_of(session, args)
    slack_posts.enqueue(
        session,
        team_id=call.team_id,
        lane=posts.slack_lane(session, call),
        kind=posts.RECORDING,
        args=args,
    )


async def _accept_recording(sub: Form) -> None:
    form = read_recording(sub.state)
    args = {
        **_call_args(sub, "recording"),
        "file": form.file,
        "recording_type": form.recording_type,
    }
    try:
        await in_transaction(
            sub.runtime, queue_recording, wake=True, once=sub.replay_key, args=args
        )
    except legs.CallNotFound as exc:
        raise InvalidFields({"recording": str(exc)}) from None


recording_submitted = view_submission(
    CallFormMeta,
    _accept_recording,
    blocks=FIELD_BLOCKS,
    default_block=CallIds.recording_file_block,
)


async def send_recording(ctx: PostContext) -> FileToSend:
    """The `call.recording` post: the audio file fetched (up to Front's 25 MB)."""
    file = await _resolve_file(ctx.client, ctx.args["file"])
    content_type = lifecycle.audio_type(file.filename, file.mimetype)
    if content_type is None:
        lifecycle.check_recording(file.filename, file.mimetype)  # raises, saying why
    assert content_type is not None
    data = await fetch_file(ctx.client, file, max_bytes=MAX_ATTACHMENT_BYTES)
    return FileToSend(filename=file.filename, content_type=content_type, data=data)


def record_recording(session: Session, job: PostJob, file: FileToSend) -> None:
    args = job.args
    call = service.add_recording(
        session,
        team_id=args["team_id"],
        external_call_id=args["external_call_id"],
        recording_type=args["recording_type"],
        file=file,
        user_id=args["user"],
    )
    kind = (
        "Voicemail" if args["recording_type"] == lifecycle.RecordingType.voicemail else "Recording"
    )
    posts.tell_about(
        session, call, user=args["user"], text=f"{kind} {escape(file.filename)} queued for Front."
    )


def followup_failed(session: Session, job: PostJob, error: str) -> None:
    """A transcript or recording Slack would not give us, or the call is gone: the person
    is told why (with a pasted transcript given back), in the call's thread if it exists."""
    args, what = job.args, "transcript" if job.kind == posts.TRANSCRIPT else "recording"
    text = f"Your {what} was not added to the call: {escape(error)}"
    if args.get("typed"):
        text += "\n" + typed_back(what, str(args["typed"]))
    try:
        call = _call_of(session, args)
    except legs.CallNotFound:
        slack_posts.tell(session, team_id=args["team_id"], user=args["user"], text=text)
        return
    posts.tell_about(session, call, user=args["user"], text=text)


# An audio file shared in a call's thread ---------------------------------------------


def _offer(
    session: Session,
    *,
    event_id: str,
    team_id: str,
    channel: str,
    thread_ts: str,
    user: str,
    files: list[SlackFile],
) -> None:
    remember(session, key_of("event", event_id))  # Slack's retry of this event: no repeat
    legs = calls_in_thread(session, team_id=team_id, slack_channel_id=channel, thread_ts=thread_ts)
    for file in files[:3] if legs else []:
        slack_posts.tell(
            session,
            team_id=team_id,
            user=user,
            channel=channel,
            thread_ts=thread_ts,
            text=f"Send {file.filename} to Front as this call's recording?",
            blocks=recording_offer_blocks(file.filename, file.id, legs),
        )


async def file_shared(body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]) -> None:
    """Offer to send an audio file shared in a call's thread as the call's recording."""
    thread_ts, channel, user = event.get("thread_ts"), event.get("channel"), event.get("user")
    if not thread_ts or not channel or not user or thread_ts == event.get("ts"):
        return
    files = parse_files(event.get("files"))
    audio = [f for f in files if lifecycle.audio_type(f.filename, f.mimetype)]
    if not audio:
        return
    await in_transaction(
        context["runtime"],
        _offer,
        wake=True,
        event_id=str(body.get("event_id") or event.get("ts")),
        team_id=context["team_id"],
        channel=str(channel),
        thread_ts=str(thread_ts),
        user=str(user),
        files=audio,
    )


async def _thread_recording_clicked(click: Click) -> None:
    offer = button_value(click.action, RecordingOffer)
    args = {
        "team_id": click.team_id,
        "external_call_id": offer.external_call_id,
        "user": click.user_id,
        "field": "recording",
        "file": {"id": offer.file_id},
        "recording_type": offer.recording_type,
    }
    await in_transaction(click.runtime, queue_recording, wake=True, args=args)
    if click.respond is not None and click.body.get("response_url"):
        # The offer (ephemeral) gives way to what happens next; the queued post says more.
        try:
            await click.respond(
                replace_original=True, text="Sending it to Front with the call's recording…"
            )
        except Exception as exc:  # a nicety: the recording is stored either way
            log.info("could not replace the recording offer: %s", type(exc).__name__)


thread_recording_clicked = on_click(_thread_recording_clicked)


def register_posts(kinds: PostKinds) -> None:
    kinds.add(posts.TRANSCRIPT, send_transcript, record_transcript, followup_failed)
    kinds.add(posts.RECORDING, send_recording, record_recording, followup_failed)
