"""Who may see and do what: roles, the acting principal, and the scoping rules.

The rules live here, in one place, so that every route asks the same questions:
an enterprise user sees only its own enterprise; the bureau sees registry data and aggregates
everywhere, and machine-level data only of enterprises that granted consent; the operator runs
the platform and sees everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    BUREAU = "bureau"
    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_VIEWER = "enterprise_viewer"

    @property
    def bound_to_enterprise(self) -> bool:
        return self in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_VIEWER)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: int
    username: str
    role: Role
    enterprise_id: int | None = None

    def is_member_of(self, enterprise_id: int) -> bool:
        return self.role.bound_to_enterprise and self.enterprise_id == enterprise_id


class Access:
    """Scoping decisions for one principal.

    ``has_consent`` tells whether an enterprise currently grants the bureau machine-level access;
    it is asked lazily, only for bureau callers.
    """

    def __init__(self, principal: Principal, has_consent: Callable[[int], bool]) -> None:
        self.principal = principal
        self._has_consent = has_consent

    @property
    def role(self) -> Role:
        return self.principal.role

    def can_see_enterprise(self, enterprise_id: int) -> bool:
        """Registry data of an enterprise: name, code, park, classification."""
        if self.role in (Role.OPERATOR, Role.BUREAU):
            return True
        return self.principal.is_member_of(enterprise_id)

    def can_read_machines(self, enterprise_id: int) -> bool:
        """Machine-level data: devices, their telemetry, their rejects."""
        if self.role is Role.OPERATOR:
            return True
        if self.role is Role.BUREAU:
            return self._has_consent(enterprise_id)
        return self.principal.is_member_of(enterprise_id)

    def can_manage_enterprise(self, enterprise_id: int) -> bool:
        """Create assets and devices, rotate device tokens, grant consent, add users."""
        if self.role is Role.OPERATOR:
            return True
        return self.role is Role.ENTERPRISE_ADMIN and self.principal.enterprise_id == enterprise_id

    def can_manage_platform(self) -> bool:
        """Regions, parks, enterprises, operator and bureau accounts."""
        return self.role is Role.OPERATOR

    def can_read_aggregates(self) -> bool:
        """District-wide counts and roll-ups that name no machine."""
        return self.role in (Role.OPERATOR, Role.BUREAU)
