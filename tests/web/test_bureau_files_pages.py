"""The enterprise-file pages (一企一档): the district's table with its filters, one enterprise's
file with the bureau's and the enterprise's forms (the server's field errors shown beside their
fields, in the user's language), the tiers board with criteria saved as new versions, and the
XLSX import with every bad row reported by number."""

from __future__ import annotations

import io
import re
from datetime import date

from fastapi.testclient import TestClient
from openpyxl import Workbook  # type: ignore[import-untyped]

from tests.api.conftest import World
from tests.web.conftest import sign_in

USCC_A = "91110000600037341L"


def _page(client: TestClient, url: str, status: int = 200) -> str:
    answer = client.get(url)
    assert answer.status_code == status, answer.text
    return str(answer.text)


def _post(client: TestClient, url: str, csrf: str, data: dict[str, str], status: int = 303) -> str:
    answer = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == status, answer.text
    return str(answer.text)


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="e-{name}">(.*?)</p>', html)
    assert found, f"no error beside {name}"
    return found.group(1)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-enterprise="(\d+)"', html)


def _english(client: TestClient) -> None:
    client.cookies.set("shugu_lang", "en")


# -- the district's table ------------------------------------------------------------------


def test_the_bureau_lists_every_file_and_filters_by_tag_and_key_flag(world: World) -> None:
    world.registry.update_enterprise_file(world.ent_b, {"key_enterprise": True})
    sign_in(world.client, "bureau")
    html = _page(world.client, "/bureau/files")
    assert set(_rows(html)) == {str(world.ent_a), str(world.ent_b)}
    assert "企业档案（一企一档）" in html and USCC_A in html
    assert 'data-tag="key_enterprise"' in html  # B's tag as a chip
    assert _rows(_page(world.client, "/bureau/files?tag=key_enterprise")) == [str(world.ent_b)]
    assert _rows(_page(world.client, "/bureau/files?key=no")) == [str(world.ent_a)]
    export = re.search(r'href="([^"]+)" data-testid="files-export"', html)
    assert export and "format=xlsx" in export.group(1)


def test_a_filter_the_service_refuses_is_said_not_crashed_on(world: World) -> None:
    sign_in(world.client, "bureau")
    html = _page(world.client, "/bureau/files?tag=no-such-tag", 422)
    assert "没有这个标签" in html and not _rows(html)


def test_park_officials_see_their_park_and_enterprises_are_refused(world: World) -> None:
    sign_in(world.client, "park_official")
    assert len(_rows(_page(world.client, "/bureau/files"))) == 2
    sign_in(world.client, "park_other")
    assert _rows(_page(world.client, "/bureau/files")) == []
    sign_in(world.client, "viewer_a")
    _page(world.client, "/bureau/files", 403)
    sign_in(world.client, "operator")
    _page(world.client, "/bureau/files", 403)


# -- one enterprise's file -----------------------------------------------------------------


def test_an_enterprise_reads_its_own_file_without_the_bureau_s_form(world: World) -> None:
    sign_in(world.client, "viewer_a")
    html = _page(world.client, f"/e/{world.ent_a}/file")
    assert 'data-testid="file-page"' in html and 'data-testid="file-form"' not in html
    assert 'data-testid="figures-form"' not in html  # a viewer files nothing
    _page(world.client, f"/e/{world.ent_b}/file", 404)
    sign_in(world.client, "admin_a")
    html = _page(world.client, f"/e/{world.ent_a}/file")
    assert 'data-testid="figures-form"' in html and 'data-testid="file-form"' not in html


def test_the_registry_form_shows_the_server_s_field_error_in_each_language(
    world: World,
) -> None:
    csrf = sign_in(world.client, "bureau")
    url = f"/e/{world.ent_b}/file"
    html = _post(world.client, url, csrf, {"industry_code": "65A0"}, 422)
    assert "4 位数字" in _field_error(html, "industry_code")
    assert 'value="65A0"' in html  # what was typed stays in the field
    _english(world.client)
    html = _post(world.client, url, csrf, {"established_on": "31/12/2020"}, 422)
    assert "year-month-day" in _field_error(html, "established_on")
    _post(world.client, url, csrf, {"industry_code": "6510", "key_enterprise": "1"})
    record = world.registry.enterprise_file(world.ent_b)
    assert record.industry_code == "6510" and record.key_enterprise and not record.listed


def test_a_year_s_figures_are_filed_and_a_bad_one_is_named(world: World) -> None:
    csrf = sign_in(world.client, "admin_a")
    url = f"/e/{world.ent_a}/file/figures"
    html = _post(world.client, url, csrf, {"year": "2024", "revenue_wan": "很多"}, 422)
    assert "不小于 0 的数字" in _field_error(html, "revenue_wan")
    html = _post(world.client, url, csrf, {"year": "二〇二四"}, 422)
    assert "1949" in _field_error(html, "year")
    _post(world.client, url, csrf, {"year": "2024", "revenue_wan": "1,200.5", "staff": "42"})
    html = _page(world.client, f"/e/{world.ent_a}/file")
    assert "1,200.5<" in html and 'value="1200.5"' in html and "营业收入（万元）" in html
    (figures,) = world.registry.year_figures(world.ent_a)
    assert figures.values["revenue_wan"] == 1200.5 and figures.values["staff"] == 42


