"""Page-matrix rows of the bureau's pages: the wall display, its parts, the enterprise list.

The bureau and the operator open them (each sees what its access allows); enterprise accounts
are refused whatever the district holds."""

from __future__ import annotations

from tests.web.page_matrix import BUREAU_PAGES, PageRow

ROWS: list[PageRow] = [
    PageRow("GET", "/region", lambda w, o: "/region", BUREAU_PAGES),
    PageRow("GET", "/region/figures", lambda w, o: "/region/figures", BUREAU_PAGES),
    PageRow("GET", "/region/machines", lambda w, o: "/region/machines?page=1", BUREAU_PAGES),
    PageRow("GET", "/region/charts.json", lambda w, o: "/region/charts.json", BUREAU_PAGES),
    PageRow(
        "GET",
        "/region/enterprises",
        lambda w, o: f"/region/enterprises?park={w.park_id}",
        BUREAU_PAGES,
    ),
]
