"""The operation, project and tier tables link to their XLSX exports, with the page's filters
and language, and each link answers a workbook."""

from __future__ import annotations

from tests.api.conftest import World
from tests.web.conftest import sign_in
from tests.web.test_bureau_export_links import _export_link


def test_the_operation_lists_link_their_exports(world: World) -> None:
    sign_in(world.client, "bureau")
    link = _export_link(world, "/bureau/operation/warnings?cleared=1")
    assert link.startswith("/api/region/warnings/export.xlsx?")
    assert "include_cleared=true" in link and "lang=zh" in link
    link = _export_link(world, "/bureau/operation/missing?month=2026-11")
    assert link.startswith("/api/region/monthly-reports/missing/export.xlsx?")
    assert "month=2026-11" in link
