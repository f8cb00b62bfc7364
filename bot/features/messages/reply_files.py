"""The `front.reply` post: a Front reply's text and files into its Slack thread.

Each attachment is downloaded from Front with the app's own credentials (a fresh JWT for
the conversation's channel, or the API token; never sent to another host) into a spooled
temporary file, then uploaded to Slack the way Slack wants it now
(`files.getUploadURLExternal`, the bytes to the URL it gives, `files.completeUploadExternal`
with the reply's text as the comment, so text and files are one message in the thread).
Front or Slack being down raises, and the poster tries again later; a file Front will not
give (gone, refused) or one larger than Slack takes is named in the text instead.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.core.mrkdwn import escape
from bot.front import auth_from_settings
from bot.slack.files import megabytes
from bot.slack.poster import PostContext

log = logging.getLogger(__name__)

# Slack takes files up to 1 GB; larger ones are named, with a word to open them in Front.
SLACK_MAX_FILE_BYTES = 1024**3
# After this many attempts a file Front keeps failing to give is named instead, so the
# reply's text is not held back for a day.
FRONT_ATTEMPTS = 5
_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
_CHUNK = 256 * 1024
_SPOOL = 8 * 1024 * 1024  # in memory up to this, then on disk


class FrontUnavailable(Exception):
    """Front did not give the file this time (5xx, timeout): try the post again later."""


@dataclass
class Fetched:
    filename: str
    size: int
    data: IO[bytes]


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) and a.scheme in ("http", "https")


async def _download(
    http: httpx.AsyncClient, settings: Settings, channel_id: str, att: dict[str, Any]
) -> Fetched | str:
    """The file, or why not (a note for the text). Raises FrontUnavailable to retry."""
    name, url = str(att["filename"]), str(att.get("url") or "")
    declared = att.get("size")
    if isinstance(declared, int) and declared > SLACK_MAX_FILE_BYTES:
        return f"{name} ({megabytes(declared)}) is larger than Slack takes: open it in Front"
    if not _same_origin(url, settings.front_api_url):
        # Our credentials go to Front's API host only.
        return f"{name} (in Front)"
    auth = auth_from_settings(
        settings.front_app_uid, settings.front_app_secret, settings.front_api_token
    )
    headers = {"Authorization": auth.authorization(channel_id)}
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # closed by the caller
    try:
        async with http.stream("GET", url, headers=headers, follow_redirects=True) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise FrontUnavailable(f"Front answered {response.status_code} for {name}")
            if response.status_code != 200:
                spool.close()
                return f"{name} (Front answered {response.status_code}: open it in Front)"
            size = 0
            async for chunk in response.aiter_bytes(_CHUNK):
                size += len(chunk)
                if size > SLACK_MAX_FILE_BYTES:
                    spool.close()
                    return f"{name} is larger than Slack takes: open it in Front"
                spool.write(chunk)
    except httpx.HTTPError as exc:
        spool.close()
        raise FrontUnavailable(f"{type(exc).__name__} downloading {name} from Front") from exc
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Fetched(name, size, spool)


async def _chunks(data: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := data.read(_CHUNK):
        yield chunk


def _slack_upload_host(url: str, api_base: str) -> bool:
    host = urlsplit(url).hostname or ""
    return _same_origin(url, api_base) or (
        urlsplit(url).scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))
    )


async def _upload(http: httpx.AsyncClient, client: AsyncWebClient, file: Fetched) -> str:
    """One file's bytes to Slack; its id (shared by `files.completeUploadExternal`)."""
    got = await client.files_getUploadURLExternal(filename=file.filename, length=file.size)
    upload_url, file_id = str(got["upload_url"]), str(got["file_id"])
    if not _slack_upload_host(upload_url, client.base_url):
        raise RuntimeError(
            f"Slack gave an upload URL on another host: {urlsplit(upload_url).netloc}"
        )
    response = await http.post(
        upload_url,
        content=_chunks(file.data),
        headers={"Content-Length": str(file.size), "Content-Type": "application/octet-stream"},
    )
    if response.status_code != 200:
        raise RuntimeError(f"Slack's upload URL answered {response.status_code}")
    return file_id


async def send_reply(ctx: PostContext) -> dict[str, Any] | None:
    """Post the reply (with its files) in its thread; the posted ts when Slack says it."""
    args = ctx.args
    text = str(args["text"])
    attachments: list[dict[str, Any]] = list(args.get("attachments") or [])
    notes: list[str] = []
    fetched: list[Fetched] = []
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
            for att in attachments:
                try:
                    got = await _download(
                        http, ctx.runtime.settings, str(args["front_channel_id"]), att
                    )
                except FrontUnavailable as exc:
                    if ctx.job.attempts + 1 < FRONT_ATTEMPTS:
                        raise
                    log.warning("front reply %s: %s; posted without it", ctx.job.id, exc)
                    got = f"{att['filename']} (Front did not give it: open it in Front)"
                except ValueError:  # no Front credentials here
                    got = f"{att['filename']} (in Front)"
                if isinstance(got, str):
                    notes.append(got)
                else:
                    fetched.append(got)
            if notes:
                text += "\nAttachments (in Front): " + ", ".join(escape(n) for n in notes)
            if not fetched:
                posted = await ctx.client.chat_postMessage(
                    channel=args["channel"], thread_ts=args["thread_ts"], text=text
                )
                return {"ts": str(posted["ts"])} if posted.get("ts") else None
            ids = [await _upload(http, ctx.client, f) for f in fetched]
        await ctx.client.files_completeUploadExternal(
            files=[{"id": i, "title": f.filename} for i, f in zip(ids, fetched, strict=True)],
            channel_id=str(args["channel"]),
            thread_ts=str(args["thread_ts"]),
            initial_comment=text,
        )
        return None
    finally:
        for f in fetched:
            f.data.close()
