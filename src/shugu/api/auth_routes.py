"""Signing in and out, bearer tokens, and who the caller is.

Sign-in answers with a session token for scripts (``Authorization: Bearer``) and sets the same
session as cookies for browsers (session_cookies.py). Failed sign-ins are rate limited per
username and per client address (login_guard.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from shugu.api.deps import AccessDep, PrincipalDep, ServicesDep, request_credential
from shugu.api.login_guard import LoginGuard
from shugu.api.registry_schemas import (
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserOut,
)
from shugu.api.session_cookies import clear_session_cookies, over_tls, set_session_cookies
from shugu.api.sign_in import (
    SESSION_TTL_S,
    SignedIn,
    change_password,
    client_address,
    login_guard_of,
    sign_in,
)
from shugu.domain.tenancy import Role
from shugu.store.registry import TokenKind, missing

router = APIRouter(prefix="/api/auth", tags=["auth"])


_ERROR: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            }
        }
    }
}


LoginGuardDep = Annotated[LoginGuard, Depends(login_guard_of)]


@router.post(
    "/login",
    responses={
        401: {"description": "wrong username or password", **_ERROR},
        429: {"description": "too many failed sign-ins; see Retry-After", **_ERROR},
    },
)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    services: ServicesDep,
    guard: LoginGuardDep,
) -> LoginOut:
    """Exchange a username and password for a session: a token, and the same as cookies."""
    signed = sign_in(services, guard, body.username, body.password, client_address(request))
    return _session_answer(request, response, services, signed)


def _session_answer(
    request: Request, response: Response, services: ServicesDep, signed: SignedIn
) -> LoginOut:
    issued = signed.issued
    secure = over_tls(request, services.settings.behind_tls)
    set_session_cookies(response, issued.token, SESSION_TTL_S, secure)
    return LoginOut(
        id=issued.record.id,
        token=issued.token,
        expires_at=issued.record.expires_at,
        user=UserOut.from_record(services.registry.get_user(signed.principal.user_id)),
    )


@router.post(
    "/password",
    responses={
        403: {"description": "the current password is wrong", **_ERROR},
        422: {"description": "the new password breaks a rule; the code says which", **_ERROR},
        429: {"description": "too many wrong passwords; see Retry-After", **_ERROR},
    },
)
def change_own_password(
    body: PasswordChangeIn,
    request: Request,
    response: Response,
    access: AccessDep,
    services: ServicesDep,
    guard: LoginGuardDep,
) -> LoginOut:
    """Change the caller's own password. Every session and API token of the account is
    revoked, the one this request came with too; the answer is a new session (token and
    cookies), as sign-in gives."""
    signed = change_password(
        services,
        guard,
        access,
        body.current_password,
        body.new_password,
        client_address(request),
    )
    return _session_answer(request, response, services, signed)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request, response: Response, principal: PrincipalDep, services: ServicesDep
) -> None:
    """Sign out: revoke the token this request was made with and clear the session cookies."""
    credential = request_credential(request)
    assert credential is not None  # PrincipalDep has authenticated it
    services.registry.revoke_token_value(credential.token)
    clear_session_cookies(response, over_tls(request, services.settings.behind_tls))


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
