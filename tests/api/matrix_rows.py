"""What the route matrix is made of: a row per route with the status every role expects, and
the expectations most rows share. The core rows are in ``test_route_matrix.py``; each area of
the bureau's system keeps its rows in a ``matrix_*.py`` module of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.api.conftest import World

ROLES = ("anonymous", "viewer_a", "admin_a", "bureau", "operator")
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


HIDDEN = {"anonymous": 401, "viewer_a": 404, "admin_a": 404}
B_REGISTRY_READ = HIDDEN
#: B's plant without values (assets, devices, monitoring configuration): the operator sees it.
B_MACHINE_READ = HIDDEN | {"bureau": 403}
#: B's machine values: the bureau and the operator each need B's consent (none in this world).
B_VALUES = HIDDEN | {"bureau": 403, "operator": 403}
B_MANAGE = HIDDEN | {"bureau": 403}
#: Acting on B's values (alarms, commands): B's people only, or the operator with consent.
B_MANAGE_VALUES = HIDDEN | {"bureau": 403, "operator": 403}
#: What raises B's alarms and where notices quoting B's values go (rules, overrides, notification
#: channels): B's administrators, or the operator with B's consent.
B_CONFIGURE_ALARMS = HIDDEN | {"bureau": 403, "operator": 403}
#: B's accounts: B's administrators (the operator creates only an enterprise's first one).
B_ACCOUNTS = HIDDEN | {"bureau": 403, "operator": 403}
#: Only B's own administrators let others read B's values.
B_CONSENT = HIDDEN | {"bureau": 403, "operator": 403}
PLATFORM_WRITE = {"anonymous": 401, "viewer_a": 403, "admin_a": 403, "bureau": 403}
ANY_USER = {"anonymous": 401}
AGGREGATES = {"anonymous": 401, "viewer_a": 403, "admin_a": 403}
