"""The overdue projects, the tiers board, the policy list, the grant batches and an enterprise's
policies page link to their XLSX exports, with the page's filters and language, and each link
answers a workbook."""

from __future__ import annotations

import html
import re

from tests.api.conftest import World
from tests.api.test_region_list_exports import _batch, _late_project
from tests.web.conftest import sign_in
from tests.web.test_bureau_export_links import _export_link


def test_the_overdue_projects_and_the_tiers_board_link_their_exports(world: World) -> None:
    _late_project(world)
    sign_in(world.client, "bureau")
    link = _export_link(world, "/projects/overdue")
    assert link == "/api/projects/overdue/export.xlsx?lang=zh"
    link = _export_link(world, f"/bureau/tiers?park={world.park_id}")
    assert link.startswith("/api/region/tiers/evaluation/export.xlsx?")
    assert f"park={world.park_id}" in link and "lang=zh" in link
    world.client.get("/lang?to=en&next=/")
    page = world.client.get("/bureau/tiers")
    assert "Export Excel" in page.text
    found = re.search(r'data-testid="export-xlsx" href="([^"]+)"', page.text)
    assert found and html.unescape(found.group(1)).endswith("?lang=en")


def test_the_policy_grant_and_entitlement_pages_link_their_exports(world: World) -> None:
    batch_id = _batch(world)
    world.registry.decide_grant_batch(batch_id, "bureau", approve=True)
    sign_in(world.client, "bureau")
    assert _export_link(world, "/bureau/policies") == "/api/region/policies/export.xlsx?lang=zh"
    link = _export_link(world, "/bureau/grants")
    assert link == "/api/region/grant-batches/export.xlsx?lang=zh"
    sign_in(world.client, "admin_b")
    link = _export_link(world, f"/e/{world.ent_b}/policies")
    assert link == f"/api/region/enterprises/{world.ent_b}/entitlements/export.xlsx?lang=zh"
