"""The KPI pages (指标看板) over the KPI API tests' machines (``tests/api/kpi_world.py``: read
its docstring for the figures worked out by hand): headline figures, tables worst first with the
bad machine marked, the shift table, who sees what, the period picker, both languages, and the
exports the tables link to."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from shugu.analytics.baseline import fit_baseline
from shugu.analytics.kpi_export import XLSX_MEDIA_TYPE
from shugu.analytics.periods import DAY_MS, day_start
from shugu.domain.timeutil import parse_instant
from tests.api.conftest import World
from tests.api.kpi_world import KpiWorld, build, loom_rows, store_rows
from tests.web.conftest import sign_in

#: 2026-11-10, the day of kpi_world's points.
DAY = {"period": "custom", "start": "2026-11-10", "end": "2026-11-10"}


@pytest.fixture
def kw(world: World) -> KpiWorld:
    return build(world)


def page(kw: KpiWorld, who: str, url: str, status: int = 200, **params: str) -> str:
    sign_in(kw.w.client, who)
    answer = kw.w.client.get(url, params=params)
    assert answer.status_code == status, answer.text
    return answer.text


def section(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</section>', html, re.S)
    assert found, f"no section {testid}"
    return found.group(1)


def row_ids(html: str, testid: str) -> list[int]:
    return [int(g) for g in re.findall(r'data-group="(-?\d+)"', section(html, testid))]


def card(html: str, name: str) -> str:
    found = re.search(rf'data-kpi="{name}">.*?class="kpi-value">([^<]*)<', html, re.S)
    assert found, f"no card {name}"
    return found.group(1)


def charts(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="kpi-charts">(.*?)</script>', html)
    assert found
    options: dict[str, Any] = json.loads(found.group(1))
    return options


def test_the_enterprise_dashboard_shows_its_figures_and_its_machines_worst_first(
    kw: KpiWorld,
) -> None:
    w = kw.w
    html = page(kw, "admin_a", f"/e/{w.ent_a}/kpi", **DAY)
    # A's looms ran 200 of 240 and 105 of 120 minutes that day: 305 / 360.
    assert card(html, "efficiency") == "84.72"
    # Warp, then weft: one stop each, so the Pareto's line reaches 100 % at the second bar.
    pareto = charts(html)["pareto"]
    assert pareto["series"][0]["data"] == [1, 1, 0, 0]
    assert pareto["series"][1]["data"] == [50.0, 100.0, 100.0, 100.0]
    # Worst first; the silent loom-001 has no efficiency and comes last.
    assert row_ids(html, "kpi-machines") == [kw.loom_002, kw.loom_003, w.device_a]
    machines = section(html, "kpi-machines")
    assert f'href="/e/{w.ent_a}/kpi/devices/{kw.loom_002}?period=custom' in machines
    assert "83.33" in machines and "87.50" in machines
    lines = section(html, "kpi-lines")
    assert f'href="/e/{w.ent_a}/kpi/lines/{kw.line_a}?period=custom' in lines
    # The line's meter drew 60 kWh for the 61 m the enterprise's looms wove that day.
    assert card(html, "Energy per unit of output") == "0.984"
    assert "kpi-outlier" not in html


def test_energy_per_unit_is_drawn_against_the_baseline_with_the_energy_avoided(
    kw: KpiWorld,
) -> None:
    """A baseline of 10 kWh a day plus 0.9 kWh per metre expects 64.9 kWh for the day's 61 m;
    the line's meter drew 60."""
    w = kw.w
    first = day_start(parse_instant("2026-10-01", "t"))
    days = [first + i * DAY_MS for i in range(20)]
    output = [40.0 + 3 * i for i in range(20)]
    model = fit_baseline(days, [10 + 0.9 * o for o in output], output, use_weather=False)
    w.registry.save_energy_baseline(
        w.ent_a,
        reference_start=datetime.fromtimestamp(first / 1000, UTC),
        reference_end=datetime.fromtimestamp((first + 20 * DAY_MS) / 1000, UTC),
        output_fact="fabric_m",
        output_unit="m",
        use_weather=False,
        model=model.to_dict(),
        fitted_by="admin_a",
    )
    html = page(kw, "viewer_a", f"/e/{w.ent_a}/kpi", **DAY)
    energy = charts(html)["energy"]
    actual, expected = (s["data"] for s in energy["series"])
    assert (actual[-1], expected[-1]) == (0.9836, 1.064)
    baseline = section(html, "kpi-energy")
    assert "2026-10-01 – 2026-10-20" in baseline
    assert "本期对照基准节约电能 4.9 kWh（7.6%）" in re.sub(r"\s+", " ", baseline)


