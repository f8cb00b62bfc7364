from __future__ import annotations

import pytest

from bot.core.mrkdwn import (
    editable_text,
    mentioned_channels,
    mentioned_users,
    to_html,
    unescape,
)

USERS = {"U1": "Ada Lovelace", "U2": "Bob <b>"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*bold*", "<b>bold</b>"),
        ("_italics_", "<i>italics</i>"),
        ("~gone~", "<s>gone</s>"),
        ("*_both_*", "<b><i>both</i></b>"),
        ("`a *b* <c>`", "<code>a *b* &lt;c&gt;</code>"),
        ("snake_case and 2*3*4 and * no *", "snake_case and 2*3*4 and * no *"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("one\ntwo", "one<br>two"),
        ("<https://x.test/?b=1&c=2|doc>", '<a href="https://x.test/?b=1&amp;c=2">doc</a>'),
        ("<https://x.test>", '<a href="https://x.test">https://x.test</a>'),
        ("<mailto:a@b.test|write>", '<a href="mailto:a@b.test">write</a>'),
        ('<https://x.test/"onmouseover=x|y>', '<a href="https://x.test/&quot;onmouseover=x">y</a>'),
        ("*see <https://x.test|this>*", '<b>see <a href="https://x.test">this</a></b>'),
        ("hi <@U1>", "hi @Ada Lovelace"),
        ("hi <@U2>", "hi @Bob &lt;b&gt;"),
        ("hi <@U9|carol>", "hi @carol"),
        ("hi <@U9>", "hi @U9"),
        ("in <#C1|general> and <#C2>", "in #general and #C2"),
        ("<!here> <!channel> <!subteam^S1|@ops>", "@here @channel @ops"),
        ("<!date^1392734382^{date_num}|2014-02-18>", "2014-02-18"),
        ("> quoted *b*\n> more\nafter", "<blockquote>quoted <b>b</b><br>more</blockquote>after"),
        (
            "before\n```\n*raw* <https://x.test|x>\n<tag>\n```\nafter",
            "before<pre>*raw* x\n&lt;tag&gt;</pre>after",
        ),
        ("", ""),
        ("\ue000 0\ue001", " 0"),
    ],
)
def test_to_html(text: str, expected: str) -> None:
    assert to_html(text, users=USERS) == f"<div>{expected}</div>"


def test_channel_names_from_a_lookup() -> None:
    assert to_html("<#C1>", channels={"C1": "support"}) == "<div>#support</div>"


def test_editable_text_resolves_mentions_and_unescapes() -> None:
    wire = "a &lt;b&gt; &amp; <@U1> <@U9> <#C1|gen> <https://x.test|y> <!here>"
    text = editable_text(wire, users=USERS)
    # Unknown users stay tokens: to_html still resolves them once their names are known.
    assert text == "a <b> & @Ada Lovelace <@U9> #gen <https://x.test|y> @here"
    assert to_html(text, users={"U9": "Zoe"}) == (
        '<div>a &lt;b&gt; &amp; @Ada Lovelace @Zoe #gen <a href="https://x.test">y</a> @here</div>'
    )


def test_mentions_found() -> None:
    text = "<@U1> <@U2|b> <@U1> <#C1|x> <#C2>"
    assert mentioned_users(text) == ["U1", "U2"]
    assert mentioned_channels(text) == ["C1", "C2"]
    assert unescape("&lt;&amp;lt;&gt;") == "<&lt;>"
