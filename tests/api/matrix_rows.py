"""What the route matrix is made of: a row per route with the status every role expects, and
the expectations most rows share. The core rows are in ``test_route_matrix.py``; each area of
the bureau's system keeps its rows in a ``matrix_*.py`` module of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.api.conftest import World

#: park_official serves the park A and B are in; park_other serves a park with none of the
#: world's enterprises.
#: The operator comes last: what it deletes (a device, a plan) the others are asked about first.
ROLES = (
    "anonymous",
    "viewer_a",
    "admin_a",
    "park_official",
    "park_other",
    "bureau",
    "operator",
)
OK = frozenset({200, 201, 204})


@dataclass(frozen=True)
class Row:
    url: Callable[[World], str]
    #: Expected status per role; roles not named expect 2xx.
    expect: dict[str, int]
    body: Callable[[World], object] | None = None
    #: Routes not reached with a user's bearer token (device token in the path, sign-in,
    #: health); their own tests cover them.
    not_user_scoped: bool = False
    setup: Callable[[World], dict[str, int]] = field(default=lambda w: {})


#: B's objects, hidden from other enterprises' people and from the official of another park;
#: the official of B's park sees B's registry data (roles not named expect 2xx).
HIDDEN = {"anonymous": 401, "viewer_a": 404, "admin_a": 404, "park_other": 404}
B_REGISTRY_READ = HIDDEN
#: B's plant without values (assets, devices, monitoring configuration): the operator sees it;
#: a park official, like the bureau without consent, does not.
B_MACHINE_READ = HIDDEN | {"bureau": 403, "park_official": 403}
#: B's machine values: the bureau and the operator each need B's consent (none in this world);
#: a park official never reads them (no consent is given to a park).
B_VALUES = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
B_MANAGE = HIDDEN | {"bureau": 403, "park_official": 403}
#: Acting on B's values (alarms, commands): B's people only, or the operator with consent.
B_MANAGE_VALUES = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
#: What raises B's alarms and where notices quoting B's values go (rules, overrides, notification
#: channels): B's administrators, or the operator with B's consent.
B_CONFIGURE_ALARMS = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
#: B's accounts: B's administrators (the operator creates only an enterprise's first one).
B_ACCOUNTS = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
#: Only B's own administrators let others read B's values.
B_CONSENT = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
PLATFORM_WRITE = {
    "anonymous": 401,
    "viewer_a": 403,
    "admin_a": 403,
    "bureau": 403,
    "park_official": 403,
    "park_other": 403,
}
ANY_USER = {"anonymous": 401}
#: Refused to both park officials (accounts, the platform's own business).
PARK_OFFICIALS = {"park_official": 403, "park_other": 403}
#: District-wide counts and roll-ups: the operator and the bureau.
AGGREGATES = {
    "anonymous": 401,
    "viewer_a": 403,
    "admin_a": 403,
    "park_official": 403,
    "park_other": 403,
}
#: Counts and roll-ups a park official gets narrowed to its own park (an empty park's to the
#: official of another park), the operator and the bureau district-wide.
PARK_AGGREGATES = {"anonymous": 401, "viewer_a": 403, "admin_a": 403}
