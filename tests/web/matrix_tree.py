"""Page-matrix rows of the asset tree and the device list."""

from __future__ import annotations

from tests.web.page_matrix import B_VALUES, HIDDEN, PageRow

#: B's plant without values: the operator sees it, the bureau needs B's consent (none here).
B_PLANT_READ = HIDDEN | {"bureau": 403, "park_official": 403}

ROWS: list[PageRow] = [
    PageRow("GET", "/e/{enterprise_id}/tree", lambda w, o: f"/e/{w.ent_b}/tree", B_PLANT_READ),
    # The figures of the tree's nodes are B's alarms and states: B's values.
    PageRow(
        "GET",
        "/e/{enterprise_id}/tree/status",
        lambda w, o: f"/e/{w.ent_b}/tree/status",
        B_VALUES | {"anonymous": 401},
        htmx=True,
    ),
    PageRow(
        "GET", "/e/{enterprise_id}/devices", lambda w, o: f"/e/{w.ent_b}/devices", B_PLANT_READ
    ),
    # Filtering by state reads B's values.
    PageRow(
        "GET",
        "/e/{enterprise_id}/devices",
        lambda w, o: f"/e/{w.ent_b}/devices?state=online&q=crah",
        B_VALUES,
    ),
]
