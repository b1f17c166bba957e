"""Scope checks shared by routes: not visible → 404, visible but not allowed → 403.

Two levels below an enterprise's registry entry: its plant (assets, devices, monitoring
configuration), which the operator manages, and its machine values, which the operator and the
bureau read only with the enterprise's consent (``domain/tenancy.py``); the alarm configuration
that sends values out (rules, overrides, channels) the operator changes only with that consent.
"""

from __future__ import annotations

from collections.abc import Sequence

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.tenancy import Access, Role
from shugu.store.registry import Registry
from shugu.store.registry.incidents import IncidentRecord
from shugu.store.registry.monitoring import AlarmRecord


def _consent_required(access: Access) -> ForbiddenError:
    if access.role is Role.BUREAU:
        return ForbiddenError(
            "this enterprise has not granted the bureau access to machine-level data",
            code="consent_required",
        )
    if access.role is Role.OPERATOR:
        return ForbiddenError(
            "this enterprise has not granted the platform operator access to its machine "
            "values; its administrators can grant it (POST /api/enterprises/{id}/consents "
            'with "grantee": "operator")',
            code="consent_required",
        )
    if access.role is Role.PARK_OFFICIAL:
        return ForbiddenError(
            "a park official sees its enterprises' registry data and enterprise-level figures, "
            "not their machines (devices, values, alarms of devices)",
            code="forbidden",
        )
    return ForbiddenError("you may not read this enterprise's machine data", code="forbidden")


def require_machine_access(access: Access, enterprise_id: int) -> None:
    """Machine values of the enterprise (telemetry, alarms, rounds, rejects)."""
    if not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    if not access.can_read_machines(enterprise_id):
        raise _consent_required(access)


def require_device_access(access: Access, enterprise_id: int) -> None:
    """The enterprise's plant without values: assets, devices, monitoring configuration."""
    if not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    if not access.can_see_devices(enterprise_id):
        raise _consent_required(access)


def require_enterprise_admin(access: Access, enterprise_id: int) -> None:
    """The right to change the enterprise's plant and monitoring configuration."""
    require_device_access(access, enterprise_id)
    if not access.can_manage_enterprise(enterprise_id):
        raise ForbiddenError("only the enterprise's administrators change this", code="forbidden")


def require_alarm_admin(access: Access, enterprise_id: int) -> None:
    """The right to change rules, per-device overrides and notification channels: the
    enterprise's administrators, and the operator only while the enterprise consents."""
    require_enterprise_admin(access, enterprise_id)
    if not access.can_configure_alarms(enterprise_id):
        raise ForbiddenError(
            "rules, overrides and notification channels decide which machine values raise "
            "alarms and where notices quoting them are sent; the platform operator changes them "
            "only while the enterprise grants it consent (POST /api/enterprises/{id}/consents "
            'with "grantee": "operator"), or the enterprise\'s administrators change them',
            code="consent_required",
        )


def calendar_reader(registry: Registry, access: Access, enterprise_id: int) -> None:
    """An enterprise whose shift calendar the caller may read: whoever may know of the
    enterprise (the calendar tells when it plans to work, nothing its machines measured)."""
    if not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    registry.get_enterprise(enterprise_id)  # raises NotFoundError when it does not exist


def calendar_editor(registry: Registry, access: Access, enterprise_id: int) -> None:
    """The right to change the enterprise's shift calendar, which sets the planned time its
    availability and utilisation are measured against: as its rules, the enterprise's
    administrators, and the operator only while the enterprise consents."""
    calendar_reader(registry, access, enterprise_id)
    require_enterprise_admin(access, enterprise_id)
    if not access.can_configure_alarms(enterprise_id):
        raise ForbiddenError(
            "the shift calendar sets the planned time the enterprise's figures are measured "
            "against; the platform operator changes it only while the enterprise grants it "
            'consent (POST /api/enterprises/{id}/consents with "grantee": "operator"), or the '
            "enterprise's administrators change it",
            code="consent_required",
        )


def listed_device(registry: Registry, access: Access, device_id: int) -> DeviceRef:
    """A device the caller may see listed (name, profile, place), values or not."""
    ref = registry.get_device_ref(device_id)
    if ref is None or not access.can_see_enterprise(ref.enterprise_id):
        raise NotFoundError("no such device", code="not_found")
    require_device_access(access, ref.enterprise_id)
    return ref


def visible_device(registry: Registry, access: Access, device_id: int) -> DeviceRef:
    """A device whose values the caller may read."""
    ref = listed_device(registry, access, device_id)
    require_machine_access(access, ref.enterprise_id)
    return ref


def visible_devices(
    registry: Registry, access: Access, device_ids: Sequence[int]
) -> frozenset[int]:
    """The enterprises of devices whose values the caller may read, each device checked as
    ``visible_device`` checks one, in one registry query and one consent check per enterprise
    (a page's live stream asks for up to 500 at once)."""
    refs = registry.get_device_refs(device_ids)
    enterprises = set()
    for device_id in device_ids:
        ref = refs.get(device_id)
        if ref is None or not access.can_see_enterprise(ref.enterprise_id):
            raise NotFoundError("no such device", code="not_found")
        enterprises.add(ref.enterprise_id)
    for enterprise_id in sorted(enterprises):
        require_device_access(access, enterprise_id)
        require_machine_access(access, enterprise_id)
    return frozenset(enterprises)


def visible_enterprise_devices(registry: Registry, access: Access, enterprise_id: int) -> None:
    """An enterprise whose plant (assets, devices) the caller may see."""
    if not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    registry.get_enterprise(enterprise_id)  # raises NotFoundError when it does not exist
    require_device_access(access, enterprise_id)


