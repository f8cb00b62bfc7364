"""Slack's message formatting (mrkdwn) turned into the HTML Front shows.

Two forms of a message's text exist:
- Slack's wire form (`message["text"]`): `&`, `<` and `>` typed by people arrive as
  `&amp;`, `&lt;`, `&gt;`; a `<` always opens a link or mention token (`<https://x|x>`,
  `<@U123>`, `<#C123|general>`, `<!here>`).
- The editable form shown in a modal: plain characters, mentions as `@Name`, links
  still as Slack tokens. `editable_text` turns the first into the second; people may
  change it, then `to_html` renders it. In the editable form only a `<` that starts a
  well-formed token is a token; any other `<` is text.

Supported: *bold*, _italics_, ~strike~, `code`, ```blocks```, > quotes, links, user,
channel, group and special mentions, dates (their fallback text). Everything else is
escaped: the result is safe HTML whatever was typed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

__all__ = [
    "editable_text",
    "escape",
    "mentioned_channels",
    "mentioned_users",
    "to_html",
    "unescape",
]

# A Slack token: a link (http, https, mailto, tel) or a mention, with an optional label.
_TOKEN = re.compile(r"<((?:https?://|mailto:|tel:|@[UWB]|#[CGD]|!)[^<>\s|]*)(?:\|([^<>\n]*))?>")
_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_USER = re.compile(r"<@([UWB][A-Z0-9]+)(?:\|[^<>]*)?>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|[^<>]*)?>")


def _emphasis(mark: str, tag: str) -> tuple[re.Pattern[str], str]:
    m = re.escape(mark)
    # Slack's rule: the marks hug the words (no space inside) and stand at word edges,
    # so snake_case_names and 2*3*4 stay as they are.
    pattern = re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]*?\S){m}(?![\w{m}])")
    return pattern, rf"<{tag}>\1</{tag}>"


_EMPHASIS = [_emphasis("*", "b"), _emphasis("_", "i"), _emphasis("~", "s")]

# Placeholders for already-rendered pieces: private-use characters, never typed.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"{_OPEN}(\\d+){_CLOSE}")

Names = Mapping[str, str]


def escape(text: str) -> str:
    """Text shown as is in mrkdwn (Slack's three escapes): no mention or link in it works."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack's wire escaping undone (`&lt;` → `<`); tokens are left as they are."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mentioned_users(text: str) -> list[str]:
    return list(dict.fromkeys(_USER.findall(text)))


def mentioned_channels(text: str) -> list[str]:
    return list(dict.fromkeys(_CHANNEL.findall(text)))


def _mention(target: str, label: str | None, users: Names, channels: Names) -> str | None:
    """The plain text a mention token reads as, or None if `target` is a link."""
    if target.startswith("@"):
        uid = target[1:]
        return "@" + (users.get(uid) or label or uid)
    if target.startswith("#"):
        cid = target[1:]
        return "#" + (channels.get(cid) or label or cid)
    if target.startswith("!"):
        special = target[1:]
        if label:  # subteams (`<!subteam^S1|@team>`) and dates carry their own text
            return label
        if special in ("here", "channel", "everyone"):
            return "@" + special
        return "@" + special.split("^", 1)[0]
    return None


def editable_text(wire_text: str, *, users: Names = {}, channels: Names = {}) -> str:  # noqa: B006
    """Slack's wire text as a person should see it in a modal: mentions as names."""

    def replace(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        mention = _mention(target, label, users, channels)
        if mention is None or (target.startswith("@") and target[1:] not in users):
            return match.group(0)  # links, and users not yet looked up, stay tokens
        return mention

    # Tokens are found in the wire form, where every literal `<` is still `&lt;`.
    return unescape(_TOKEN.sub(replace, wire_text))


def to_html(text: str, *, users: Names = {}, channels: Names = {}) -> str:  # noqa: B006
    """Editable-form mrkdwn as HTML, wrapped in one `<div>` so Front never reads it as
    plain text (where `&lt;` would show as typed)."""
    slots: list[str] = []
    blocks: set[str] = set()

    def keep(rendered: str) -> str:
        slots.append(rendered)
        return f"{_OPEN}{len(slots) - 1}{_CLOSE}"

    def plain(value: str) -> str:
        return _TOKEN.sub(lambda m: _token_text(m), value)

    def _token_text(match: re.Match[str]) -> str:
        mention = _mention(match.group(1), match.group(2), users, channels)
        return mention if mention is not None else (match.group(2) or match.group(1))

    def block(match: re.Match[str]) -> str:
        slot = keep(f"<pre>{html.escape(plain(match.group(1)), quote=False)}</pre>")
        blocks.add(slot)
        return slot

    def span(match: re.Match[str]) -> str:
        return keep(f"<code>{html.escape(plain(match.group(1)), quote=False)}</code>")

    def token(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        mention = _mention(target, label, users, channels)
        if mention is not None:
            return keep(html.escape(mention, quote=False))
        href = html.escape(target, quote=True)
        return keep(f'<a href="{href}">{html.escape(label or target, quote=False)}</a>')

    text = text.replace("\r\n", "\n").replace(_OPEN, "").replace(_CLOSE, "")
    text = _CODE_BLOCK.sub(block, text)
    text = _CODE_SPAN.sub(span, text)
    text = _TOKEN.sub(token, text)

    lines = [_line(html.escape(line, quote=False)) for line in text.split("\n")]
    out = _join(lines, blocks)
    return "<div>" + _SLOT.sub(lambda m: slots[int(m.group(1))], out) + "</div>"


def _line(escaped: str) -> str:
    for pattern, repl in _EMPHASIS:
        escaped = pattern.sub(repl, escaped)
    return escaped


def _join(lines: list[str], blocks: set[str]) -> str:
    """Lines joined by `<br>`; runs of `> ` lines become one blockquote. Block elements
    (quotes, code blocks alone on their line) break the line themselves: no `<br>` around."""
    items: list[tuple[bool, str]] = []  # (is_block, html)
    quote: list[str] = []
    for line in lines:
        if line.startswith("&gt;"):
            quote.append(line.removeprefix("&gt;").removeprefix(" "))
            continue
        if quote:
            items.append((True, "<blockquote>" + "<br>".join(quote) + "</blockquote>"))
            quote = []
        items.append((line in blocks, line))
    if quote:
        items.append((True, "<blockquote>" + "<br>".join(quote) + "</blockquote>"))
    out = ""
    for i, (is_block, piece) in enumerate(items):
        if i and not is_block and not items[i - 1][0]:
            out += "<br>"
        out += piece
    return out
