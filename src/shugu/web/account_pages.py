"""An enterprise's accounts (账号与角色): listed, created with a role and a one-time initial
password, given another role, disabled (停用) or enabled.

The page is the enterprise's administrators' (in their settings) and the operator's (from its
enterprise page), as ``GET /api/users?enterprise_id=`` is. Every change goes through
``store/account_service.py``, the API's own service, so the rights are the API's: the operator
creates only an enterprise's first administrator and changes none of its accounts; an
administrator manages its own enterprise's accounts but not its own; an account of another
enterprise is missing (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import ForbiddenError, NotFoundError, ShuguError, ValidationError
from shugu.domain.tenancy import Role
from shugu.store import account_service
from shugu.store.registry import missing
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

NO_STORE: Final = {"cache-control": "no-store"}
ROLE_HINTS: Final = {
    Role.ENTERPRISE_ADMIN: N_("Manages devices, rules, notifications, consents and accounts."),
    Role.ENTERPRISE_VIEWER: N_("Reads values, alarms and reports; changes nothing."),
}


@dataclass
class AccountForm:
    """The "new account" form as typed, with errors by field ("_form": above the form)."""

    username: str = ""
    role: str = Role.ENTERPRISE_VIEWER.value
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account just made, with its initial password (shown on this answer only)."""

    username: str
    role: Role
    password: str


def _base(enterprise_id: int) -> str:
    return f"/e/{enterprise_id}/accounts"


def _require_manager(user: PageUser, enterprise_id: int) -> None:
    """The enterprise's accounts are listed to whoever the API lists them to."""
    if not user.access.can_see_enterprise(enterprise_id):
        raise missing("enterprise")
    user.services.registry.get_enterprise(enterprise_id)
    if not user.access.can_manage_enterprise(enterprise_id):
        raise ForbiddenError(
            "only the enterprise's administrators or the operator see its accounts",
            code="forbidden",
        )


def _page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    *,
    form: AccountForm | None = None,
    made: NewAccount | None = None,
    row_error: tuple[int, str] | None = None,
    status: int = 200,
) -> Response:
    registry = user.services.registry
    operator = user.role is Role.OPERATOR
    roles = [Role.ENTERPRISE_ADMIN] if operator else list(account_service.ENTERPRISE_ROLES)
    context = {
        "enterprise": registry.get_enterprise(enterprise_id),
        "users": registry.list_users(enterprise_id),
        "form": form or AccountForm(role=roles[-1].value),
        "roles": roles,
        "role_hints": ROLE_HINTS,
        # The operator makes the first administrator only, and changes no enterprise account.
        "may_create": not operator or not account_service.has_admin(registry, enterprise_id),
        "may_change": not operator,
        "made": made,
        "row_error": row_error,
        "me": user.principal.user_id,
        "base": _base(enterprise_id),
    }
    headers = NO_STORE if made is not None else None
    return render(
        request, user, "accounts/accounts.html", context, status_code=status, headers=headers
    )


@router.get("/e/{enterprise_id}/accounts")
def accounts_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    _require_manager(user, enterprise_id)
    return _page(request, user, enterprise_id)


def _parse_role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


@router.post("/e/{enterprise_id}/accounts")
async def create_account(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """Make an account with a random initial password, shown on this answer only."""
    _require_manager(user, enterprise_id)
    data = await request.form()
    form = AccountForm(username=str(data.get("username") or ""), role=str(data.get("role") or ""))
    role = _parse_role(form.role)
    if role is None or not role.bound_to_enterprise:
        form.errors["role"] = user.tr.error("unknown_role", "choose a role")
        return _page(request, user, enterprise_id, form=form, status=422)
    password = account_service.initial_password()
    try:
        made = account_service.create_account(
            user.services.registry, user.access, form.username, password, role, enterprise_id
        )
    except NotFoundError:
        raise
    except ShuguError as exc:
        where = str(exc.details.get("field") or "")
        form.errors[where if where in ("username", "role") else "_form"] = user.tr.error(
            exc.code, exc.message
        )
        return _page(request, user, enterprise_id, form=form, status=exc.http_status)
    created = NewAccount(made.username, made.role, password)
    return _page(request, user, enterprise_id, made=created, status=201)


@router.post("/e/{enterprise_id}/accounts/{user_id}")
async def change_account(
    request: Request, enterprise_id: int, user_id: int, user: PageUserDep
) -> Response:
    """Another role, or disabled / enabled (the form sends one of ``role`` and ``disabled``)."""
    _require_manager(user, enterprise_id)
    registry = user.services.registry
    target = account_service.managed_account(registry, user.access, user_id)
    if target.enterprise_id != enterprise_id:
        raise missing("user")
    data = await request.form()
    role = _parse_role(str(data.get("role") or "")) if "role" in data else None
    disabled = str(data.get("disabled")) == "true" if "disabled" in data else None
    try:
        if "role" in data and role is None:
            raise ValidationError("choose a role", code="unknown_role", field="role")
        account_service.update_account(registry, user.access, user_id, role=role, disabled=disabled)
    except NotFoundError:
        raise
    except ShuguError as exc:
        message = user.tr.error(exc.code, exc.message)
        return _page(
            request, user, enterprise_id, row_error=(user_id, message), status=exc.http_status
        )
    return RedirectResponse(f"{_base(enterprise_id)}#user-{user_id}", status_code=303)
