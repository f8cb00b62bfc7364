"""Errors a person can act on; the Slack layer shows `str(error)` to them as it is."""


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
