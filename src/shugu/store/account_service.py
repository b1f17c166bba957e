"""Enterprises registered and accounts created, given another role, disabled (停用) or enabled,
with who may do which; the API's routes and the console's pages call these same functions.

The operator registers enterprises and makes the platform's own accounts (operator, bureau, park
officials) and an enterprise's first administrator; every further account of an enterprise is the
enterprise's own, made and managed by its administrators. An account the caller may not know of
is refused as missing (404), one it may see but not change as forbidden (403). Nobody changes or
disables its own account, so that the last administrator cannot lock everyone out by mistake.

Every account changes its own password, and only its own: an account made by another carries
the password that other chose (``must_change_password``) until its holder replaces it, and from
then on its maker (the operator, for an enterprise's first administrator) can no longer sign in
as it.
"""

from __future__ import annotations

import secrets

from shugu.domain.errors import ForbiddenError, ValidationError
from shugu.domain.tenancy import Access, Role
from shugu.store.registry import EnterpriseRecord, Registry, UserRecord, missing

#: A password the console makes for a new account: shown once, to be changed by its holder.
INITIAL_PASSWORD_BYTES = 12

#: The largest key a database integer holds; a larger id names nothing.
MAX_ID = 2**63 - 1

#: The roles an enterprise's accounts have.
ENTERPRISE_ROLES = (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_VIEWER)


def _forbidden(message: str, code: str = "forbidden") -> ForbiddenError:
    return ForbiddenError(message, code=code)


def _require_platform(access: Access, action: str) -> None:
    if not access.can_manage_platform():
        raise _forbidden(f"only the platform operator may {action}")


def _managed_enterprise(registry: Registry, access: Access, enterprise_id: int) -> None:
    if not access.can_see_enterprise(enterprise_id):
        raise missing("enterprise", field="enterprise_id")
    registry.get_enterprise(enterprise_id)
    if not access.can_manage_enterprise(enterprise_id):
        raise _forbidden("only the enterprise's administrators or the operator may change this")


def register_enterprise(
    registry: Registry,
    access: Access,
    park_id: int,
    name: str,
    uscc: str,
    nbs_category: str | None = None,
) -> EnterpriseRecord:
    """A new enterprise in a park; its USCC (统一社会信用代码) is checked, and a wrong check
    digit is kept with a warning (old certificates carry such codes)."""
    _require_platform(access, "register enterprises")
    if not 0 < park_id <= MAX_ID:
        raise missing("park", field="park_id")
    return registry.create_enterprise(park_id, name, uscc, nbs_category or None)


def has_admin(registry: Registry, enterprise_id: int) -> bool:
    """Whether the enterprise has been handed over: an administrator exists (a disabled one
    too, so that the operator cannot take an enterprise over by making a new one)."""
    return any(u.role is Role.ENTERPRISE_ADMIN for u in registry.list_users(enterprise_id))


def _only_first_admin(registry: Registry, role: Role, enterprise_id: int) -> None:
    """The operator hands an enterprise over by creating its first administrator; every
    further account of the enterprise is the enterprise's own (an account reads its values)."""
    if role is not Role.ENTERPRISE_ADMIN:
        raise _forbidden(
            "the platform operator creates only an enterprise's first administrator; "
            "that administrator creates the enterprise's other accounts",
            code="enterprise_accounts_are_its_own",
        )
    if has_admin(registry, enterprise_id):
        raise _forbidden(
            "this enterprise already has an administrator; its administrators create its "
            "accounts, the platform operator does not",
            code="enterprise_accounts_are_its_own",
        )


def create_account(
    registry: Registry,
    access: Access,
    username: str,
    password: str,
    role: Role,
    enterprise_id: int | None = None,
    park_id: int | None = None,
) -> UserRecord:
    """The operator creates operator, bureau and park officials' accounts (a park official's
    with ``park_id``), and an enterprise's first administrator; an enterprise administrator,
    accounts of its own enterprise (``enterprise_id`` defaults to it)."""
    if role.bound_to_enterprise:
        if enterprise_id is None and access.role is Role.ENTERPRISE_ADMIN:
            enterprise_id = access.principal.enterprise_id
        if enterprise_id is not None:
            _managed_enterprise(registry, access, enterprise_id)
            if access.role is Role.OPERATOR:
                _only_first_admin(registry, role, enterprise_id)
        else:
            _require_platform(access, "create accounts")
    else:
        _require_platform(access, "create operator, bureau and park officials' accounts")
    return registry.create_user(
        username,
        password,
        role,
        enterprise_id,
        made_by_operator=access.role is Role.OPERATOR and role.bound_to_enterprise,
        park_id=park_id,
        # Its maker knows this password; the holder is asked to replace it.
        must_change_password=True,
    )


def initial_password() -> str:
    """A random password for a new account, shown once to whoever made it."""
    return secrets.token_urlsafe(INITIAL_PASSWORD_BYTES)


def managed_account(registry: Registry, access: Access, user_id: int) -> UserRecord:
    """An account the caller may change: an enterprise's by its administrators, the platform's
    by the operator. 404 for one the caller may not know of, 403 for one it sees only."""
    target = registry.get_user(user_id)
    if target.enterprise_id is not None:
        if not access.can_see_enterprise(target.enterprise_id):
            raise missing("user")
        if access.role is Role.OPERATOR:
            raise _forbidden(
                "an enterprise's accounts are its own; its administrators change them",
                code="enterprise_accounts_are_its_own",
            )
        if not access.can_manage_enterprise(target.enterprise_id):
            raise _forbidden("only the enterprise's administrators change its accounts")
    elif not access.can_manage_platform():
        raise missing("user")
    if target.id == access.principal.user_id:
        raise _forbidden(
            "nobody changes or disables its own account; ask another administrator",
            code="own_account",
        )
    return target


def update_account(
    registry: Registry,
    access: Access,
    user_id: int,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
) -> UserRecord:
    """Give an account another role of the same kind (an enterprise's administrator or viewer;
    the operator or the bureau), and disable or enable it. A disabled account cannot sign in
    and every token it held is revoked at once."""
    target = managed_account(registry, access, user_id)
    if role is not None and role is not target.role:
        if role.bound_to_enterprise != target.role.bound_to_enterprise or (
            role.bound_to_park != target.role.bound_to_park
        ):
            raise ValidationError(
                f"an account with role {target.role} cannot become {role}; "
                "make a new account instead",
                code="role_change_not_allowed",
                field="role",
            )
        target = registry.set_user_role(user_id, role)
    if disabled is not None and disabled != target.disabled:
        target = registry.set_user_disabled(user_id, disabled)
    return target


def change_own_password(
    registry: Registry, access: Access, current_password: str, new_password: str
) -> UserRecord:
    """The caller's own password, given the current one; every token the account held is
    revoked (see ``Registry.change_password``). The API and the console count a wrong current
    password as a failed sign-in (``api/sign_in.py``), so this is no way around those limits."""
    return registry.change_password(access.principal.user_id, current_password, new_password)
