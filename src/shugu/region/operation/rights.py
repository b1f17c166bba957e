"""Who may see and do what in monthly operation, asked of ``domain/tenancy.py``'s Access.

An enterprise's people see their own reports and its administrators file them; the official of
the enterprise's park reviews first and sees its park's reports; the bureau reviews second and
sees every report. The operator runs the platform but is not the bureau: it sees none of this.
An enterprise the caller may not know of answers 404, whichever the reason.
"""

from __future__ import annotations

from shugu.domain.errors import ForbiddenError
from shugu.domain.tenancy import Access, Role
from shugu.store.registry import Registry
from shugu.store.registry.core import missing
from shugu.store.registry.region_operation import OperationEnterprise


def enterprise_for_reports(
    registry: Registry, access: Access, enterprise_id: int
) -> OperationEnterprise:
    """An enterprise whose monthly reports the caller may read."""
    if not access.can_see_enterprise(enterprise_id):
        raise missing("enterprise")
    found = registry.operation_enterprises(ids=[enterprise_id])
    if not found:
        raise missing("enterprise")
    enterprise = found[0]
    if not (
        access.principal.is_member_of(enterprise_id) or access.can_see_park(enterprise.park_id)
    ):
        raise ForbiddenError(
            "monthly reports are the enterprise's, its park's and the bureau's",
            code="forbidden",
        )
    return enterprise


def enterprise_for_filing(
    registry: Registry, access: Access, enterprise_id: int
) -> OperationEnterprise:
    """An enterprise whose monthly reports the caller files: its administrators."""
    enterprise = enterprise_for_reports(registry, access, enterprise_id)
    if not access.can_file_for(enterprise_id):
        raise ForbiddenError(
            "only the enterprise's administrators file its monthly reports", code="forbidden"
        )
    return enterprise


def region_parks(access: Access, park_id: int | None = None) -> int | None:
    """The park a district-wide list is narrowed to for the caller (None: every park): the
    bureau any, a park official its own. Others are refused."""
    if access.is_bureau():
        return park_id
    if access.role is Role.PARK_OFFICIAL and access.principal.park_id is not None:
        own = access.principal.park_id
        if park_id is not None and park_id != own:
            raise ForbiddenError("a park official sees its own park", code="forbidden")
        return own
    raise ForbiddenError(
        "monthly operation across enterprises is the bureau's and the parks'",
        code="forbidden",
    )


def require_bureau(access: Access) -> None:
    if not access.is_bureau():
        raise ForbiddenError("this is the bureau's to do", code="forbidden")
