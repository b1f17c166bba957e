"""Particulars through the API and the console on the API tests' world: an enterprise's
administrator records its lease, the bureau sees who recorded it, a bad value is refused with a
code (in the API) or beside its field (on the page), and the enterprise's policies page then shows
the rent policy's amount instead of no data."""

from __future__ import annotations

import re
from datetime import date

from tests.api.conftest import World, registry, world, world_resolver, world_settings
from tests.web.conftest import sign_in

__all__ = ["registry", "world", "world_resolver", "world_settings"]

LEASE = {"in_designated_building": True, "leased_area_m2": 300, "rent_yuan_m2_month": 50}


def _rent_policy(html: str) -> str:
    found = re.search(r'<details data-code="dl-designated-rent" data-status="(\w+)"', html)
    assert found, "no designated-building rent policy on the page"
    return found.group(1)


def test_recorded_through_the_api_then_the_policy_computes(world: World) -> None:
    c = world.client
    url = f"/api/enterprises/{world.ent_a}/particulars"
    world.registry.add_certification(world.ent_a, "科小", date(2025, 1, 1), None, None, "setup")
    sign_in(c, "admin_a")
    before = c.get(f"/e/{world.ent_a}/policies")
    assert before.status_code == 200 and _rent_policy(before.text) != "qualifies"
    assert "无数据" in before.text
    c.cookies.clear()

    put = c.put(url, json=LEASE, headers=world.as_("admin_a"))
    assert put.status_code == 200, put.text
    assert put.json()["recorded"] == 3
    again = c.put(url, json=LEASE, headers=world.as_("admin_a"))
    assert again.json()["recorded"] == 0
    seen = c.get(url, params={"lang": "en"}, headers=world.as_("bureau")).json()
    lease = {p["name"]: p for p in seen["particulars"]}
    assert lease["leased_area_m2"]["value"] == 300
    assert lease["leased_area_m2"]["recorded_by"] == "admin_a"
    assert lease["in_designated_building"]["value"] is True
    assert lease["rent_yuan_m2_month"]["label"] == "rent"
    assert lease["pre_ipo"]["value"] is None
    assert len(seen["history"]) == 3

    bad = c.put(url, json={"leased_area_m2": -3}, headers=world.as_("bureau"))
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "particular_out_of_range"
    unknown = c.put(url, json={"lease": 3}, headers=world.as_("bureau"))
    assert unknown.json()["error"]["code"] == "particular_unknown"

    sign_in(c, "admin_a")
    after = c.get(f"/e/{world.ent_a}/policies")
    assert _rent_policy(after.text) == "qualifies"
    # 300 m² × 50 元 × 12 = 18 万元 a year, two years free: 36 万元.
    assert re.search(r'data-code="dl-designated-rent"[^>]*>\s*<summary>[^<]* 36 万元', after.text)


def test_the_file_page_shows_and_records_particulars(world: World) -> None:
    c = world.client
    csrf = sign_in(c, "bureau")
    page = c.get(f"/e/{world.ent_b}/file")
    assert page.status_code == 200
    assert 'data-testid="particulars-form"' in page.text and "未登记" in page.text
    saved = c.post(
        f"/e/{world.ent_b}/file/particulars",
        data={"csrf_token": csrf, "pre_ipo": "yes", "invention_patents": "12"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    current = world.registry.particulars(world.ent_b)
    assert {k: r.value for k, r in current.items()} == {"pre_ipo": True, "invention_patents": 12}
    refused = c.post(
        f"/e/{world.ent_b}/file/particulars",
        data={"csrf_token": csrf, "pre_ipo": "yes", "invention_patents": "1.5"},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert re.search(r'id="e-invention_patents">[^<]+</p>', refused.text)
    assert world.registry.particulars(world.ent_b)["invention_patents"].value == 12
    # A park official reads the particulars but has no form.
    sign_in(c, "park_official")
    read = c.get(f"/e/{world.ent_b}/file")
    assert 'data-particular="pre_ipo"' in read.text
    assert 'data-testid="particulars-form"' not in read.text