def test_the_bureau_adds_edits_and_removes_a_certification(world: World) -> None:
    csrf = sign_in(world.client, "bureau")
    base = f"/e/{world.ent_b}/file/certifications"
    bad = {"kind": "高企", "granted_on": "2024-05-01", "expires_on": "2023-01-01"}
    html = _post(world.client, base, csrf, bad, 422)
    assert "晚于认定日" in _field_error(html, "expires_on")
    _post(world.client, base, csrf, {**bad, "expires_on": "2027-04-30", "number": "GR2024"})
    (cert,) = world.registry.certifications(world.ent_b)
    edited = {"kind": "专精特新", "granted_on": "2024-05-01", "expires_on": "", "number": ""}
    _post(world.client, f"{base}/{cert.id}", csrf, edited)
    (cert,) = world.registry.certifications(world.ent_b)
    assert cert.kind == "专精特新" and cert.expires_on is None
    html = _page(world.client, f"/e/{world.ent_b}/file")
    assert f'data-certification="{cert.id}"' in html
    _post(world.client, f"{base}/{cert.id}/delete", csrf, {})
    assert world.registry.certifications(world.ent_b) == []


def test_the_file_says_what_a_close_tier_lacks_in_words(world: World) -> None:
    criteria = {"fact": "revenue_cagr_3y", "op": ">=", "value": 20}
    world.registry.save_tier_version("dengling", criteria, date(2000, 1, 1), "", "bureau")
    world.registry.put_year_figures(world.ent_b, 2021, {"revenue_wan": 1000.0}, "t")
    world.registry.put_year_figures(world.ent_b, 2024, {"revenue_wan": 1609.9}, "t")
    sign_in(world.client, "park_official")
    html = _page(world.client, f"/e/{world.ent_b}/file")
    row = re.search(r'<tr data-tier="dengling" data-standing="close">(.*?)</tr>', html, re.S)
    assert row, "B is close to the gazelle tier"
    assert "营收三年复合增长率 17.2 %，需 ≥ 20 %" in row.group(1)
    _english(world.client)
    html = _page(world.client, f"/e/{world.ent_b}/file")
    assert "revenue CAGR over 3 years 17.2 %" in html


# -- the tiers board and the imports ---------------------------------------------------------


def test_the_bureau_saves_tier_criteria_as_a_new_version(world: World) -> None:
    csrf = sign_in(world.client, "bureau")
    html = _page(world.client, "/bureau/tiers")
    assert 'id="tier-dengling"' in html and "revenue_cagr_3y" in html
    url = "/bureau/tiers/dengling"
    day = {"effective_from": "2025-01-01"}
    html = _post(world.client, url, csrf, {"criteria": "all: [", **day}, 422)
    error = re.search(r'data-testid="criteria-error">(.*?)<', html)
    assert error and "YAML" in error.group(1)
    html = _post(world.client, url, csrf, {"criteria": "{fact: nonsense, op: '>='}", **day}, 422)
    assert 'data-testid="criteria-error"' in html
    html = _post(world.client, url, csrf, {"criteria": "{fact: staff, op: '>=', value: 1}"}, 422)
    assert "2024-06-30" in html  # the date's error, in Chinese
    text = "fact: revenue_wan\nop: '>='\nvalue: 30000\n"
    _post(world.client, url, csrf, {"criteria": text, **day, "note": "2025 年认定办法"})
    (saved,) = world.registry.tier_versions("dengling")
    assert saved.version == 1
    assert saved.criteria == {"fact": "revenue_wan", "op": ">=", "value": 30000}
    assert "第 1 版" in _page(world.client, "/bureau/tiers")
    sign_in(world.client, "park_official")
    html = _page(world.client, "/bureau/tiers")
    assert "tier-form-dengling" not in html and "revenue_wan" in html


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_upload_is_imported_and_every_bad_row_reported(world: World) -> None:
    csrf = sign_in(world.client, "bureau")
    assert 'href="/api/region/imports/enterprises/template?lang=zh"' in _page(
        world.client, "/bureau/imports"
    )
    data = _workbook(
        [
            ["统一社会信用代码", "企业名称", "所属园区", "国民经济行业代码"],
            [USCC_A, "甲纺织", "长乐纺织园", "1751"],
            ["NOT-A-CODE", "坏代码", "长乐纺织园", None],
            ["91110108551385082Q", "乙数据中心", "没有的园区", None],
        ]
    )
    files = {"upload": ("firms.xlsx", data, "application/octet-stream")}
    answer = world.client.post(
        "/bureau/imports/enterprises", data={"csrf_token": csrf}, files=files
    )
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert re.search(r'data-count="updated">1<', html)
    assert re.findall(r'<tr data-row="(\d+)">', html) == ["3", "4"]
    assert "没有名为“没有的园区”的园区" in html
    assert world.registry.enterprise_file(world.ent_a).industry_code == "1751"
    junk = {"upload": ("x.xlsx", b"not a workbook", "application/octet-stream")}
    answer = world.client.post(
        "/bureau/imports/yearly-figures", data={"csrf_token": csrf}, files=junk
    )
    assert answer.status_code == 422 and "另存为 .xlsx" in answer.text
