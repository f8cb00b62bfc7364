"""Downloading files shared in Slack, to send them on to Front.

Slack serves a file's bytes at `url_private_download` to a request carrying the bot token
(`files:read`). The token must never leave for another host, and a file must never be
read whole into memory before its size is known: both are checked here, once, for every
caller (message files, recordings, transcripts).

```
files = [SlackFile.model_validate(f) for f in message["files"]]
data = await fetch_file(client, files[0], max_bytes=MAX_ATTACHMENT_BYTES)
```
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import UserError
from bot.delivery.outbox import FileToSend

# Front refuses a request over 25 MB (files and form fields together).
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024

_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
_CHUNK = 256 * 1024


class SlackFile(BaseModel):
    """The parts of a Slack file object (message `files`, `file_input` values) we use."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str | None = None
    title: str | None = None
    mimetype: str | None = None
    size: int = 0
    url_private_download: str | None = None
    url_private: str | None = None
    # Set on files Slack will not serve (deleted, or hidden by the workspace's retention).
    mode: str | None = None

    @property
    def filename(self) -> str:
        return self.name or self.title or self.id

    @property
    def content_type(self) -> str:
        return self.mimetype or "application/octet-stream"

    @property
    def download_url(self) -> str | None:
        return self.url_private_download or self.url_private


class FileTooLarge(UserError):
    def __init__(self, name: str, size: int, limit: int) -> None:
        super().__init__(
            f"{name}: {megabytes(size)}, over the {megabytes(limit)} Front accepts in one message."
        )
        self.size = size
        self.limit = limit


class FileUnavailable(UserError):
    """Slack would not give a file's bytes."""


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def total_size(files: Sequence[SlackFile]) -> int:
    return sum(f.size for f in files)


def parse_files(raw: object) -> list[SlackFile]:
    """Slack file objects from a payload; tombstones (deleted files) are left out."""
    if not isinstance(raw, list):
        return []
    files: list[SlackFile] = []
    for item in raw:
        try:
            files.append(SlackFile.model_validate(item))
        except ValidationError:  # not a file object of Slack's: nothing to fetch
            continue
    return [f for f in files if f.id and f.mode != "tombstone" and f.download_url]


def _slack_host(host: str) -> bool:
    return host == "slack.com" or host.endswith(".slack.com") or host.endswith(".slack-edge.com")


def _check_url(url: str, api_base: str) -> None:
    """The bot token goes to Slack's file hosts (or to the configured API host) only."""
    target, api = urlsplit(url), urlsplit(api_base)
    same_as_api = (target.scheme, target.netloc) == (api.scheme, api.netloc)
    if not same_as_api and not (target.scheme == "https" and _slack_host(target.hostname or "")):
        raise FileUnavailable(f"Refusing to download a file from {target.netloc or url!r}.")


async def fetch_file(
    client: AsyncWebClient,
    file: SlackFile,
    *,
    max_bytes: int = MAX_ATTACHMENT_BYTES,
    http: httpx.AsyncClient | None = None,
) -> bytes:
    """The file's bytes, fetched with `client`'s token; at most `max_bytes` are read."""
    url = file.download_url
    if not url:
        raise FileUnavailable(f"{file.filename} cannot be downloaded from Slack.")
    _check_url(url, client.base_url)
    if file.size > max_bytes:
        raise FileTooLarge(file.filename, file.size, max_bytes)
    own = http is None
    http = http or httpx.AsyncClient(timeout=_TIMEOUT)
    try:
        # httpx drops the Authorization header if a redirect leaves the origin.
        async with http.stream(
            "GET", url, headers={"Authorization": f"Bearer {client.token}"}, follow_redirects=True
        ) as response:
            if response.status_code != 200:
                raise FileUnavailable(
                    f"Slack answered {response.status_code} for {file.filename}; "
                    "it may have been deleted, or the app lacks the files:read scope."
                )
            ctype = response.headers.get("content-type", "")
            # Without files:read Slack answers 200 with its sign-in page instead of the file.
            if ctype.startswith("text/html") and not file.content_type.startswith("text/html"):
                raise FileUnavailable(
                    f"Slack sent a web page instead of {file.filename}: the app needs the "
                    "files:read scope (reinstall it from the manifest)."
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FileTooLarge(file.filename, int(declared), max_bytes)
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes(_CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    raise FileTooLarge(file.filename, received, max_bytes)
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FileUnavailable(
            f"Could not download {file.filename} from Slack ({type(exc).__name__})."
        ) from exc
    finally:
        if own:
            await http.aclose()


async def fetch_files(
    client: AsyncWebClient, files: Sequence[SlackFile], *, max_total: int = MAX_ATTACHMENT_BYTES
) -> list[FileToSend]:
    """Every file, in order, ready for the outbox; their sum stays within `max_total`."""
    if total_size(files) > max_total:
        raise FileTooLarge(f"{len(files)} files", total_size(files), max_total)
    out: list[FileToSend] = []
    budget = max_total
    async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
        for f in files:
            data = await fetch_file(client, f, max_bytes=budget, http=http)
            budget -= len(data)
            out.append(FileToSend(filename=f.filename, content_type=f.content_type, data=data))
    return out


__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "FileTooLarge",
    "FileUnavailable",
    "SlackFile",
    "fetch_file",
    "fetch_files",
    "megabytes",
    "parse_files",
    "total_size",
]
