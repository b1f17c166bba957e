"""Inspection rounds (巡检) end to end through shugu's HTTP API: plans, manual and scheduled
rounds on the latest telemetry, and their reports as HTML, PDF and XLSX."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader

from shugu.api.services import Services
from shugu.domain.timeutil import utc_now_ms
from tests.api.conftest import World

Json = dict[str, Any]

CHINA = timedelta(hours=8)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


@dataclass
class Plant:
    w: World
    services: Services
    devices: dict[str, int]

    def plan(self, body: Json, who: str = "admin_b") -> Any:
        return self.w.client.post(
            f"/api/enterprises/{self.w.ent_b}/inspection-plans", json=body, headers=self.w.as_(who)
        )

    def run(self, plan_id: int, who: str = "admin_b") -> Any:
        return self.w.client.post(f"/api/inspection-plans/{plan_id}/run", headers=self.w.as_(who))

    def rounds(self, who: str = "admin_b", **params: Any) -> list[Json]:
        r = self.w.client.get(
            f"/api/enterprises/{self.w.ent_b}/inspection-rounds",
            params=params,
            headers=self.w.as_(who),
        )
        assert r.status_code == 200, r.text
        body: list[Json] = r.json()
        return body


@pytest.fixture
def plant(world: World) -> Plant:
    """Enterprise B's machine room: four rack sensors (one overridden, one silent), two CRAHs;
    enterprise A has a hot rack of its own that B's rounds must not see."""
    services = services_of(world)
    services.monitor.stop()  # the test reconfigures the monitor itself, without a race
    registry = world.registry
    now = utc_now_ms() - 60_000
    devices = {"crah-01": world.device_b}
    readings: dict[str, Json] = {
        "rack-A01": {"inlet_c": 22.0},
        "rack-A04": {"inlet_c": 28.0},
        "rack-B02": {},
        "rack-C03": {"inlet_c": 29.5},
        "crah-02": {"supply_air_c": 22.0},
    }
    tokens = {"crah-01": world.device_token_b}
    for name in readings:
        profile = "crah" if name.startswith("crah") else "rack_sensor"
        device, token = registry.create_device(world.ent_b, name, profile, asset_id=world.site_b)
        devices[name], tokens[name] = device.id, token
    readings["crah-01"] = {"supply_air_c": 15.0, "chw_supply_c": 7.0, "chw_return_c": 12.0}
    foreign, foreign_token = registry.create_device(world.ent_a, "rack-Z99", "rack_sensor")
    devices["foreign"] = foreign.id
    tokens["foreign"], readings["foreign"] = foreign_token, {"inlet_c": 35.0}
    for name, values in readings.items():
        if values:
            r = world.client.post(
                f"/api/v1/{tokens[name]}/telemetry", json={"ts": now, "values": values}
            )
            assert r.json()["accepted"] == len(values), r.text
    services.monitor.configure()
    r = world.client.put(
        f"/api/devices/{devices['rack-A04']}/rules/rack_sensor.inlet_high/override",
        json={"above": 30},
        headers=world.as_("admin_b"),
    )
    assert r.status_code == 200, r.text
    services.monitor.configure()
    return Plant(world, services, devices)


def far_times() -> list[str]:
    """Times of day hours away, so that the app's own scheduler never runs a round during a
    test that counts rounds."""
    china = datetime.now(UTC) + CHINA
    return sorted({(china + timedelta(hours=h)).strftime("%H:00") for h in (4, 10)})


def daily_plan(plant: Plant, times: tuple[str, ...] | None = None) -> Json:
    return {
        "name": "机房日常巡检",
        "times": far_times() if times is None else list(times),
        "checks": [
            {
                "label_zh": "机柜进风温度",
                "label_en": "Rack inlet temperature",
                "devices": {"profile": "rack_sensor"},
                "rule": "rack_sensor.inlet_high",
                "below": 18,
            },
            {
                "label_zh": "精密空调送风温度",
                "label_en": "CRAH supply air",
                "devices": {"profile": "crah"},
                "metric": "supply_air_c",
                "below": 12,
                "above": 20,
                "unit": "°C",
            },
            {
                "label_zh": "冷冻水供回水温差",
                "label_en": "Chilled-water ΔT",
                "devices": {"device_ids": [plant.devices["crah-01"]]},
                "expr": "chw_return_c - chw_supply_c",
                "below": 4,
                "unit": "K",
            },
        ],
    }


