"""The console's navigation, by role: each role sees the pages it has a use for."""

from __future__ import annotations

from dataclasses import dataclass

from shugu.domain.tenancy import Role
from shugu.web.i18n import N_
from shugu.web.session import PageUser


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str  # message id
    url: str

    def active(self, path: str) -> bool:
        return path == self.url or path.startswith(self.url.rstrip("/") + "/")


#: The top bar's account menu, the same for every role: what one does with one's own account.
PASSWORD_URL = "/account/password"
ACCOUNT_MENU: tuple[NavItem, ...] = (NavItem(N_("Change password"), PASSWORD_URL),)


def account_menu_for(user: PageUser) -> tuple[NavItem, ...]:
    """Every role changes its own password; the menu has no role-specific entries (yet)."""
    return ACCOUNT_MENU


def enterprise_items(enterprise_id: int, admin: bool) -> list[NavItem]:
    base = f"/e/{enterprise_id}"
    items = [
        NavItem(N_("Asset tree"), f"{base}/tree"),
        NavItem(N_("Devices"), f"{base}/devices"),
        NavItem(N_("KPIs"), f"{base}/kpi"),
        NavItem(N_("Alarms"), f"{base}/alarms"),
        NavItem(N_("Alarm rules"), f"{base}/rules"),
        NavItem(N_("Inspection"), f"{base}/inspection"),
        NavItem(N_("Shared capacity"), f"{base}/capacity"),
        NavItem(N_("Policies"), f"{base}/policies"),
        NavItem(N_("Enterprise file"), f"{base}/file"),
        NavItem(N_("Project library"), "/projects"),
        NavItem(N_("Enterprise appeals"), "/appeals"),
        NavItem(N_("Monthly reports"), f"{base}/monthly-reports"),
    ]
    if admin:
        # The channels hold robot secrets and addresses: the API shows them to administrators.
        items += [
            NavItem(N_("Notifications"), f"{base}/notifications"),
            NavItem(N_("Shift calendar"), f"{base}/calendar"),
            NavItem(N_("Add a device"), f"{base}/onboard"),
            NavItem(N_("Consent"), f"{base}/consents"),
            NavItem(N_("Accounts"), f"{base}/accounts"),
        ]
    return items


def nav_for(user: PageUser) -> list[NavItem]:
    role = user.role
    if role is Role.OPERATOR:
        return [
            NavItem(N_("Platform health"), "/operator/health"),
            NavItem(N_("Enterprises"), "/operator/enterprises"),
            NavItem(N_("Region KPIs"), "/region/kpi"),
        ]
    if role is Role.BUREAU:
        return [
            NavItem(N_("Region overview"), "/region"),
            NavItem(N_("Enterprises"), "/region/enterprises"),
            NavItem(N_("Enterprise files"), "/bureau/files"),
            NavItem(N_("Tiers board"), "/bureau/tiers"),
            NavItem(N_("Region KPIs"), "/region/kpi"),
            NavItem(N_("Shared capacity"), "/capacity"),
            NavItem(N_("Targets"), "/region/targets"),
            NavItem(N_("Policies"), "/bureau/policies"),
            NavItem(N_("Project library"), "/projects"),
            NavItem(N_("Enterprise appeals"), "/appeals"),
            NavItem(N_("Monthly operation"), "/bureau/operation"),
        ]
    if role is Role.PARK_OFFICIAL:
        # The same pages as the bureau's, each narrowed to the official's own park.
        return [
            NavItem(N_("Region overview"), "/region"),
            NavItem(N_("Enterprises"), "/region/enterprises"),
            NavItem(N_("Enterprise files"), "/bureau/files"),
            NavItem(N_("Tiers board"), "/bureau/tiers"),
            NavItem(N_("Region KPIs"), "/region/kpi"),
            NavItem(N_("Targets"), "/region/targets"),
            NavItem(N_("Policies"), "/bureau/policies"),
            NavItem(N_("Project library"), "/projects"),
            NavItem(N_("Enterprise appeals"), "/appeals"),
            NavItem(N_("Monthly operation"), "/bureau/operation"),
        ]
    assert user.enterprise_id is not None
    return enterprise_items(user.enterprise_id, role is Role.ENTERPRISE_ADMIN)


def current(items: list[NavItem], path: str) -> str | None:
    """The URL of the item the page belongs to: the longest that leads to it (``/region`` for
    the wall, ``/region/enterprises`` below it, never both)."""
    matching = [item.url for item in items if item.active(path)]
    return max(matching, key=len) if matching else None


def home_url(user: PageUser) -> str:
    """Where a user lands after signing in."""
    if user.role is Role.OPERATOR:
        return "/operator/health"
    if user.role in (Role.BUREAU, Role.PARK_OFFICIAL):
        return "/region"
    return f"/e/{user.enterprise_id}/tree"
