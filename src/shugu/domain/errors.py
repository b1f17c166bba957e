"""The error family every room derives its own exceptions from.

Each error carries a stable ``code`` (snake_case). The same code keys the API error body and the
translation catalog, so a person sees a message they can act on in their language.
"""

from __future__ import annotations

from typing import Any


class ShuguError(Exception):
    """Base of all shugu errors: a stable code, a message, and optional details."""

    code: str = "error"
    http_status: int = 400
    #: Seconds after which a retry may succeed (sent as ``Retry-After``); None: not worth it.
    retry_after_s: float | None = None

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class ValidationError(ShuguError):
    """Input that is well-formed in transport but wrong in content."""

    code = "invalid"
    http_status = 422


class NotFoundError(ShuguError):
    """The object does not exist, or the caller may not know that it exists."""

    code = "not_found"
    http_status = 404


class ConflictError(ShuguError):
    """The object would collide with an existing one (a unique name, say)."""

    code = "conflict"
    http_status = 409


class AuthError(ShuguError):
    """Missing or wrong credentials."""

    code = "unauthenticated"
    http_status = 401


class ForbiddenError(ShuguError):
    """Known caller, but the action is not theirs to take."""

    code = "forbidden"
    http_status = 403


class UnavailableError(ShuguError):
    """shugu cannot take the request right now (storage refuses writes, say)."""

    code = "unavailable"
    http_status = 503
    retry_after_s = 5.0


class OverloadedError(UnavailableError):
    """More is arriving than can be made durable: the sender should slow down and retry."""

    code = "ingest_overloaded"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float, **details: Any) -> None:
        super().__init__(message, retry_after_s=round(retry_after_s, 1), **details)
        self.retry_after_s = retry_after_s
