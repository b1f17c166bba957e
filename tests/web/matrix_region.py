"""Page-matrix rows of the bureau's pages: the wall display, its parts, the enterprise list.

The bureau and the operator open them (each sees what its access allows), a park official sees
its own park only; enterprise accounts are refused whatever the district holds."""

from __future__ import annotations

from tests.web.page_matrix import PARK_PAGES, PageRow

ROWS: list[PageRow] = [
    PageRow("GET", "/region", lambda w, o: "/region", PARK_PAGES),
    PageRow("GET", "/region/figures", lambda w, o: "/region/figures", PARK_PAGES),
    PageRow("GET", "/region/machines", lambda w, o: "/region/machines?page=1", PARK_PAGES),
    PageRow("GET", "/region/charts.json", lambda w, o: "/region/charts.json", PARK_PAGES),
    PageRow(
        "GET",
        "/region/enterprises",
        lambda w, o: f"/region/enterprises?park={w.park_id}",
        PARK_PAGES,
    ),
]
