"""Signing in, bearer tokens, and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter, status

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.registry_schemas import LoginIn, LoginOut, TokenCreated, TokenIn, TokenOut, UserOut
from shugu.domain.tenancy import Role
from shugu.store.registry import TokenKind, missing

router = APIRouter(prefix="/api/auth", tags=["auth"])

#: A signed-in session lasts a working day and a bit; scripts use API tokens instead.
SESSION_TTL_S = 12 * 3600


@router.post("/login")
def login(body: LoginIn, services: ServicesDep) -> LoginOut:
    """Exchange a username and password for a session token."""
    registry = services.registry
    principal = registry.authenticate_password(body.username, body.password)
    issued = registry.issue_api_token(
        principal.user_id, "sign-in", ttl_seconds=SESSION_TTL_S, kind=TokenKind.SESSION
    )
    return LoginOut(
        id=issued.record.id,
        token=issued.token,
        expires_at=issued.record.expires_at,
        user=UserOut.from_record(registry.get_user(principal.user_id)),
    )


@router.get("/me")
def me(access: AccessDep, services: ServicesDep) -> UserOut:
    return UserOut.from_record(services.registry.get_user(access.principal.user_id))


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenIn, access: AccessDep, services: ServicesDep) -> TokenCreated:
    """A token for scripts and integrations, acting as the caller. Shown once."""
    issued = services.registry.issue_api_token(
        access.principal.user_id, body.name, ttl_seconds=body.ttl_seconds, kind=TokenKind.API
    )
    return TokenCreated(
        id=issued.record.id,
        token=issued.token,
        name=issued.record.name,
        expires_at=issued.record.expires_at,
    )


@router.get("/tokens")
def list_tokens(access: AccessDep, services: ServicesDep) -> list[TokenOut]:
    """The caller's own tokens (sessions included), without their secret values."""
    records = services.registry.list_api_tokens(access.principal.user_id)
    return [TokenOut.from_record(r) for r in records]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, access: AccessDep, services: ServicesDep) -> None:
    """Revoke one of the caller's tokens (the operator may revoke anyone's)."""
    registry = services.registry
    record = registry.get_api_token(token_id)
    owner = record.user_id == access.principal.user_id
    if not owner and access.role is not Role.OPERATOR:
        raise missing("token")
    registry.revoke_api_token(token_id)
