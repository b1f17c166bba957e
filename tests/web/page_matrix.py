"""The console's route matrix: every page route, every role, against enterprise B's objects.

Each area of the console lists its rows in its own module ``tests/web/matrix_<area>.py`` as
``ROWS: list[PageRow]``; ``test_page_matrix.py`` gathers them all, fails when a console route has
no row, and runs every row as every role. The world is the API tests' (tests/api/conftest.py):
enterprise B has granted no consent, so the bureau's and the operator's reads of B's machine
values must be refused, as the API refuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.api.conftest import World

#: As in the API's matrix: park_official serves the park A and B are in, park_other a park with
#: none of the world's enterprises; the operator comes last (what it deletes, others see first).
ROLES = (
    "anonymous",
    "viewer_a",
    "admin_a",
    "park_official",
    "park_other",
    "bureau",
    "operator",
)
#: A page shown, a form's redirect after success, a fragment with no content.
OK = frozenset({200, 201, 204, 303})
#: Without a session a page leads to the sign-in page.
SIGN_IN = {"anonymous": 303}

#: B's objects in the console, as in the API's matrix (tests/api/matrix_rows.py): hidden from
#: other enterprises' people and from another park's official; B's park official sees B's
#: registry data and enterprise-level figures, never B's plant or machine values.
HIDDEN = SIGN_IN | {"viewer_a": 404, "admin_a": 404, "park_other": 404}
B_PLANT = HIDDEN
B_VALUES = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
B_MANAGE = HIDDEN | {"bureau": 403, "park_official": 403}
B_CONFIGURE_ALARMS = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
B_CONSENT = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
#: Refused to both park officials.
PARK_OFFICIALS = {"park_official": 403, "park_other": 403}
OPERATOR_ONLY = SIGN_IN | {"viewer_a": 403, "admin_a": 403, "bureau": 403} | PARK_OFFICIALS
#: The bureau's own pages (the operator opens them too, seeing what its access allows).
BUREAU_PAGES = SIGN_IN | {"viewer_a": 403, "admin_a": 403} | PARK_OFFICIALS
#: Pages of counts and figures above the enterprise that a park official sees narrowed to its
#: own park (the official of an empty park sees an empty park).
PARK_PAGES = SIGN_IN | {"viewer_a": 403, "admin_a": 403}
ANY_USER = SIGN_IN


@dataclass(frozen=True)
class PageRow:
    method: str
    #: The route's path as FastAPI declares it (``/e/{enterprise_id}/alarms``): the coverage key.
    route: str
    url: Callable[[World, dict[str, int]], str]
    #: Expected status per role; roles not named expect one of ``OK``.
    expect: dict[str, int]
    #: Form fields (or None for no body).
    form: Callable[[World, dict[str, int]], dict[str, str]] | None = None
    #: Objects made before the request (ids by name, passed to ``url`` and ``form``).
    setup: Callable[[World], dict[str, int]] = field(default=lambda w: {})
    #: Send as htmx does (the ``HX-Request`` header): sign-in needed is then 401, not 303.
    htmx: bool = False
