"""History end to end: a number seen before fills in its name in /logcall (and its name and
email in /logmsg), and `/logcall list` and the App Home show a person's last calls with
how each went, for how long, where Front is, and a link to its card."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.features.calls.ids import CallIds
from bot.features.messages.ids import MessageIds
from storage.engine import session_scope
from storage.models import LoggedMessage, utcnow
from tests.calls.conftest import deliver, wait_responses
from tests.calls.flows import STARTED, log_call, open_logcall
from tests.calls.payloads import call_values, view_submission
from tests.helpers.app import RunningApp
from tests.helpers.delivery import settle
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_signing import event_body


def _initial(view: dict[str, Any], block: str) -> Any:
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == block)
    return element.get("initial_value")


def test_a_number_seen_before_fills_in_its_name(linked: RunningApp, fake: FakeSlack) -> None:
    log_call(linked, fake, party="+33 6 12 34 56 78", name="Bob Martin")
    # Typed another way: the same number once normalised.
    view = open_logcall(linked, fake, "06 12 34 56 78")
    assert _initial(view, CallIds.party_block) == "06 12 34 56 78"
    assert _initial(view, CallIds.name_block) == "Bob Martin"
    # A name typed after the number wins; an unknown number fills in nothing.
    view = open_logcall(linked, fake, "06 12 34 56 78 Robert")
    assert _initial(view, CallIds.name_block) == "Robert"
    view = open_logcall(linked, fake, "+33 6 99 99 99 99")
    assert _initial(view, CallIds.name_block) is None
    # Another workspace's history is its own.
    before = len(fake.called("views.open"))
    linked.command("/logcall", "06 12 34 56 78", team_id="T2")
    other = fake.wait_for("views.open", before + 1)[-1]["view"]
    assert _initial(other, CallIds.name_block) is None


def test_logmsg_fills_in_the_name_and_email_last_written(
    linked: RunningApp, fake: FakeSlack
) -> None:
    log_call(linked, fake, party="+33 6 12 34 56 78", name="Bob Martin")
    with session_scope(linked.runtime.engine) as s:  # a message logged later, with an email
        s.add(
            LoggedMessage(
                external_id="m1",
                external_conversation_id="conv1",
                team_id="T1",
                slack_channel_id="C1",
                front_channel_id="cha_calls",
                direction="inbound",
                handle="+33612345678",
                name="Robert Martin",
                email="bob@example.com",
                logged_by="U2",
                created_at=utcnow() + timedelta(seconds=5),
            )
        )
    before = len(fake.called("views.open"))
    linked.command("/logmsg", "+33 6 12 34 56 78")
    view = fake.wait_for("views.open", before + 1)[-1]["view"]
    assert view["callback_id"] != CallIds.log_view
    assert _initial(view, MessageIds.handle_block) == "+33 6 12 34 56 78"
    assert _initial(view, MessageIds.name_block) == "Robert Martin"
    assert _initial(view, MessageIds.email_block) == "bob@example.com"
    # ...and /logcall takes the latest name too.
    view = open_logcall(linked, fake, "+33 6 12 34 56 78")
    assert _initial(view, CallIds.name_block) == "Robert Martin"


def _list(app: RunningApp, fake: FakeSlack, user_id: str = "U1") -> dict[str, Any]:
    before = len(fake.responses)
    resp = app.command(
        "/logcall", "list", user_id=user_id, response_url=f"{fake.base_url}/respond/list"
    )
    assert resp.status_code == 200
    answer: dict[str, Any] = wait_responses(fake, before + 1)[-1]
    return answer


def test_logcall_list_shows_my_last_calls(linked: RunningApp, fake: FakeSlack) -> None:
    assert "no calls logged yet" in _list(linked, fake)["text"]
    log_call(linked, fake, name="Ada <!here>", started=STARTED)
    answered, _ = log_call(
        linked, fake, name="Bob Martin", outcome="answered", duration="4:30", started=STARTED + 60
    )
    # Someone else's call with someone else on it is not mine.
    view = open_logcall(linked, fake)
    values = call_values(name="Carol", agent="U2", started=STARTED + 120)
    assert linked.interact(view_submission(view, values, user_id="U2")).text == ""
    settle(linked.runtime)
    answer = _list(linked, fake)
    assert answer["response_type"] == "ephemeral" and answer["text"] == "Your last 2 calls"
    (block,) = answer["blocks"]
    lines = block["text"]["text"].splitlines()
    assert lines[0] == "*Your last 2 calls*"
    link = "https://acme.slack.com/archives/C1/p{}".format
    assert lines[1] == (
        f"• <!date^{STARTED + 60}^{{date_short_pretty}} {{time}}|2025-11-24 16:01 UTC> "
        ":telephone_receiver: Bob Martin (+33 6 12 34 56 78): *Answered* · 4:30 · "
        f"queued for Front · <{link(str(answered.card_ts).replace('.', ''))}|card>"
    )
    assert "Ada &lt;!here&gt;" in lines[2] and "*Ringing (in progress)*" in lines[2]
    assert "Carol" not in json.dumps(answer)
    assert "<!here>" not in json.dumps(answer)

    deliver(linked)
    assert "4:30 · in Front" in _list(linked, fake)["blocks"][0]["text"]["text"]
    # U2 took Carol's call: it is theirs.
    assert "Carol" in _list(linked, fake, user_id="U2")["blocks"][0]["text"]["text"]


def test_the_app_home_shows_my_last_calls(linked: RunningApp, fake: FakeSlack) -> None:
    call, _ = log_call(linked, fake, name="Bob Martin", outcome="missed")
    body = event_body(
        {
            "type": "app_home_opened",
            "user": "U1",
            "channel": "D1",
            "tab": "home",
            "event_ts": "1.1",
        },
        event_id="EvHome1",
    )
    assert linked.post(body, content_type="application/json").status_code == 200
    (published,) = fake.wait_for("views.publish")
    text = json.dumps(published["view"], ensure_ascii=False)
    assert "*Your last calls*" in text
    assert "Bob Martin (+33 6 12 34 56 78): *Missed* · queued for Front" in text
    assert str(call.card_ts).replace(".", "") in text  # the link to its card
