"""Page-matrix rows of the console's frame: start page, sign-in, language, live stream."""

from __future__ import annotations

import itertools

from tests.web.page_matrix import ANY_USER, B_VALUES, ROLES, PageRow

_ATTEMPTS = itertools.count()

ROWS: list[PageRow] = [
    PageRow("GET", "/", lambda w, o: "/", ANY_USER),
    PageRow("GET", "/login", lambda w, o: "/login", {}),
    PageRow(
        "POST",
        "/login",
        lambda w, o: "/login",
        {role: 401 for role in ROLES},
        # A name of its own each time: five failures of one name lock it (429) for a while.
        form=lambda w, o: {"username": f"nobody-{next(_ATTEMPTS)}", "password": "wrong"},
    ),
    PageRow("POST", "/logout", lambda w, o: "/logout", ANY_USER, form=lambda w, o: {}),
    PageRow("GET", "/lang", lambda w, o: "/lang?to=en&next=/", {}),
    # The stream of B's device: refused before it starts, as a read of its values would be.
    PageRow("GET", "/live", lambda w, o: f"/live?devices={w.device_b}", B_VALUES),
]
