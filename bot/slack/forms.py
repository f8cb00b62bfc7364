"""Modal submissions and button clicks, read one way and answered once.

`ViewState` reads `view.state.values` whatever shape Slack sends (a field left empty is
missing, not null). `metadata` reads a modal's `private_metadata` into its pydantic model,
`button_value` a button's value. `view_submission` turns two steps into a listener:
`accept` runs inside Slack's ack window (check, and store what was submitted) and raises
`InvalidFields` for errors shown next to their fields; the listener acks exactly once,
then `after` runs (opening or updating views). `on_click` does the same for a button: the
click is stored, then acked. Neither ever lets an exception reach Slack as a 500.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import AlreadyHandled, InvalidFields, UserError
from bot.core.events import key_of
from bot.runtime import Runtime
from bot.slack.places import Place, place_of

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

OUT_OF_DATE = "This form is out of date: close it and start again."
NOT_SAVED = (
    "Switchboard could not save this just now. What you typed is still here: "
    "submit again in a moment."
)


class ViewState:
    """The values of a modal's inputs, by block and action id."""

    def __init__(self, view: dict[str, Any] | None) -> None:
        state = (view or {}).get("state")
        values = state.get("values") if isinstance(state, dict) else None
        self._values: dict[str, Any] = values if isinstance(values, dict) else {}

    def block_ids(self) -> list[str]:
        return [str(b) for b in self._values]

    def raw(self, block: str, action: str) -> dict[str, Any]:
        value = (self._values.get(str(block)) or {}).get(str(action))
        return value if isinstance(value, dict) else {}

    def text(self, block: str, action: str) -> str:
        value = self.raw(block, action).get("value")
        return value if isinstance(value, str) else ""

    def option(self, block: str, action: str) -> str | None:
        option = self.raw(block, action).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        return value if isinstance(value, str) else None

    def options(self, block: str, action: str) -> list[str]:
        chosen = self.raw(block, action).get("selected_options")
        if not isinstance(chosen, list):
            return []
        return [str(o["value"]) for o in chosen if isinstance(o, dict) and "value" in o]

    def user(self, block: str, action: str) -> str | None:
        value = self.raw(block, action).get("selected_user")
        return value if isinstance(value, str) and value else None

    def files(self, block: str, action: str) -> list[dict[str, Any]]:
        files = self.raw(block, action).get("files")
        return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []

    def date_time(self, block: str, action: str) -> int | None:
        """A datetimepicker's value in epoch seconds, None when unset or not a sane time."""
        value = self.raw(block, action).get("selected_date_time")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        seconds = int(value)
        return seconds if 0 < seconds < 2**37 else None


def metadata(view: dict[str, Any] | None, model: type[M]) -> M:
    """A modal's `private_metadata` as `model`; a `UserError` when it is not one of ours."""
    raw = (view or {}).get("private_metadata")
    try:
        return model.model_validate_json(raw if isinstance(raw, str) else "")
    except ValidationError:
        raise UserError(OUT_OF_DATE) from None


@dataclass(frozen=True)
class Submission(Generic[M]):
    """One view submission, as the steps of a form listener see it."""

    runtime: Runtime
    client: AsyncWebClient
    body: dict[str, Any]
    view: dict[str, Any]
    meta: M
    state: ViewState
    place: Place

    @property
    def team_id(self) -> str:
        """From the verified request: never from the modal's metadata."""
        return self.place.team_id or ""

    @property
    def user_id(self) -> str:
        return self.place.user_id or ""

    @property
    def replay_key(self) -> str:
        """The same view, as it was, submitted again is a replay; after a field error the
        person changes something (or the view is updated), and that is a new submission."""
        state = json.dumps((self.view.get("state") or {}).get("values"), sort_keys=True)
        digest = hashlib.sha256(state.encode()).hexdigest()[:16]
        return key_of(
            "view", self.team_id, str(self.view.get("id")), str(self.view.get("hash")), digest
        )


Accept = Callable[[Submission[M]], Awaitable[T]]
# Field → block id, fixed or read from the submitted view (a form whose block ids change
# when it is updated: a text input whose value is replaced takes a new block id).
Blocks = Mapping[str, str] | Callable[[dict[str, Any]], Mapping[str, str]]
After = Callable[[Submission[M], T], Awaitable[None]]


class Accepted(Generic[T]):
    """What `accept` returns when the modal should not simply close: `clear` closes the
    whole stack (a modal pushed over another); `value` goes on to `after`."""

    def __init__(self, value: T, *, clear: bool = False) -> None:
        self.value = value
        self.clear = clear


def view_submission(
    meta: type[M],
    accept: Accept[M, Any],
    after: After[M, Any] | None = None,
    *,
    blocks: Blocks | None = None,
    default_block: str | Callable[[dict[str, Any]], str],
) -> Callable[..., Awaitable[None]]:
    """A view-submission listener that acks once: with field errors when `accept` raises
    `InvalidFields` or `UserError` (fields mapped through `blocks`, the rest under
    `default_block`), else plainly (or clearing the stack), then runs `after`."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        runtime: Runtime = context["runtime"]
        fields = blocks(view) if callable(blocks) else (blocks or {})
        default = default_block(view) if callable(default_block) else default_block
        try:
            submission = Submission(
                runtime=runtime,
                client=client,
                body=body,
                view=view,
                meta=metadata(view, meta),
                state=ViewState(view),
                place=place_of(body),
            )
            result = await accept(submission)
        except AlreadyHandled:
            await ack()  # a replay: the first one's work is done
            return
        except InvalidFields as exc:
            await ack(response_action="errors", errors=exc.on_blocks(fields, default=default))
            return
        except UserError as exc:
            await ack(response_action="errors", errors={default: str(exc)})
            return
        except Exception:
            # The modal stays open with what was typed: nothing is lost, submitting again
            # is enough once the database answers.
            log.exception("a form could not be stored")
            await ack(response_action="errors", errors={default: NOT_SAVED})
            return
        if isinstance(result, Accepted):
            await ack(response_action="clear") if result.clear else await ack()
            result = result.value
        else:
            await ack()
        if after is not None:
            await after(submission, result)

    return listener


def button_value(action: dict[str, Any], model: type[M]) -> M:
    """A button's value as `model`; a `UserError` when it is not one of ours."""
    raw = action.get("value")
    try:
        return model.model_validate_json(raw if isinstance(raw, str) else "")
    except ValidationError:
        raise UserError("That button is out of date; nothing was changed.") from None


def trigger_of(body: dict[str, Any]) -> str:
    """The trigger that opens a modal from this click; a `UserError` when Slack left it out."""
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        raise UserError("Slack sent this click without what opens a form; please click again.")
    return trigger


@dataclass(frozen=True)
class Click:
    """One block action, as its handler sees it."""

    runtime: Runtime
    client: AsyncWebClient
    body: dict[str, Any]
    action: dict[str, Any]
    place: Place
    respond: AsyncRespond | None = None

    @property
    def team_id(self) -> str:
        """From the verified request: never from the button's value."""
        return self.place.team_id or ""

    @property
    def user_id(self) -> str:
        return self.place.user_id or ""


def on_click(handler: Callable[[Click], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A button listener that stores what the click means, then acks (whatever happened:
    an error goes on to the app's error handler, which tells the person)."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
        respond: AsyncRespond,
    ) -> None:
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else {}
        try:
            await handler(
                Click(
                    runtime=context["runtime"],
                    client=client,
                    body=body,
                    action=action if isinstance(action, dict) else {},
                    place=place_of(body),
                    respond=respond,
                )
            )
        finally:
            await ack()

    return listener
