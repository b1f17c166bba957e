"""Page-matrix rows of adding a device (as every role, against enterprise B)."""

from __future__ import annotations

import itertools

from tests.web.page_matrix import B_MANAGE, PageRow

_names = itertools.count(1)

ROWS: list[PageRow] = [
    PageRow("GET", "/e/{enterprise_id}/onboard", lambda w, o: f"/e/{w.ent_b}/onboard", B_MANAGE),
    # Each role tries a fresh name: only the operator may add one of B's devices.
    PageRow(
        "POST",
        "/e/{enterprise_id}/onboard",
        lambda w, o: f"/e/{w.ent_b}/onboard",
        B_MANAGE,
        form=lambda w, o: {"name": f"matrix-{o['n']}", "profile": "crah", "asset_id": ""},
        setup=lambda w: {"n": next(_names)},
    ),
]