def created(r: Any) -> int:
    assert r.status_code == 201, r.text
    plan_id: int = r.json()["id"]
    return plan_id


def test_a_manual_round_judges_each_device(plant: Plant) -> None:
    w = plant.w
    plan_id = created(plant.plan(daily_plan(plant)))
    listed = w.client.get(f"/api/enterprises/{w.ent_b}/inspection-plans", headers=w.as_("viewer_a"))
    assert listed.status_code == 404
    listed = w.client.get(
        f"/api/enterprises/{w.ent_b}/inspection-plans", headers=w.as_("admin_b")
    ).json()
    assert [p["id"] for p in listed] == [plan_id]
    assert listed[0]["plan"]["times"] == far_times()

    r = plant.run(plan_id)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["plan"], body["trigger"], body["by"]) == ("机房日常巡检", "manual", "admin_b")
    assert (body["passed"], body["failed"], body["no_data"]) == (4, 2, 1)
    got = [
        (x["check_en"], x["device_name"], x["outcome"], x["value"], x["limit"])
        for x in body["results"]
    ]
    assert got == [
        ("Rack inlet temperature", "rack-A01", "pass", 22.0, "18–27"),
        ("Rack inlet temperature", "rack-A04", "pass", 28.0, "18–30"),  # its own limit
        ("Rack inlet temperature", "rack-B02", "no_data", None, "18–27"),
        ("Rack inlet temperature", "rack-C03", "fail", 29.5, "18–27"),
        ("CRAH supply air", "crah-01", "pass", 15.0, "12–20"),
        ("CRAH supply air", "crah-02", "fail", 22.0, "12–20"),
        ("Chilled-water ΔT", "crah-01", "pass", 5.0, "≥ 4"),
    ]
    fail = body["results"][3]
    assert fail["subject"] == "inlet_c" and fail["unit"] == "°C"
    assert fail["device_id"] == plant.devices["rack-C03"] and fail["observed_at_ms"] > 0

    one = w.client.get(f"/api/inspection-rounds/{body['id']}", headers=w.as_("viewer_a"))
    assert one.status_code == 404
    one = w.client.get(f"/api/inspection-rounds/{body['id']}", headers=w.as_("admin_b")).json()
    assert one["results"] == body["results"]
    rounds = plant.rounds()
    assert [(x["id"], x["failed"], x["results"]) for x in rounds] == [(body["id"], 2, None)]


def test_who_may_plan_and_run(plant: Plant) -> None:
    w = plant.w
    assert plant.plan(daily_plan(plant), "admin_a").status_code == 404
    assert plant.plan(daily_plan(plant), "bureau").status_code == 403
    plan_id = created(plant.plan(daily_plan(plant), "operator"))
    assert plant.run(plan_id, "admin_a").status_code == 404
    assert plant.run(plan_id, "bureau").status_code == 403
    w.registry.grant_consent(w.ent_b, w.user_ids["admin_b"], "监管")
    assert plant.run(plan_id, "bureau").status_code == 403  # reads rounds, does not run them
    round_id = plant.run(plan_id).json()["id"]
    assert plant.rounds("bureau")[0]["id"] == round_id
    report = f"/api/inspection-rounds/{round_id}/report"
    assert w.client.get(report, headers=w.as_("bureau")).status_code == 200
    assert w.client.get(report, headers=w.as_("admin_a")).status_code == 404
    url = f"/api/inspection-plans/{plan_id}"
    assert w.client.put(url, json=daily_plan(plant), headers=w.as_("admin_a")).status_code == 404
    assert w.client.delete(url, headers=w.as_("bureau")).status_code == 403
    assert w.client.delete(url, headers=w.as_("admin_b")).status_code == 204
    assert plant.run(plan_id).status_code == 404


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _xlsx_cells(content: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(content))
    return [
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]


