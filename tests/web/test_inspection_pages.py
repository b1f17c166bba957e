"""The inspection pages: plans with their checks and times, rounds with their counts, "run now"
making a round whose page shows pass, fail and no data per device, and the reports of a round
and of a day as HTML, PDF and XLSX, in the user's language; scoped as the API scopes them."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, cast

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader

from shugu.api.services import Services
from shugu.domain.timeutil import utc_now_ms
from tests.api.conftest import World
from tests.web.conftest import csrf_headers, sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PLAN = {
    "name": "织机日常巡检",
    "times": ["03:17", "15:17"],
    "checks": [
        {
            "label_zh": "织机车速",
            "label_en": "Loom speed",
            "devices": {"profile": "loom"},
            "metric": "speed_rpm",
            "below": 400,
            "above": 900,
            "unit": "rpm",
        }
    ],
}


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


@dataclass
class Mill:
    w: World
    services: Services
    plan_id: int
    devices: dict[str, int]


@pytest.fixture
def mill(world: World) -> Mill:
    """Enterprise A's weaving hall: one loom at speed, one far too slow, one silent."""
    services = services_of(world)
    services.monitor.stop()  # the test reconfigures the monitor itself, without a race
    registry = world.registry
    now = utc_now_ms() - 30_000
    devices = {"loom-001": world.device_a}
    tokens = {"loom-001": world.device_token_a}
    for name in ("loom-002", "loom-003"):
        device, token = registry.create_device(world.ent_a, name, "loom", asset_id=world.site_a)
        devices[name], tokens[name] = device.id, token
    for name, speed in (("loom-001", 620.0), ("loom-002", 120.0)):
        answer = world.client.post(
            f"/api/v1/{tokens[name]}/telemetry", json={"ts": now, "values": {"speed_rpm": speed}}
        )
        assert answer.json()["accepted"] == 1, answer.text
    services.monitor.configure()
    plan_id = registry.put_config("plan", world.ent_a, PLAN).id
    return Mill(world, services, plan_id, devices)


