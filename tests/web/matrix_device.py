"""Page-matrix rows of the device page: the page, its chart data and its fragments and forms,
for enterprise B's device (B has granted no consent)."""

from __future__ import annotations

from tests.web.page_matrix import B_VALUES, HIDDEN, PageRow

#: The page shows the plant to whoever may see the device listed: the operator sees B's device
#: (without its values), the bureau needs consent even for that, B's park official never sees it.
B_DEVICE_PAGE = HIDDEN | {"bureau": 403, "park_official": 403}
#: Fragments and data are asked for by the page's scripts: without a session, 401.
B_VALUES_FETCHED = B_VALUES | {"anonymous": 401}

ROWS: list[PageRow] = [
    PageRow("GET", "/devices/{device_id}", lambda w, o: f"/devices/{w.device_b}", B_DEVICE_PAGE),
    PageRow(
        "GET",
        "/devices/{device_id}/chart",
        lambda w, o: f"/devices/{w.device_b}/chart?metric=supply_air_c&range=1h",
        B_VALUES_FETCHED,
        htmx=True,
    ),
    PageRow(
        "GET",
        "/devices/{device_id}/alarm-badge",
        lambda w, o: f"/devices/{w.device_b}/alarm-badge",
        B_VALUES_FETCHED,
        htmx=True,
    ),
    PageRow(
        "GET",
        "/devices/{device_id}/rejects",
        lambda w, o: f"/devices/{w.device_b}/rejects",
        B_VALUES_FETCHED,
        htmx=True,
    ),
    PageRow(
        "POST",
        "/devices/{device_id}/attributes/shared",
        lambda w, o: f"/devices/{w.device_b}/attributes/shared",
        B_VALUES_FETCHED,
        form=lambda w, o: {"key": "report_period_s", "value": "10"},
        htmx=True,
    ),
    PageRow(
        "POST",
        "/devices/{device_id}/rpc",
        lambda w, o: f"/devices/{w.device_b}/rpc",
        B_VALUES_FETCHED,
        form=lambda w, o: {"method": "reboot", "params": "{}"},
        htmx=True,
    ),
]
