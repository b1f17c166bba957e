"""Who may see and do what: roles, the acting principal, and the scoping rules.

The rules live here, in one place, so that every route asks the same questions:
an enterprise user sees only its own enterprise; the bureau sees registry data and aggregates
everywhere, and machine-level data only of enterprises that granted it consent; the operator runs
the platform (enterprises, devices and their credentials, an enterprise's first administrator,
inspection plans, health) and reads machine values, or changes what sends them out (rules,
overrides, notification channels), only for enterprises that granted the operator consent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Grantee(StrEnum):
    """Who an enterprise may let read its machine values, each by a consent of its own."""

    BUREAU = "bureau"
    OPERATOR = "operator"


class Role(StrEnum):
    OPERATOR = "operator"
    BUREAU = "bureau"
    #: A park's official (园区): reviews the monthly reports of its park's enterprises and sees
    #: their registry data and enterprise-level figures; no machine values.
    PARK_OFFICIAL = "park_official"
    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_VIEWER = "enterprise_viewer"

    @property
    def bound_to_enterprise(self) -> bool:
        return self in (Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_VIEWER)

    @property
    def bound_to_park(self) -> bool:
        return self is Role.PARK_OFFICIAL


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: int
    username: str
    role: Role
    enterprise_id: int | None = None
    #: The operator made this account (an enterprise's first administrator).
    made_by_operator: bool = False
    #: The park a park official serves (None for every other role).
    park_id: int | None = None

    def is_member_of(self, enterprise_id: int) -> bool:
        return self.role.bound_to_enterprise and self.enterprise_id == enterprise_id


class Access:
    """Scoping decisions for one principal.

    ``has_consent(enterprise_id, grantee)`` tells whether an enterprise currently lets the
    bureau or the operator read its machine values; it is asked lazily, only for those callers.
    """

    def __init__(
        self,
        principal: Principal,
        has_consent: Callable[[int, Grantee], bool],
        park_of: Callable[[int], int | None] | None = None,
    ) -> None:
        self.principal = principal
        self._has_consent = has_consent
        #: An enterprise's park, asked only for park officials.
        self._park_of = park_of

    @property
    def role(self) -> Role:
        return self.principal.role

    def can_see_enterprise(self, enterprise_id: int) -> bool:
        """Registry data of an enterprise: name, code, park, classification."""
        if self.role in (Role.OPERATOR, Role.BUREAU):
            return True
        if self.role is Role.PARK_OFFICIAL:
            return self.in_own_park(enterprise_id)
        return self.principal.is_member_of(enterprise_id)

    def in_own_park(self, enterprise_id: int) -> bool:
        """The enterprise lies in the park this park official serves."""
        if self.role is not Role.PARK_OFFICIAL or self._park_of is None:
            return False
        park = self._park_of(enterprise_id)
        return park is not None and park == self.principal.park_id

    def can_see_park(self, park_id: int) -> bool:
        """A park's enterprise-level figures and the bureau's records of it (reports, projects,
        appeals): the bureau everywhere, a park official in its own park."""
        if self.role is Role.BUREAU:
            return True
        return self.role is Role.PARK_OFFICIAL and self.principal.park_id == park_id

    def can_review_park(self, park_id: int) -> bool:
        """The first review of a park's monthly reports (the bureau reviews after the park)."""
        return self.role is Role.PARK_OFFICIAL and self.principal.park_id == park_id

    def is_bureau(self) -> bool:
        """The district bureau's own work: the final review, tiers, policies, targets."""
        return self.role is Role.BUREAU

    def can_file_for(self, enterprise_id: int) -> bool:
        """File an enterprise's own records with the bureau (monthly reports, appeals,
        objections, project progress of its projects): its administrators."""
        return self.role is Role.ENTERPRISE_ADMIN and self.principal.is_member_of(enterprise_id)

    def can_see_devices(self, enterprise_id: int) -> bool:
        """An enterprise's plant without values: assets, devices (name, profile, place), and
        the monitoring configuration (rules, overrides, inspection plans)."""
        if self.role is Role.OPERATOR:
            return True
        return self.can_read_machines(enterprise_id)

    def can_read_machines(self, enterprise_id: int) -> bool:
        """Machine values: telemetry, latest values, attributes, alarms, inspection rounds and
        reports, rejected values, commands to devices."""
        if self.role is Role.OPERATOR:
            return self._has_consent(enterprise_id, Grantee.OPERATOR)
        if self.role is Role.BUREAU:
            return self._has_consent(enterprise_id, Grantee.BUREAU)
        return self.principal.is_member_of(enterprise_id)

    def can_grant_consent(self, enterprise_id: int, grantee: Grantee) -> bool:
        """Only the enterprise's own administrators let others read its machine values; and
        not to the operator from an account the operator made, which would be the operator
        consenting to itself."""
        if grantee is Grantee.OPERATOR and self.principal.made_by_operator:
            return False
        return self.can_revoke_consent(enterprise_id)

    def can_revoke_consent(self, enterprise_id: int) -> bool:
        """Any of the enterprise's administrators withdraws a consent (it only narrows)."""
        return self.role is Role.ENTERPRISE_ADMIN and self.principal.is_member_of(enterprise_id)

    def can_configure_alarms(self, enterprise_id: int) -> bool:
        """Rules, per-device overrides and notification channels: they decide which values
        raise an alarm and where a notice (which quotes the value) is sent, so for the operator
        they need the same consent as reading the values."""
        if self.role is Role.OPERATOR:
            return self._has_consent(enterprise_id, Grantee.OPERATOR)
        return self.can_manage_enterprise(enterprise_id)

    def can_count_alarms(self, enterprise_id: int) -> bool:
        """Open alarm counts of an enterprise. The bureau sees every enterprise's (it sets no
        limits); a park official its own park's, as the bureau's; the operator only with
        consent, since counts under limits it chose while it had consent would still answer
        "is this value above X"."""
        if self.role is Role.BUREAU:
            return True
        if self.role is Role.PARK_OFFICIAL:
            return self.in_own_park(enterprise_id)
        return self.can_read_machines(enterprise_id)

    def can_manage_enterprise(self, enterprise_id: int) -> bool:
        """Create assets and devices, rotate device tokens, add users, configure inspection
        plans (the operator: see ``can_configure_alarms`` and the account rules)."""
        if self.role is Role.OPERATOR:
            return True
        return self.role is Role.ENTERPRISE_ADMIN and self.principal.enterprise_id == enterprise_id

    def can_manage_platform(self) -> bool:
        """Regions, parks, enterprises, operator and bureau accounts."""
        return self.role is Role.OPERATOR

    def can_read_aggregates(self) -> bool:
        """District-wide counts and roll-ups that name no machine."""
        return self.role in (Role.OPERATOR, Role.BUREAU)