def run_now(m: Mill, who: str = "admin_a") -> str:
    token = sign_in(m.w.client, who)
    answer = m.w.client.post(
        f"/e/{m.w.ent_a}/inspection/plans/{m.plan_id}/run",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(rf"/e/{m.w.ent_a}/inspection/rounds/\d+", location), location
    return location


def test_the_page_lists_plans_with_checks_and_times_and_rounds_with_counts(mill: Mill) -> None:
    w = mill.w
    run_now(mill)
    sign_in(w.client, "viewer_a")
    page = w.client.get(f"/e/{w.ent_a}/inspection")
    assert page.status_code == 200, page.text
    html = page.text
    assert "织机日常巡检" in html and "织机车速" in html
    assert "03:17" in html and "15:17" in html and "speed_rpm" in html
    assert "400 – 900 rpm" in html and "全部织机设备" in html
    assert "立即巡检" in html  # a viewer reads the values, so runs a round too
    [row] = re.findall(r'<tr data-round-id="\d+".*?</tr>', html, re.S)
    counts = re.findall(r'<span class="count outcome-(\w+)[^"]*">(\d+)</span>', row)
    assert counts == [("pass", "1"), ("fail", "1"), ("no_data", "1")]
    assert "手动" in row and "admin_a" in row
    for fmt in ("html", "pdf", "xlsx"):
        assert f"/report?format={fmt}" in row


def test_run_now_shows_each_devices_result_failing_first(mill: Mill) -> None:
    w = mill.w
    location = run_now(mill)
    page = w.client.get(location)
    assert page.status_code == 200, page.text
    outcomes = re.findall(
        r'<tr class="result-\w+" data-outcome="(\w+)" data-device-id="(\d+)"', page.text
    )
    devices = mill.devices
    assert outcomes == [
        ("fail", str(devices["loom-002"])),
        ("no_data", str(devices["loom-003"])),
        ("pass", str(devices["loom-001"])),
    ]
    assert "不合格" in page.text and "无数据" in page.text and "合格" in page.text
    assert "120" in page.text and "620" in page.text
    # Only the failing ones, as a fragment for htmx.
    failing = w.client.get(location, params={"outcome": "fail"}, headers={"HX-Request": "true"})
    assert failing.status_code == 200
    assert "<html" not in failing.text
    assert re.findall(r'data-outcome="(\w+)" data-device-id', failing.text) == ["fail"]


def test_the_round_speaks_english_when_chosen(mill: Mill) -> None:
    w = mill.w
    location = run_now(mill)
    w.client.cookies.set("shugu_lang", "en")
    page = w.client.get(location).text
    assert "Loom speed" in page and "Fail" in page and "No data" in page
    assert "织机车速" not in page


def test_reports_download_as_html_pdf_and_xlsx_in_the_users_language(mill: Mill) -> None:
    w = mill.w
    location = run_now(mill)
    html = w.client.get(f"{location}/report", params={"format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "织机车速" in html.text and "loom-002" in html.text
    pdf = w.client.get(f"{location}/report", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "loom-002" in text
    w.client.cookies.set("shugu_lang", "en")
    xlsx = w.client.get(f"{location}/report", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value}
    assert "Loom speed" in cells and "loom-002" in cells
    day = w.client.get(f"/e/{w.ent_a}/inspection/report", params={"format": "xlsx"})
    assert day.status_code == 200 and day.headers["content-type"] == XLSX
    wrong = w.client.get(f"{location}/report", params={"format": "doc"})
    assert wrong.status_code == 422 and 'data-code="invalid"' in wrong.text


def test_bad_filters_answer_422_with_the_error_beside_the_field(mill: Mill) -> None:
    w = mill.w
    sign_in(w.client, "admin_a")
    page = w.client.get(f"/e/{w.ent_a}/inspection", params={"date": "2026-13-45", "plan": "x"})
    assert page.status_code == 422
    assert page.text.count('class="field-error"') == 2


def test_the_filters_narrow_the_rounds_to_a_plan_and_a_day(mill: Mill) -> None:
    w = mill.w
    run_now(mill)
    other = w.registry.put_config("plan", w.ent_a, {**PLAN, "name": "夜班巡检"}).id
    sign_in(w.client, "admin_a")
    everything = w.client.get(f"/e/{w.ent_a}/inspection").text
    assert len(re.findall(r"<tr data-round-id=", everything)) == 1
    mine = w.client.get(f"/e/{w.ent_a}/inspection", params={"plan": str(other)}).text
    assert "<tr data-round-id=" not in mine and "没有符合条件的巡检记录" in mine
    long_ago = w.client.get(f"/e/{w.ent_a}/inspection", params={"date": "2020-01-01"}).text
    assert "<tr data-round-id=" not in long_ago


def test_another_enterprises_round_and_plan_are_not_found(mill: Mill) -> None:
    w = mill.w
    location = run_now(mill)
    token = sign_in(w.client, "admin_b")
    assert w.client.get(location).status_code == 404
    assert w.client.get(location.replace(f"/e/{w.ent_a}/", f"/e/{w.ent_b}/")).status_code == 404
    assert w.client.get(f"{location}/report?format=pdf").status_code == 404
    run = w.client.post(
        f"/e/{w.ent_b}/inspection/plans/{mill.plan_id}/run", headers=csrf_headers(token)
    )
    assert run.status_code == 404


def test_the_bureau_reads_rounds_with_consent_but_does_not_run_them(mill: Mill) -> None:
    w = mill.w
    location = run_now(mill)
    token = sign_in(w.client, "bureau")
    assert w.client.get(f"/e/{w.ent_a}/inspection").status_code == 403
    w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "月报", "bureau")
    page = w.client.get(f"/e/{w.ent_a}/inspection")
    assert page.status_code == 200 and "织机日常巡检" in page.text
    assert "立即巡检" not in page.text
    assert w.client.get(location).status_code == 200
    run = w.client.post(
        f"/e/{w.ent_a}/inspection/plans/{mill.plan_id}/run", headers=csrf_headers(token)
    )
    assert run.status_code == 403


def test_the_operator_sees_plans_but_rounds_only_with_consent(mill: Mill) -> None:
    w = mill.w
    run_now(mill)
    sign_in(w.client, "operator")
    page = w.client.get(f"/e/{w.ent_a}/inspection")
    assert page.status_code == 200
    assert "织机日常巡检" in page.text and 'data-testid="rounds-need-consent"' in page.text
    assert "<tr data-round-id=" not in page.text and "立即巡检" not in page.text


def test_a_plan_without_times_runs_only_by_hand(world: World) -> None:
    body: dict[str, Any] = {**PLAN, "times": []}
    world.registry.put_config("plan", world.ent_a, body)
    sign_in(world.client, "admin_a")
    page = world.client.get(f"/e/{world.ent_a}/inspection").text
    assert "仅手动执行" in page
