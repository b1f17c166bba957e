"""Scope checks shared by routes: not visible → 404, visible but not allowed → 403."""

from __future__ import annotations

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.tenancy import Access, Role
from shugu.store.registry import Registry


def require_machine_access(access: Access, enterprise_id: int) -> None:
    if not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    if not access.can_read_machines(enterprise_id):
        if access.role is Role.BUREAU:
            raise ForbiddenError(
                "this enterprise has not granted the bureau access to machine-level data",
                code="consent_required",
            )
        raise ForbiddenError("you may not read this enterprise's machine data", code="forbidden")


def require_enterprise_admin(access: Access, enterprise_id: int) -> None:
    """Machine-level access to the enterprise, and the right to change its settings."""
    require_machine_access(access, enterprise_id)
    if not access.can_manage_enterprise(enterprise_id):
        raise ForbiddenError("only the enterprise's administrators change this", code="forbidden")


def visible_device(registry: Registry, access: Access, device_id: int) -> DeviceRef:
    ref = registry.get_device_ref(device_id)
    if ref is None or not access.can_see_enterprise(ref.enterprise_id):
        raise NotFoundError("no such device", code="not_found")
    require_machine_access(access, ref.enterprise_id)
    return ref


def visible_enterprise_for_machines(registry: Registry, access: Access, enterprise_id: int) -> None:
    if not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    registry.get_enterprise(enterprise_id)  # raises NotFoundError when it does not exist
    require_machine_access(access, enterprise_id)