def visible_enterprise_for_machines(registry: Registry, access: Access, enterprise_id: int) -> None:
    """An enterprise whose machine values the caller may read."""
    visible_enterprise_devices(registry, access, enterprise_id)
    require_machine_access(access, enterprise_id)


def visible_alarm(registry: Registry, access: Access, alarm_id: int) -> AlarmRecord:
    """An alarm whose values the caller may read."""
    record = registry.get_alarm(alarm_id)
    if not access.can_see_enterprise(record.enterprise_id):
        raise NotFoundError("no such alarm")
    require_machine_access(access, record.enterprise_id)
    return record


def visible_incident(registry: Registry, access: Access, incident_id: int) -> IncidentRecord:
    """An incident whose alarms' values the caller may read (as ``visible_alarm``)."""
    record = registry.get_incident(incident_id)
    if not access.can_see_enterprise(record.enterprise_id):
        raise NotFoundError("no such incident")
    require_machine_access(access, record.enterprise_id)
    return record


def incident_handler(registry: Registry, access: Access, incident_id: int) -> str:
    """The username that acknowledges a visible incident (whoever acknowledges its alarms)."""
    record = visible_incident(registry, access, incident_id)
    if not may_handle_alarms(access, record.enterprise_id, manage=False):
        raise ForbiddenError("the bureau reads alarms; the enterprise handles them")
    return access.principal.username


def may_handle_alarms(access: Access, enterprise_id: int, *, manage: bool) -> bool:
    """Whether the caller, who reads the enterprise's alarms, acknowledges them (or, with
    ``manage``, clears and shelves them). Anyone of the enterprise may acknowledge; clearing and
    shelving silence an alarm, so they are for its administrators; the bureau only reads."""
    if access.role is Role.BUREAU:
        return False
    return not manage or access.can_manage_enterprise(enterprise_id)


def alarm_handler(registry: Registry, access: Access, alarm_id: int, *, manage: bool) -> str:
    """The username that acknowledges (or, with ``manage``, clears or shelves) a visible alarm."""
    record = visible_alarm(registry, access, alarm_id)
    if access.role is Role.BUREAU:
        raise ForbiddenError("the bureau reads alarms; the enterprise handles them")
    if not may_handle_alarms(access, record.enterprise_id, manage=manage):
        raise ForbiddenError("only the enterprise's administrators clear or shelve alarms")
    return access.principal.username


def may_command(access: Access, enterprise_id: int) -> bool:
    """Whether the caller sends commands (RPC) to the enterprise's devices, whose values it
    reads: the enterprise's administrators, and the operator while the enterprise consents."""
    return access.can_read_machines(enterprise_id) and access.can_manage_enterprise(enterprise_id)


def commanded_device(registry: Registry, access: Access, device_id: int) -> DeviceRef:
    """A device the caller may send commands to."""
    ref = visible_device(registry, access, device_id)
    if not may_command(access, ref.enterprise_id):
        raise ForbiddenError("only the enterprise's administrators send commands", code="forbidden")
    return ref


def park_enterprises(registry: Registry, access: Access) -> frozenset[int]:
    """The enterprises of the park a park official serves (none for any other caller)."""
    park_id = access.principal.park_id
    if access.role is not Role.PARK_OFFICIAL or park_id is None:
        return frozenset()
    return frozenset(e.id for e in registry.list_enterprises(park_id))


def visible_enterprises(registry: Registry, access: Access) -> frozenset[int] | None:
    """The enterprises whose registry data and enterprise-level figures the caller sees
    (None: every enterprise)."""
    if access.role in (Role.BUREAU, Role.OPERATOR):
        return None
    if access.role is Role.PARK_OFFICIAL:
        return park_enterprises(registry, access)
    own = access.principal.enterprise_id
    return frozenset() if own is None else frozenset({own})


#: KPI levels that sum one enterprise's machines at most; above them a table mixes enterprises.
_MACHINE_LEVELS = ("device", "line")
_OWN_LEVELS = ("device", "line", "enterprise")


def kpi_enterprises(
    registry: Registry, access: Access, level: str, enterprise_id: int | None = None
) -> frozenset[int] | None:
    """The enterprises whose machines a KPI table at ``level`` may sum for the caller (None:
    every enterprise), narrowed to ``enterprise_id`` when given.

    An enterprise's own users see their enterprise at every level up to the enterprise, never a
    table that mixes in others. The bureau and the operator see enterprise-level and coarser
    figures of every enterprise (an aggregate shows no machine), and machine or line figures only
    of enterprises that granted them consent. A park official sees enterprise-level and coarser
    figures of its park's enterprises only, and no machine or line figures (a park is granted no
    consent): a park's roll-up sums its own enterprises, never a neighbour's.
    """
    if enterprise_id is not None and not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    if access.role.bound_to_enterprise:
        own = access.principal.enterprise_id
        if level not in _OWN_LEVELS:
            raise ForbiddenError(
                "figures above the enterprise mix in other enterprises; they are the bureau's",
                code="kpi_level_forbidden",
            )
        assert own is not None
        return frozenset({own})
    if access.role is Role.PARK_OFFICIAL:
        if level in _MACHINE_LEVELS:
            raise _consent_required(access)
        if enterprise_id is not None:
            return frozenset({enterprise_id})
        return park_enterprises(registry, access)
    if level in _MACHINE_LEVELS:
        if enterprise_id is not None:
            require_machine_access(access, enterprise_id)
            return frozenset({enterprise_id})
        return frozenset(
            e.id for e in registry.list_enterprises() if access.can_read_machines(e.id)
        )
    return None if enterprise_id is None else frozenset({enterprise_id})
