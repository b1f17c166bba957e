"""Signing in with a username and password, and changing one's own password, for the API's
routes and the console's pages.

Both go through the same sign-in limits (``login_guard.py``) and issue the same kind of session
token, which the caller then sets as cookies (``session_cookies.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from shugu.api.login_guard import LoginGuard
from shugu.api.services import Services
from shugu.domain.errors import AuthError, ForbiddenError
from shugu.domain.tenancy import Access, Principal
from shugu.store import account_service
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


def change_password(
    services: Services,
    guard: LoginGuard,
    access: Access,
    current_password: str,
    new_password: str,
    address: str,
) -> SignedIn:
    """Change the caller's own password and hand it a new session.

    A wrong current password counts as a failed sign-in of the account's username and of the
    address, under the same limits as the sign-in page: a stolen session (or an unlocked
    screen) cannot be used to guess the password faster than sign-in allows.

    Every token of the account is revoked, the one this request came with included, and a
    fresh session is issued in its place. Re-issuing rather than keeping the current session:
    a password is usually changed because something may have leaked, and a copy of this
    session's cookie is as likely to have leaked as the password; keeping it would leave that
    copy signed in. The holder notices nothing: the answer carries the new session.
    """
    username = access.principal.username
    attempt = guard.admit(username, address)
    try:
        record = account_service.change_own_password(
            services.registry, access, current_password, new_password
        )
    except BaseException as exc:
        if not (isinstance(exc, ForbiddenError) and exc.code == "wrong_current_password"):
            # A rule the new password breaks, or a fault of shugu's own: no guess was made.
            guard.abandoned(username, address, attempt)
        raise
    guard.succeeded(username, address, attempt)
    issued = services.registry.issue_api_token(
        record.id, "sign-in", ttl_seconds=SESSION_TTL_S, kind=TokenKind.SESSION
    )
    principal = services.registry.principal_for_token(issued.token)
    assert principal is not None  # just issued to an account that could make this request
    return SignedIn(principal, issued)
