"""Page-matrix rows of the KPI pages: an enterprise's dashboard (enterprise-level figures, which
the bureau and the operator read for every enterprise), its line and machine pages (machine-level
figures: consent needed), and the region's KPI page (the bureau's and the operator's, and a park
official's narrowed to its park)."""

from __future__ import annotations

from tests.api.conftest import World
from tests.web.page_matrix import B_PLANT, B_VALUES, PARK_PAGES, PageRow


def _line_of_b(w: World) -> dict[str, int]:
    """B's line (made once: the matrix sets a row up for every role)."""
    for asset in w.registry.list_assets(w.ent_b):
        if asset.name == "乙一线":
            return {"line": asset.id}
    area = w.registry.create_asset(w.ent_b, "area", "乙机房一区", parent_id=w.site_b)
    return {"line": w.registry.create_asset(w.ent_b, "line", "乙一线", parent_id=area.id).id}


ROWS: list[PageRow] = [
    PageRow(
        "GET",
        "/e/{enterprise_id}/kpi",
        lambda w, o: f"/e/{w.ent_b}/kpi?period=week",
        B_PLANT,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/kpi/lines/{line_id}",
        lambda w, o: f"/e/{w.ent_b}/kpi/lines/{o['line']}?period=yesterday",
        B_VALUES,
        setup=_line_of_b,
    ),
    PageRow(
        "GET",
        "/e/{enterprise_id}/kpi/devices/{device_id}",
        lambda w, o: f"/e/{w.ent_b}/kpi/devices/{w.device_b}?period=month",
        B_VALUES,
    ),
    PageRow("GET", "/region/kpi", lambda w, o: "/region/kpi?period=last_month", PARK_PAGES),
]
