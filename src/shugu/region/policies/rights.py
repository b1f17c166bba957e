"""Who may see and do what with policies: an enterprise's matches, entitlements and points are
read by its own people, the park official of its park and the bureau; the bureau alone edits
policies, computes and approves grant batches and resolves objections; an enterprise's
administrators object. The operator runs the platform and is not the bureau: it is refused.

An enterprise the caller may not know of answers 404, as everywhere (``api/scope.py``).
"""

from __future__ import annotations

from shugu.domain.errors import ForbiddenError
from shugu.domain.tenancy import Access, Role
from shugu.store.registry import Registry
from shugu.store.registry.core import missing


def may_read(access: Access, enterprise_id: int) -> bool:
    return (
        access.is_bureau()
        or access.in_own_park(enterprise_id)
        or access.principal.is_member_of(enterprise_id)
    )


def read_enterprise(access: Access, registry: Registry, enterprise_id: int) -> None:
    if not access.can_see_enterprise(enterprise_id):
        raise missing("enterprise")
    registry.get_enterprise(enterprise_id)  # NotFoundError when there is none
    if not may_read(access, enterprise_id):
        raise ForbiddenError(
            "an enterprise's policies are read by its people, its park and the bureau",
            code="forbidden",
        )


def require_bureau(access: Access) -> None:
    if not access.is_bureau():
        raise ForbiddenError("only the district bureau does this", code="forbidden")


def require_overseer(access: Access) -> None:
    """The bureau, or a park official (for its own park's enterprises)."""
    if not (access.is_bureau() or access.role is Role.PARK_OFFICIAL):
        raise ForbiddenError(
            "the district's enterprises are seen by the bureau and park officials",
            code="forbidden",
        )


def overseen_enterprises(access: Access, registry: Registry) -> list[int]:
    if access.is_bureau():
        return [e.id for e in registry.list_enterprises()]
    park = access.principal.park_id
    if access.role is Role.PARK_OFFICIAL and park is not None:
        return [e.id for e in registry.list_enterprises(park)]
    return []


def require_filer(access: Access, enterprise_id: int) -> None:
    if not access.can_file_for(enterprise_id):
        raise ForbiddenError(
            "only the enterprise's administrators object to its entitlement", code="forbidden"
        )
