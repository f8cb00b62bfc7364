from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.files import (
    FileTooLarge,
    FileUnavailable,
    SlackFile,
    fetch_file,
    fetch_files,
    parse_files,
)
from tests.helpers.fake_slack import BOT_TOKEN, FakeSlack

pytestmark = pytest.mark.anyio


def client(fake: FakeSlack, token: str = BOT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url)


async def test_fetches_with_the_bot_token(fake_slack: FakeSlack) -> None:
    raw = fake_slack.add_file("F1", "notes.txt", b"hello", "text/plain")
    (f,) = parse_files([raw])
    assert await fetch_file(client(fake_slack), f) == b"hello"
    with pytest.raises(FileUnavailable, match="403"):
        await fetch_file(client(fake_slack, "xoxb-other"), f)


async def test_fetch_files_keeps_order_names_and_types(fake_slack: FakeSlack) -> None:
    files = parse_files(
        [
            fake_slack.add_file("F1", "a.png", b"\x89PNG", "image/png"),
            fake_slack.add_file("F2", "b.pdf", b"%PDF-1.4", "application/pdf"),
        ]
    )
    got = await fetch_files(client(fake_slack), files)
    assert [(f.filename, f.content_type, f.data) for f in got] == [
        ("a.png", "image/png", b"\x89PNG"),
        ("b.pdf", "application/pdf", b"%PDF-1.4"),
    ]


async def test_size_is_checked_before_and_while_reading(fake_slack: FakeSlack) -> None:
    raw = fake_slack.add_file("F1", "big.bin", b"x" * 1000)
    (f,) = parse_files([raw])
    with pytest.raises(FileTooLarge):
        await fetch_file(client(fake_slack), f, max_bytes=999)
    # A file whose declared size lies is still cut off while it streams.
    liar = f.model_copy(update={"size": 10})
    with pytest.raises(FileTooLarge):
        await fetch_file(client(fake_slack), liar, max_bytes=999)
    two = parse_files([raw, fake_slack.add_file("F2", "b.bin", b"y" * 1000)])
    with pytest.raises(FileTooLarge, match="2 files"):
        await fetch_files(client(fake_slack), two, max_total=1500)


async def test_token_never_goes_to_another_host(fake_slack: FakeSlack) -> None:
    f = SlackFile(id="F9", name="x", url_private_download="https://evil.example/x")
    with pytest.raises(FileUnavailable, match="Refusing"):
        await fetch_file(client(fake_slack), f)
    assert not fake_slack.calls


async def test_a_sign_in_page_is_not_taken_for_the_file(fake_slack: FakeSlack) -> None:
    raw = fake_slack.add_file("F1", "photo.jpg", b"<html>sign in</html>", "text/html")
    f = SlackFile.model_validate({**raw, "mimetype": "image/jpeg"})
    with pytest.raises(FileUnavailable, match="files:read"):
        await fetch_file(client(fake_slack), f)


def test_parse_files_skips_deleted_files() -> None:
    files = parse_files(
        [
            {"id": "F1", "mode": "tombstone"},
            {
                "id": "F2",
                "name": "a",
                "size": 3,
                "url_private_download": "https://files.slack.com/a",
            },
            "junk",
        ]
    )
    assert [f.id for f in files] == ["F2"]
