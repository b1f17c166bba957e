"""Page-matrix rows of indicators and targets: the bureau, park officials and the operator read;
the bureau alone sets targets and imports values; enterprise accounts are refused."""

from __future__ import annotations

from tests.web.page_matrix import SIGN_IN, PageRow

READ = SIGN_IN | {"viewer_a": 403, "admin_a": 403}
BUREAU_ONLY = READ | {"park_official": 403, "park_other": 403, "operator": 403}
#: A form without a workbook: the bureau is told the upload is unreadable.
IMPORT = BUREAU_ONLY | {"bureau": 422}

ROWS: list[PageRow] = [
    PageRow("GET", "/region/targets", lambda w, o: "/region/targets?year=2025", READ),
    PageRow("GET", "/region/targets.xlsx", lambda w, o: "/region/targets.xlsx", READ),
    PageRow(
        "POST",
        "/region/targets/{year}/{code}",
        lambda w, o: "/region/targets/2026/smart_factories",
        BUREAU_ONLY,
        form=lambda w, o: {"target": "40", "baseline": "30"},
    ),
    PageRow("GET", "/region/indicators", lambda w, o: "/region/indicators", READ),
    PageRow("GET", "/region/bureau-panels", lambda w, o: "/region/bureau-panels", READ),
    PageRow(
        "GET",
        "/region/indicators/template.xlsx",
        lambda w, o: "/region/indicators/template.xlsx",
        READ,
    ),
    PageRow(
        "POST",
        "/region/indicators/import",
        lambda w, o: "/region/indicators/import",
        IMPORT,
        form=lambda w, o: {},
    ),
]
