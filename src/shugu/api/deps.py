"""FastAPI dependencies: the services of this process and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shugu.api.services import Services
from shugu.domain.errors import AuthError
from shugu.domain.tenancy import Access, Principal


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def get_principal(request: Request, services: ServicesDep) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise AuthError("sign in first: send 'Authorization: Bearer <token>'", code="auth_required")
    principal = services.registry.principal_for_token(token)
    if principal is None:
        raise AuthError("the token is unknown, expired or revoked", code="bad_token")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_access(principal: PrincipalDep, services: ServicesDep) -> Access:
    return Access(principal, services.registry.has_consent)


AccessDep = Annotated[Access, Depends(get_access)]
