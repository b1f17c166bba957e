"""Signing in with a username and password, for the API's login route and the console's page.

Both go through the same sign-in limits (``login_guard.py``) and issue the same kind of session
token, which the caller then sets as cookies (``session_cookies.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from shugu.api.login_guard import LoginGuard
from shugu.api.services import Services
from shugu.domain.errors import AuthError
from shugu.domain.tenancy import Principal
from shugu.store.registry import IssuedToken, TokenKind

#: A signed-in session lasts a working day and a bit; scripts use API tokens instead.
SESSION_TTL_S = 12 * 3600


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    issued: IssuedToken


def login_guard_of(request: Request) -> LoginGuard:
    guard: LoginGuard = request.app.state.login_guard
    return guard


def client_address(request: Request) -> str:
    # Behind a reverse proxy the server rewrites the client from X-Forwarded-For when it
    # trusts the proxy (uvicorn's --forwarded-allow-ips); otherwise this is the proxy.
    return request.client.host if request.client is not None else "unknown"


def sign_in(
    services: Services, guard: LoginGuard, username: str, password: str, address: str
) -> SignedIn:
    """A new session for the account, or AuthError (counted against the sign-in limits)."""
    registry = services.registry
    attempt = guard.admit(username, address)
    try:
        principal = registry.authenticate_password(username, password)
    except BaseException as exc:
        # A wrong password stays counted as a failure; a fault of shugu's own does not.
        if not isinstance(exc, AuthError):
            guard.abandoned(username, address, attempt)
        raise
    guard.succeeded(username, address, attempt)
    issued = registry.issue_api_token(
        principal.user_id, "sign-in", ttl_seconds=SESSION_TTL_S, kind=TokenKind.SESSION
    )
    return SignedIn(principal, issued)
