"""FastAPI dependencies: the services of this process and the authenticated caller.

A caller authenticates with ``Authorization: Bearer <token>`` (scripts, integrations, the
device-management tools) or with the session cookie set at sign-in (browsers). A bearer header
is never sent by a browser on its own, so it needs no CSRF check; the cookie is, so unsafe
requests authenticated by it must also carry the session's CSRF token (session_cookies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from shugu.api.services import Services
from shugu.api.session_cookies import (
    CSRF_HEADER,
    SAFE_METHODS,
    csrf_matches,
    session_token_of,
)
from shugu.domain.errors import AuthError, ForbiddenError
from shugu.domain.tenancy import Access, Principal
from shugu.store.registry import Registry


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


class CredentialSource(StrEnum):
    BEARER = "bearer"
    COOKIE = "cookie"


@dataclass(frozen=True, slots=True)
class Credential:
    token: str
    source: CredentialSource


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def request_credential(request: Request) -> Credential | None:
    """The token the request carries; a bearer header wins over a cookie."""
    token = bearer_token(request)
    if token is not None:
        return Credential(token, CredentialSource.BEARER)
    token = session_token_of(request)
    if token is not None:
        return Credential(token, CredentialSource.COOKIE)
    return None


def get_principal(request: Request, services: ServicesDep) -> Principal:
    return principal_of(request, services.registry)


def principal_of(request: Request, registry: Registry) -> Principal:
    """The caller of ``request`` by its bearer token or session cookie (with its CSRF token)."""
    credential = request_credential(request)
    if credential is None:
        raise AuthError(
            "sign in first: send 'Authorization: Bearer <token>' or the session cookie",
            code="auth_required",
        )
    principal = registry.principal_for_token(credential.token)
    if principal is None:
        raise AuthError("the token is unknown, expired or revoked", code="bad_token")
    unsafe = request.method not in SAFE_METHODS
    if (
        unsafe
        and credential.source is CredentialSource.COOKIE
        and not csrf_matches(credential.token, request.headers.get(CSRF_HEADER))
    ):
        raise ForbiddenError(
            "a request signed in by the session cookie must send the session's CSRF token "
            "(the shugu_csrf cookie) in the X-CSRF-Token header",
            code="csrf_failed",
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def access_for(principal: Principal, registry: Registry) -> Access:
    """The scope of a principal, with the registry answering consents and enterprises' parks
    (every place that builds an ``Access`` for a request builds it here)."""
    return Access(principal, registry.has_consent, registry.park_of_enterprise)


def get_access(principal: PrincipalDep, services: ServicesDep) -> Access:
    return access_for(principal, services.registry)


AccessDep = Annotated[Access, Depends(get_access)]