def test_round_reports_in_three_formats_and_two_languages(plant: Plant) -> None:
    w = plant.w
    round_id = plant.run(created(plant.plan(daily_plan(plant)))).json()["id"]
    url = f"/api/inspection-rounds/{round_id}/report"

    r = w.client.get(url, headers=w.as_("admin_b"))  # html, zh by default
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-disposition"].startswith("inline;")
    html = r.text
    assert "乙数据中心" in html and "机房日常巡检" in html and "巡检报告" in html
    assert "甲纺织" not in html and "rack-Z99" not in html
    # Failing checks first, then no data, then the passing ones.
    assert html.index("rack-C03") < html.index("rack-B02") < html.index("rack-A01")
    assert html.index("crah-02") < html.index("rack-A01")

    r = w.client.get(url, params={"lang": "en"}, headers=w.as_("admin_b"))
    assert r.status_code == 200 and "Inspection report" in r.text and "乙数据中心" in r.text

    r = w.client.get(url, params={"format": "pdf"}, headers=w.as_("admin_b"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        f"attachment; filename*=UTF-8''inspection-round-{round_id}.pdf"
    )
    text = _pdf_text(r.content)
    assert "巡检" in text and "乙数据中心" in text and "rack-C03" in text
    r = w.client.get(url, params={"format": "pdf", "lang": "en"}, headers=w.as_("admin_b"))
    assert "Inspection" in _pdf_text(r.content)

    for lang in ("zh", "en"):
        r = w.client.get(url, params={"format": "xlsx", "lang": lang}, headers=w.as_("admin_b"))
        assert r.status_code == 200 and r.headers["content-type"] == XLSX
        cells = _xlsx_cells(r.content)
        assert "rack-C03" in cells and "crah-02" in cells
        assert any("乙数据中心" in c for c in cells)

    for bad in ({"format": "docx"}, {"lang": "fr"}):
        assert w.client.get(url, params=bad, headers=w.as_("admin_b")).status_code == 422


def test_the_day_report_gathers_the_day_s_rounds(plant: Plant) -> None:
    w = plant.w
    plan_id = created(plant.plan(daily_plan(plant)))
    first = plant.run(plan_id).json()
    plant.run(plan_id)
    at = datetime.fromisoformat(first["at"].replace("Z", "+00:00"))
    day = (at.astimezone(UTC) + CHINA).date()
    assert len(plant.rounds(date=day.isoformat())) == 2
    assert plant.rounds(date=(day - timedelta(days=1)).isoformat()) == []

    url = f"/api/enterprises/{w.ent_b}/inspection-report"
    r = w.client.get(
        url, params={"date": day.isoformat(), "format": "xlsx"}, headers=w.as_("admin_b")
    )
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == (
        f"attachment; filename*=UTF-8''inspection-{day.isoformat()}.xlsx"
    )
    cells = _xlsx_cells(r.content)
    assert any("乙数据中心" in c for c in cells) and "rack-C03" in cells
    r = w.client.get(url, params={"date": day.isoformat()}, headers=w.as_("admin_b"))
    assert r.status_code == 200 and "巡检日报" in r.text and "乙数据中心" in r.text
    r = w.client.get(
        url,
        params={"date": day.isoformat(), "format": "pdf", "lang": "en"},
        headers=w.as_("admin_b"),
    )
    assert r.status_code == 200 and "Daily inspection report" in _pdf_text(r.content)
    empty = w.client.get(
        url, params={"date": date(2020, 1, 1).isoformat()}, headers=w.as_("admin_b")
    )
    assert empty.status_code == 200 and "当天没有巡检记录" in empty.text
    assert (
        w.client.get(url, params={"date": "2020-13-01"}, headers=w.as_("admin_b")).status_code
        == 422
    )
    assert (
        w.client.get(url, params={"date": day.isoformat()}, headers=w.as_("admin_a")).status_code
        == 404
    )


def _with_check(plant: Plant, **changes: Any) -> Json:
    plan = daily_plan(plant)
    plan["checks"] = [{**plan["checks"][1], **changes}]
    return plan


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"times": ["25:00"]}, "times", "25:00"),
        ({"times": ["9:00"]}, "times", "HH:MM"),
        ({"times": ["09:00", "09:00"]}, "times", "twice"),
        ({"checks": []}, "checks", "at least 1"),
        ({"name": ""}, "name", "name"),
        ({"colour": "red"}, "colour", "colour"),
    ],
)
def test_an_invalid_plan_names_the_field(
    plant: Plant, change: Json, field: str, words: str
) -> None:
    r = plant.plan({**daily_plan(plant), **change})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field and words in error["message"], error


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"expr": "__import__('os')", "metric": None}, "expr", "may be called"),
        ({"expr": "chw_return_c - chw_supply_c"}, "checks.0", "exactly one of metric"),
        ({"above": None, "below": None}, "checks.0", "above, below or both"),
        ({"below": 30}, "checks.0", "below must not be greater"),
        ({"devices": {}}, "checks.0.devices", "exactly one of profile"),
        ({"max_age_s": 0}, "checks.0.max_age_s", "greater than 0"),
    ],
)
def test_an_invalid_check_names_the_field(
    plant: Plant, change: Json, field: str, words: str
) -> None:
    body = _with_check(plant, **change)
    body["checks"] = [{k: v for k, v in c.items() if v is not None} for c in body["checks"]]
    r = plant.plan(body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field and words in error["message"], error
    assert (
        plant.w.client.get(
            f"/api/enterprises/{plant.w.ent_b}/inspection-plans", headers=plant.w.as_("admin_b")
        ).json()
        == []
    )


def test_a_plan_naming_an_unknown_rule_is_refused(plant: Plant) -> None:
    body = daily_plan(plant)
    body["checks"][0]["rule"] = "rack_sensor.no_such_rule"
    r = plant.plan(body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "checks.0.rule"


def _next_slot(minutes_ahead: int) -> tuple[str, int]:
    """A time of day ("HH:MM", China time) a few minutes ahead, and its instant in ms."""
    china = datetime.now(UTC).replace(tzinfo=None) + CHINA
    slot = china.replace(second=0, microsecond=0) + timedelta(minutes=minutes_ahead)
    at_ms = int((slot - CHINA).replace(tzinfo=UTC).timestamp() * 1000)
    return slot.strftime("%H:%M"), at_ms


def test_a_scheduled_round_runs_once_per_slot(plant: Plant) -> None:
    hhmm, at_ms = _next_slot(3)
    plan_id = created(plant.plan(daily_plan(plant, times=(hhmm,))))
    rounds = plant.services.rounds
    assert rounds.run_due(at_ms - 1000) == []  # not yet
    [row] = rounds.run_due(at_ms + 1000)
    assert (row.plan_id, row.trigger, row.by, row.failed) == (plan_id, "schedule", None, 2)
    assert rounds.run_due(at_ms + 1000) == []
    assert rounds.run_due(at_ms + 30_000) == []
    # Another process (or a restart) looking at the same slot again finds it taken.
    rounds._checked_until = at_ms - 60_000
    assert rounds.run_due(at_ms + 60_000) == []
    listed = plant.rounds(plan_id=plan_id)
    assert [(x["trigger"], x["by"], x["failed"]) for x in listed] == [("schedule", None, 2)]
    # A manual round of the same plan is not held up by the slot.
    assert plant.run(plan_id).status_code == 201
    assert len(plant.rounds(plan_id=plan_id)) == 2


def test_a_broken_plan_does_not_stop_other_plans_scheduled_rounds(plant: Plant) -> None:
    w = plant.w
    r = w.client.post(
        f"/api/enterprises/{w.ent_b}/rules",
        json={
            "rule": {
                "key": "supply_warm",
                "kind": "threshold",
                "metric": "supply_air_c",
                "above": 21,
                "label_zh": "送风偏热",
                "label_en": "Supply air warm",
            },
            "scope": {"profile": "crah"},
        },
        headers=w.as_("admin_b"),
    )
    assert r.status_code == 201, r.text
    rule_id, ref = r.json()["id"], r.json()["ref"]
    plant.services.monitor.configure()
    hhmm, at_ms = _next_slot(4)
    broken = daily_plan(plant, times=(hhmm,))
    broken["name"] = "送风巡检"
    broken["checks"] = [{**broken["checks"][1], "rule": ref, "metric": None}]
    broken["checks"][0] = {k: v for k, v in broken["checks"][0].items() if v is not None}
    del broken["checks"][0]["above"]
    broken_id = created(plant.plan(broken))
    good_id = created(plant.plan(daily_plan(plant, times=(hhmm,))))
    assert w.client.delete(f"/api/rules/{rule_id}", headers=w.as_("admin_b")).status_code == 204
    plant.services.monitor.configure()

    r = plant.run(broken_id)  # the broken plan itself: a clear refusal, not a crash
    assert r.status_code == 422, r.text
    done = plant.services.rounds.run_due(at_ms + 1000)
    assert good_id in {row.plan_id for row in done}