def test_a_machine_far_below_its_enterprise_stands_out_first(kw: KpiWorld) -> None:
    w = kw.w
    bad = w.registry.create_device(w.ent_a, "loom-004", "loom", asset_id=kw.line_a)[0].id
    kw.services.analytics.places.invalidate()
    # A bad warp beam: running one minute in four from 08:00 to 10:00.
    store_rows(kw.services, loom_rows(bad, 120, 240, lambda m: m % 4 == 0, 1))
    html = page(kw, "viewer_a", f"/e/{w.ent_a}/kpi", **DAY)
    assert row_ids(html, "kpi-machines")[0] == bad
    first = re.search(r"<tr[^>]*data-group=\"(\d+)\"", section(html, "kpi-machines"))
    assert first and int(first.group(1)) == bad
    marked = re.findall(r'<tr class="kpi-outlier" data-group="(\d+)"', html)
    assert marked == [str(bad)]
    # Sorted the other way round by the same column, it comes last among the defined.
    html = page(kw, "viewer_a", f"/e/{w.ent_a}/kpi", **DAY, sort="efficiency", order="desc")
    assert row_ids(html, "kpi-machines") == [kw.loom_003, kw.loom_002, bad, w.device_a]


def test_the_machine_page_lists_its_shifts_and_marks_the_poor_one(kw: KpiWorld) -> None:
    w = kw.w
    html = page(kw, "admin_a", f"/e/{w.ent_a}/kpi/devices/{kw.loom_002}", **DAY)
    assert card(html, "efficiency") == "83.33"
    shifts = section(html, "kpi-shifts")
    rows = re.findall(r"<tr( class=\"kpi-outlier\")?>\s*<td>([^<]*)<", shifts)
    # The default calendar's day shift 08:00–20:00 and the night shift before it: 06:00–08:00
    # was stopped for its first 30 minutes (75 %), 08:00–10:00 ran 110 of 120 (91.67 %).
    labelled = {label.strip(): bool(marked) for marked, label in rows}
    assert labelled["2026-11-10 白班"] is False
    assert labelled["2026-11-09 夜班"] is True
    assert "91.67" in shifts and "75.00" in shifts
    # Newest first: the night shift that begins on the day ends the table's span.
    assert [label.strip() for _, label in rows[:3]] == [
        "2026-11-10 夜班",
        "2026-11-10 白班",
        "2026-11-09 夜班",
    ]
    hours = charts(html)["hours"]
    assert hours["xAxis"]["data"][8] == "11-10 08:00"
    assert hours["series"][0]["data"][9] == 100.0
    assert f'href="/devices/{kw.loom_002}"' in html


def test_the_line_page_narrows_to_the_line(kw: KpiWorld) -> None:
    w = kw.w
    html = page(kw, "viewer_a", f"/e/{w.ent_a}/kpi/lines/{kw.line_a}", **DAY)
    assert row_ids(html, "kpi-machines") == [kw.loom_002, kw.loom_003]
    assert card(html, "efficiency") == "84.72"
    export = re.search(r'href="([^"]+)" data-testid="kpi-machines-xlsx"', html)
    assert export and f"line={kw.line_a}" in export.group(1)
    # Another enterprise's line, and an asset that is no line, are not found.
    assert page(kw, "viewer_a", f"/e/{w.ent_a}/kpi/lines/{kw.line_b}", 404)
    assert page(kw, "viewer_a", f"/e/{w.ent_a}/kpi/lines/{w.site_a}", 404)
    assert page(kw, "viewer_a", f"/e/{w.ent_a}/kpi/devices/{kw.loom_b1}", 404)


def test_the_bureau_sees_the_enterprise_level_and_machines_only_with_consent(
    kw: KpiWorld,
) -> None:
    w = kw.w
    html = page(kw, "bureau", f"/e/{w.ent_a}/kpi", **DAY)
    assert card(html, "efficiency") == "84.72"
    assert 'data-testid="kpi-no-consent"' in html
    assert 'data-testid="kpi-machines"' not in html
    page(kw, "bureau", f"/e/{w.ent_a}/kpi/lines/{kw.line_a}", 403)
    page(kw, "bureau", f"/e/{w.ent_a}/kpi/devices/{kw.loom_002}", 403)
    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "KPI", "bureau")
    html = page(kw, "bureau", f"/e/{w.ent_a}/kpi", **DAY)
    assert row_ids(html, "kpi-machines") == [kw.loom_002, kw.loom_003, w.device_a]
    page(kw, "bureau", f"/e/{w.ent_a}/kpi/devices/{kw.loom_002}")


