"""What every simulator route shares: the state behind the app, Front's error envelope,
and the credentials check (a Front app's JWT, or a plain API token)."""

from __future__ import annotations

import hmac

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from ._config import SimConfig
from ._state import SimState

__all__ = ["TITLES", "check_auth", "error", "get_state"]

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def get_state(app: Starlette) -> SimState:
    """The in-process handle on a simulator app, for tests in the same process."""
    state: SimState = app.state.sim
    return state


def error(
    state: SimState,
    status: int,
    message: str,
    headers: dict[str, str],
    operation: str = "",
    title: str = "",
    channel_id: str | None = None,
) -> JSONResponse:
    title = title or TITLES.get(status, "Error")
    state.count_answer(status, operation, message, channel_id)
    return JSONResponse(
        {"_error": {"status": status, "title": title, "message": message}},
        status_code=status,
        headers=headers,
    )


def check_auth(request: Request, config: SimConfig, state: SimState, channel_id: str) -> str:
    """Why the credentials are refused, or "" when they pass. Never echoes them."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return "missing Authorization: Bearer credentials"
    if not config.api_token and not config.app_secret:
        return ""
    if config.api_token and hmac.compare_digest(token.encode(), config.api_token.encode()):
        return ""
    if not config.app_secret:
        return "invalid API token"
    required = ["exp", "iss", "sub"] + (["jti"] if config.reject_reused_jti else [])
    try:
        claims = jwt.decode(
            token,
            config.app_secret,
            algorithms=["HS256"],
            issuer=config.app_uid,
            leeway=config.jwt_leeway_seconds,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        return "token expired"
    except jwt.InvalidIssuerError:
        return "token iss is not this app's uid"
    except jwt.MissingRequiredClaimError as exc:
        return f"token lacks the {exc.claim} claim"
    except jwt.InvalidSignatureError:
        return "token signature does not match the app secret"
    except jwt.DecodeError:
        return "not a valid token" if config.api_token else "not a valid JWT"
    except jwt.InvalidTokenError as exc:
        return f"invalid token ({type(exc).__name__})"
    if claims.get("sub") != channel_id:
        return "token sub is not the channel id in the path"
    if config.reject_reused_jti and not state.check_jti(str(claims["jti"]), claims["exp"]):
        return "token already used (jti seen before)"
    return ""
