"""Errors a person can act on; the Slack layer shows `str(error)` to them as it is."""

from collections.abc import Mapping


class UserError(Exception):
    """Something the user asked cannot be done; the message says why and what to do."""


class NotLinked(UserError):
    def __init__(self) -> None:
        super().__init__(
            "This channel is not connected to Front yet. An admin can connect it with "
            "`/switchboard connect cha_123` (the Front channel id, or alt:address:...)."
        )


class NotAdmin(UserError):
    def __init__(self, action: str) -> None:
        super().__init__(
            f"Only workspace admins and owners can {action}. Ask one of them to do it."
        )


class InvalidFields(UserError):
    """Fields a person filled in are wrong; `errors` maps each field to what to fix.

    Fields are named by the service (`handle`, `email`, `name`, `body`…); the Slack layer
    maps them to the blocks of its form, so each message shows under its field.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors

    def on_blocks(self, blocks: Mapping[str, str], *, default: str) -> dict[str, str]:
        """The errors by block id: `blocks` maps a field to its block, others go to `default`."""
        out: dict[str, str] = {}
        for field, message in self.errors.items():
            block = blocks.get(field, default)
            out[block] = f"{out[block]} {message}" if block in out else message
        return out


class AlreadyHandled(Exception):
    """The same request came before and its work is done (a retry or a replay)."""
