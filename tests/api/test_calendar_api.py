"""The shift calendar over HTTP: the default, a new version and the week it makes, refusals
with their code and field, and the listeners hearing of a save."""

from __future__ import annotations

from datetime import date
from typing import Any

from shugu.analytics import calendar_service
from shugu.analytics.calendar import day_start_ms
from tests.api.conftest import World

WINTER: dict[str, Any] = {
    "effective_from": "2026-12-15",
    "note": "冬季两班",
    "shifts": [
        {"name": "早班", "start": "06:00", "end": "14:00"},
        {"name": "中班", "start": "14:00", "end": "22:00"},
    ],
    "breaks": [{"name": "午餐", "start": "11:30", "end": "12:00"}],
    "rest_days": [7],
    "holidays": ["2026-12-25"],
    "makeup_days": ["2026-12-27"],
    "downtime": [{"start": "2026-12-16T06:00", "end": "2026-12-16T10:00", "note": "检修"}],
}


def url(w: World, enterprise_id: int | None = None) -> str:
    return f"/api/enterprises/{enterprise_id or w.ent_a}/calendar"


def test_without_a_calendar_the_default_holds(world: World) -> None:
    answer = world.client.get(url(world) + "?start=2026-12-01", headers=world.as_("viewer_a"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["default"] is True and body["versions"] == []
    assert body["in_force"]["id"] is None
    assert body["in_force"]["calendar"]["shifts"] == [
        {"name": "白班", "start": "08:00", "end": "20:00"},
        {"name": "夜班", "start": "20:00", "end": "08:00"},
    ]
    assert [d["day"] for d in body["days"]][:2] == ["2026-12-01", "2026-12-02"]
    assert [d["planned_hours"] for d in body["days"]] == [24.0] * 7
    night = body["days"][0]["shifts"][1]
    assert night == {
        "name": "夜班",
        "start": "2026-12-01T20:00:00.000+08:00",
        "end": "2026-12-02T08:00:00.000+08:00",
        "planned_hours": 12.0,
    }


def test_a_new_version_makes_the_week_it_says(world: World) -> None:
    heard: list[tuple[int, int]] = []
    remove = calendar_service.add_calendar_listener(
        lambda e, t: heard.append((e, t)), registry=world.registry
    )
    try:
        saved = world.client.put(url(world), json=WINTER, headers=world.as_("admin_a"))
    finally:
        remove()
    assert saved.status_code == 200, saved.text
    assert heard == [(world.ent_a, day_start_ms(date(2026, 12, 15)))]
    version = saved.json()["versions"][0]
    assert version["saved_by"] == "admin_a" and version["note"] == "冬季两班"
    assert version["calendar"]["downtime"] == WINTER["downtime"]
    week = world.client.get(url(world) + "?start=2026-12-14", headers=world.as_("admin_a")).json()
    assert week["in_force"]["id"] is None  # the 14th is still the default's
    # Mon 14th: the default, its night shift cut at midnight (16 h); Tue 15th: 2 × 8 h less
    # lunch; Wed 16th: 4 h less for maintenance; Sun 20th: rest.
    assert [d["planned_hours"] for d in week["days"]] == [16.0, 15.5, 11.5, 15.5, 15.5, 15.5, 0]
    assert [d["kind"] for d in week["days"]][-1] == "rest"
    christmas = world.client.get(
        url(world) + "?start=2026-12-25", headers=world.as_("admin_a")
    ).json()
    assert [(d["kind"], d["planned_hours"]) for d in christmas["days"][:3]] == [
        ("holiday", 0),
        ("work", 15.5),
        ("makeup", 15.5),
    ]


def test_refusals_name_their_code_and_field(world: World) -> None:
    cases: list[tuple[object, int, str, str | None]] = [
        (
            {**WINTER, "shifts": [{"name": "早班", "start": "06:30", "end": "14:00"}]},
            422,
            "calendar_time_invalid",
            "shifts.0.start",
        ),
        ({**WINTER, "rest_days": [8]}, 422, "calendar_weekday_invalid", "rest_days.0"),
        ({**WINTER, "effective_from": "someday"}, 422, "calendar_date_invalid", "effective_from"),
        ([1, 2], 422, "invalid_request", None),
    ]
    for body, status, code, field in cases:
        answer = world.client.put(url(world), json=body, headers=world.as_("admin_a"))
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        assert error["code"] == code and error.get("field") == field, error
    bad_start = world.client.get(url(world) + "?start=2026-02-30", headers=world.as_("admin_a"))
    assert bad_start.json()["error"]["code"] == "calendar_date_invalid"
    assert world.client.get(url(world), headers=world.as_("admin_a")).json()["versions"] == []


def test_viewers_read_and_administrators_change(world: World) -> None:
    viewer = world.client.put(url(world), json=WINTER, headers=world.as_("viewer_a"))
    assert viewer.status_code == 403
    # The bureau reads every enterprise's calendar; it is no machine value.
    bureau = world.client.get(url(world, world.ent_b), headers=world.as_("bureau"))
    assert bureau.status_code == 200
    nobody = world.client.get(url(world, 9999), headers=world.as_("bureau"))
    assert nobody.status_code == 404
