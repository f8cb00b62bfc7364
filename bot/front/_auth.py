"""Credentials for outgoing Channel API requests.

Front's channel apps sign each request with a short-lived HS256 JWT (iss = app uid,
sub = the channel in the path, fresh jti, exp a few seconds ahead); some deployments
hold a plain API token instead. Which one is used is decided once, by
`auth_from_settings`, so the rest of the code never branches on it.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod

import jwt
from pydantic import SecretStr

__all__ = ["FrontAuth", "JwtAuth", "TokenAuth", "auth_from_settings"]


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class FrontAuth(ABC):
    """Gives the Authorization header for one request to one channel."""

    @abstractmethod
    def authorization(self, channel_id: str) -> str:
        """The header value, e.g. `Bearer <token>`; may differ on every call."""

    @abstractmethod
    def secret_values(self) -> tuple[str, ...]:
        """Strings that must never appear in a message or a log line."""


class JwtAuth(FrontAuth):
    def __init__(self, app_uid: str, app_secret: SecretStr | str, ttl_seconds: float = 10) -> None:
        if not app_uid:
            raise ValueError("app_uid is empty")
        secret = _secret(app_secret)
        if not secret.get_secret_value():
            raise ValueError("app_secret is empty")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.app_uid = app_uid
        self.ttl_seconds = ttl_seconds
        self._secret = secret

    def token(self, channel_id: str, *, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {
            "iss": self.app_uid,
            "sub": channel_id,
            # A new jti per request: Front may refuse a replayed token.
            "jti": secrets.token_urlsafe(16),
            "iat": int(now),
            "exp": int(now + self.ttl_seconds),
        }
        return jwt.encode(claims, self._secret.get_secret_value(), algorithm="HS256")

    def authorization(self, channel_id: str) -> str:
        return f"Bearer {self.token(channel_id)}"

    def secret_values(self) -> tuple[str, ...]:
        return (self._secret.get_secret_value(),)

    def __repr__(self) -> str:
        return (
            f"JwtAuth(app_uid={self.app_uid!r}, app_secret=SecretStr('**********'), "
            f"ttl_seconds={self.ttl_seconds!r})"
        )


class TokenAuth(FrontAuth):
    def __init__(self, token: SecretStr | str) -> None:
        self._token = _secret(token)
        if not self._token.get_secret_value():
            raise ValueError("token is empty")

    def authorization(self, channel_id: str) -> str:
        return f"Bearer {self._token.get_secret_value()}"

    def secret_values(self) -> tuple[str, ...]:
        return (self._token.get_secret_value(),)

    def __repr__(self) -> str:
        return "TokenAuth(token=SecretStr('**********'))"


def auth_from_settings(
    app_uid: str | None,
    app_secret: SecretStr | str | None,
    api_token: SecretStr | str | None,
) -> FrontAuth:
    """JWT when the app uid and secret are both set, else the API token, else an error."""

    def present(value: SecretStr | str | None) -> bool:
        return bool(_secret(value).get_secret_value().strip()) if value is not None else False

    if app_uid and present(app_secret):
        assert app_secret is not None
        return JwtAuth(app_uid, app_secret)
    if present(api_token):
        assert api_token is not None
        return TokenAuth(api_token)
    raise ValueError(
        "no Front credentials: set FRONT_APP_UID and FRONT_APP_SECRET, or FRONT_API_TOKEN"
    )
