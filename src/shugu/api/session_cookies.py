"""Browser sessions: the session cookie, its CSRF token, and how both are set and cleared.

Signing in sets two cookies. The session cookie holds the session token itself (HttpOnly, so
page scripts never see it; SameSite=Strict, so other sites' pages never send it). The CSRF cookie
holds a value page scripts read and send back as ``X-CSRF-Token`` on every unsafe request
(POST, PUT, PATCH, DELETE) authenticated by the session cookie.

The CSRF value is an HMAC of a fixed label keyed with the session token. Only someone who holds
the session token can compute it, and the value reveals nothing of the token, so it needs no
server secret and no storage: it survives restarts and works on every node behind a load
balancer. Over TLS both cookies take the ``__Host-`` prefix, which browsers accept only from a
secure origin, for the whole host, and never from a sibling subdomain.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "shugu_session"
CSRF_COOKIE = "shugu_csrf"
CSRF_HEADER = "x-csrf-token"
SECURE_PREFIX = "__Host-"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_CSRF_LABEL = b"shugu csrf v1"


def csrf_token_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(csrf_token_for(session_token), presented.strip())


def over_tls(request: Request, behind_tls: bool) -> bool:
    return behind_tls or request.url.scheme == "https"


def session_token_of(request: Request) -> str | None:
    """The session token a browser sent, under either cookie name."""
    cookies = request.cookies
    token = cookies.get(SECURE_PREFIX + SESSION_COOKIE) or cookies.get(SESSION_COOKIE)
    return token.strip() if token and token.strip() else None


def set_session_cookies(response: Response, token: str, max_age_s: int, secure: bool) -> None:
    prefix = SECURE_PREFIX if secure else ""
    for name, value, httponly in (
        (SESSION_COOKIE, token, True),
        (CSRF_COOKIE, csrf_token_for(token), False),
    ):
        response.set_cookie(
            prefix + name,
            value,
            max_age=max_age_s,
            path="/",
            secure=secure,
            httponly=httponly,
            samesite="strict",
        )


def clear_session_cookies(response: Response, secure: bool) -> None:
    prefix = SECURE_PREFIX if secure else ""
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(
            prefix + name, path="/", secure=secure, httponly=httponly, samesite="strict"
        )