def test_the_region_page_ranks_the_enterprises(kw: KpiWorld) -> None:
    w = kw.w
    html = page(kw, "bureau", "/region/kpi", **DAY)
    # Both enterprises' looms: 305 + 60 of 480 minutes; B's loom ran 60 of 120.
    assert card(html, "efficiency") == "76.04"
    league = section(html, "league-efficiency")
    best = re.findall(r'data-enterprise="(\d+)"', league)
    assert best == [str(w.ent_a), str(w.ent_b)]
    assert f'href="/e/{w.ent_a}/kpi?period=custom' in league
    parks = section(html, "kpi-parks")
    assert "长乐纺织园" in parks and "76.04" in parks
    assert "0502" in section(html, "kpi-industries")
    assert "/api/kpis/compare?" in parks
    page(kw, "viewer_a", "/region/kpi", 403)


def test_the_exports_the_tables_link_to_answer_workbooks(kw: KpiWorld) -> None:
    w = kw.w
    sign_in(w.client, "admin_a")
    html = w.client.get(f"/e/{w.ent_a}/kpi", params=DAY).text
    links = re.findall(r'href="([^"]+)" data-testid="[^"]*-xlsx"', html)
    assert len(links) == 2
    sign_in(w.client, "bureau")
    html += w.client.get("/region/kpi", params=DAY).text
    links = re.findall(r'href="([^"]+)" data-testid="[^"]*-xlsx"', html)
    assert len(links) >= 4
    for link in links:
        url = link.replace("&amp;", "&")
        who = "bureau" if "enterprise=" not in url else "admin_a"
        answer = w.client.get(url, headers=w.as_(who))
        assert answer.status_code == 200, (url, answer.text)
        assert answer.headers["content-type"].startswith(XLSX_MEDIA_TYPE)


def test_bad_period_input_shows_the_default_period_with_the_reason(kw: KpiWorld) -> None:
    w = kw.w
    url = f"/e/{w.ent_a}/kpi"
    html = page(kw, "admin_a", url, 422, period="custom", start="2026-11-10", end="2026-11-01")
    assert "结束日期须不早于开始日期" in html
    html = page(kw, "admin_a", url, 422, period="custom", start="2020-01-01", end="2026-11-01")
    assert "最多选择 366 天" in html
    page(kw, "admin_a", url, 422, period="fortnight")
    page(kw, "bureau", "/region/kpi", 422, period="shift")
    for key in ("today", "shift", "yesterday", "week", "month", "last_month"):
        page(kw, "admin_a", url, period=key)
        page(kw, "admin_a", f"/e/{w.ent_a}/kpi/devices/{kw.loom_002}", period=key)
        page(kw, "bureau", "/region/kpi", 422 if key == "shift" else 200, period=key)


def test_english_is_a_switch_away(kw: KpiWorld) -> None:
    w = kw.w
    sign_in(w.client, "admin_a")
    w.client.get("/lang?to=en&next=/")
    html = w.client.get(f"/e/{w.ent_a}/kpi", params=DAY).text
    assert "Loom efficiency" in html and "vs. previous period" in html
    assert "Stops by cause" in html and "织机效率" not in html
    assert charts(html)["pareto"]["xAxis"]["data"][:2] == ["Warp", "Weft"]


def test_the_navigation_leads_to_the_kpi_pages(world: World) -> None:
    sign_in(world.client, "viewer_a")
    html = world.client.get(f"/e/{world.ent_a}/kpi").text
    assert f'<a href="/e/{world.ent_a}/kpi" class="active" aria-current="page">' in html
    assert 'data-testid="kpi-none"' not in html  # loom-001 is a loom: it has KPIs
    sign_in(world.client, "bureau")
    assert 'href="/region/kpi"' in world.client.get("/region/enterprises").text
    sign_in(world.client, "operator")
    assert 'href="/region/kpi"' in world.client.get("/operator/health").text


def test_a_machine_named_like_markup_stays_inert_in_the_chart_data(kw: KpiWorld) -> None:
    w = kw.w
    w.registry.create_device(w.ent_a, "</script><b>x", "loom", asset_id=kw.line_a)
    kw.services.analytics.places.invalidate()
    html = page(kw, "admin_a", f"/e/{w.ent_a}/kpi", **DAY)
    assert "</script><b>" not in html
    assert "&lt;/script&gt;&lt;b&gt;x" in html
