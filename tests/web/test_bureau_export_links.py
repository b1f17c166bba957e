"""Each appeal and policy table links to its XLSX export, with the page's filters and language,
and the link answers a workbook."""

from __future__ import annotations

import html
import re

from shugu.store.registry.region_policies import NewGrantLine
from tests.api.conftest import World
from tests.web.conftest import sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_link(world: World, url: str) -> str:
    page = world.client.get(url)
    assert page.status_code == 200, page.text
    assert "导出 Excel" in page.text
    found = re.search(r'data-testid="export-xlsx" href="([^"]+)"', page.text)
    assert found, url
    link = html.unescape(found.group(1))
    answer = world.client.get(link)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    return link


def test_the_appeal_pages_link_their_exports(world: World) -> None:
    sign_in(world.client, "bureau")
    link = _export_link(world, "/appeals?status=closed&category=land")
    assert link.startswith("/api/appeals/export.xlsx?")
    assert "status=closed" in link and "category=land" in link and "lang=zh" in link
    assert _export_link(world, "/appeals/figures").startswith("/api/appeals/figures.xlsx")


def test_the_policy_pages_link_their_exports(world: World) -> None:
    line = NewGrantLine(world.ent_b, 5.0, [{"zh": "定额", "en": "fixed", "amount_wan": 5}], {})
    batch = world.registry.add_grant_batch("cl-cloud-devices", 0, [line], "bureau")
    sign_in(world.client, "bureau")
    assert _export_link(world, "/bureau/policies/dl-rd-major").startswith(
        "/api/region/policies/dl-rd-major/reach.xlsx"
    )
    assert _export_link(world, f"/bureau/grants/{batch.id}").startswith(
        f"/api/region/grant-batches/{batch.id}/export.xlsx"
    )
    assert _export_link(world, "/bureau/innovation-points").startswith(
        "/api/region/innovation-points/export.xlsx"
    )
