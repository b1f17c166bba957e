"""An enterprise's shift calendar put in force through shugu's API, as its administrator would.

The calendar in force today is read first (``GET /api/enterprises/{id}/calendar``); only when it
differs from the district file's is a new version saved (``PUT``), so that restarting the
simulator adds no version. The calendar sets the planned time an enterprise's availability is
measured against, so shugu lets the platform operator change it only with the enterprise's
consent. The simulator, which plays the simulated enterprises, then acts as the enterprise: it
creates the enterprise's first administrator (``sim-<credit code>``, as an operator hands an
enterprise over), keeps its password in the state file beside the device tokens, and saves the
calendar as that administrator. An enterprise that already has an administrator of its own
keeps the calendar it has, with a warning.
"""

from __future__ import annotations

import logging
import secrets

from shugu.domain.tenancy import Role
from shugu.sim.calendar import CalendarSpec
from shugu.sim.client import ApiError, ShuguClient

log = logging.getLogger(__name__)


def admin_username(uscc: str) -> str:
    return f"sim-{uscc}"


def _admin_key(enterprise_id: int) -> str:
    """Where the state file keeps the password of the administrator the simulator made."""
    return f"{enterprise_id}/@administrator"


def put_calendar(
    client: ShuguClient,
    state: dict[str, str],
    enterprise_id: int,
    name: str,
    uscc: str,
    calendar: CalendarSpec,
) -> bool:
    """Put ``calendar`` in force for the enterprise unless it is already; True if it is in
    force afterwards. ``state`` keeps the password of an administrator the simulator made.
    Never raises for shugu's refusals: the district runs on, its planned time the default."""
    path = f"/api/enterprises/{enterprise_id}/calendar"
    try:
        current = client.get(path)
        if current["in_force"]["calendar"] == calendar.kept():
            return True
        client.put(path, calendar.body())
        return True
    except ApiError as exc:
        if exc.code != "consent_required":
            return _not_set(name, exc)
    administrator = _administrator(client, state, enterprise_id, uscc)
    if isinstance(administrator, ApiError):
        return _not_set(name, administrator)
    try:
        administrator.put(path, calendar.body())
    except ApiError as exc:
        return _not_set(name, exc)
    log.info("the shift calendar of %s is set by its administrator %s", name, admin_username(uscc))
    return True


def _administrator(
    client: ShuguClient, state: dict[str, str], enterprise_id: int, uscc: str
) -> ShuguClient | ApiError:
    """The enterprise's administrator signed in, made first if the simulator has none."""
    username = admin_username(uscc)
    key = _admin_key(enterprise_id)
    try:
        if key not in state:
            password = secrets.token_urlsafe(24)
            client.post(
                "/api/users",
                {
                    "username": username,
                    "password": password,
                    "role": Role.ENTERPRISE_ADMIN.value,
                    "enterprise_id": enterprise_id,
                },
            )
            state[key] = password
        return client.signed_in_as(username, state[key])
    except ApiError as exc:
        return exc


def _not_set(name: str, exc: ApiError) -> bool:
    log.warning(
        "the shift calendar of %s was not set, so shugu's default holds for it: %s", name, exc
    )
    return False
