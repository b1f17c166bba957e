"""Defaults a plain HTTP client expects: an optional body on alarm actions and consents, today's
day report without ``date=``, and an enterprise's rule list limited to the machines it has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import World

Json = dict[str, Any]
CHINA = timedelta(hours=8)


def open_alarm(w: World) -> int:
    alarm = w.registry.open_alarm(
        "crah.fan_stopped", w.device_b, w.ent_b, "critical", datetime.now(UTC), 0.0, {}
    )
    assert alarm is not None
    return alarm.id


# -- alarm actions and consents without a body -------------------------------------------------


@pytest.mark.parametrize("action", ["ack", "clear"])
def test_an_alarm_action_needs_no_body(world: World, action: str) -> None:
    alarm_id = open_alarm(world)
    r = world.client.post(f"/api/alarms/{alarm_id}/{action}", headers=world.as_("admin_b"))
    assert r.status_code == 200, r.text
    assert r.json()["note"] == ""
    status = "acknowledged" if action == "ack" else "cleared"
    assert r.json()["status"] == status


def test_an_empty_json_body_is_no_body(world: World) -> None:
    """`curl -X POST -H 'Content-Type: application/json' …` without data."""
    alarm_id = open_alarm(world)
    headers = {**world.as_("admin_b"), "Content-Type": "application/json"}
    r = world.client.post(f"/api/alarms/{alarm_id}/ack", headers=headers, content=b"")
    assert r.status_code == 200, r.text


def test_an_alarm_action_still_reads_a_note_and_refuses_a_bad_one(world: World) -> None:
    alarm_id = open_alarm(world)
    url = f"/api/alarms/{alarm_id}/ack"
    r = world.client.post(url, json={"note": "x" * 2001}, headers=world.as_("admin_b"))
    assert r.status_code == 422, r.text
    r = world.client.post(url, json={"note": "值班员已到场"}, headers=world.as_("admin_b"))
    assert r.status_code == 200, r.text
    assert r.json()["note"] == "值班员已到场"


def test_shelving_without_a_body_says_how_long_is_missing(world: World) -> None:
    alarm_id = open_alarm(world)
    r = world.client.post(f"/api/alarms/{alarm_id}/shelve", headers=world.as_("admin_b"))
    assert r.status_code == 422, r.text


def test_granting_consent_needs_no_body(world: World) -> None:
    r = world.client.post(f"/api/enterprises/{world.ent_b}/consents", headers=world.as_("admin_b"))
    assert r.status_code == 201, r.text
    assert r.json()["note"] == ""


# -- the day report defaults to today, China time -----------------------------------------------


def china_today() -> str:
    return (datetime.now(UTC) + CHINA).date().isoformat()


def test_the_day_report_without_a_date_is_today_s_in_china_time(world: World) -> None:
    before = china_today()
    r = world.client.get(
        f"/api/enterprises/{world.ent_b}/inspection-report", headers=world.as_("admin_b")
    )
    after = china_today()
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    # China's midnight may fall between the two readings; the report names one of the days.
    assert f"inspection-{before}.html" in disposition or f"inspection-{after}.html" in disposition
    dated = world.client.get(
        f"/api/enterprises/{world.ent_b}/inspection-report",
        params={"date": "2026-11-22", "format": "xlsx"},
        headers=world.as_("admin_b"),
    )
    assert dated.status_code == 200, dated.text
    assert "inspection-2026-11-22.xlsx" in dated.headers["content-disposition"]


# -- an enterprise's rule list -----------------------------------------------------------------


def rules(w: World, enterprise: int, who: str, **params: Any) -> Any:
    return w.client.get(f"/api/enterprises/{enterprise}/rules", params=params, headers=w.as_(who))


def default_profiles(listed: list[Json]) -> set[str]:
    return {r["scope"]["profile"] for r in listed if r["id"] is None}


def test_a_weaving_mill_sees_its_own_profiles_rules_not_cooling_towers(world: World) -> None:
    r = rules(world, world.ent_a, "admin_a")  # a weaving mill: one loom
    assert r.status_code == 200, r.text
    assert default_profiles(r.json()) == {"loom"}
    assert all(r["ref"].startswith("loom.") for r in r.json())
    data_centre = rules(world, world.ent_b, "admin_b").json()  # one CRAH
    assert default_profiles(data_centre) == {"crah"}


def test_a_new_device_s_profile_brings_its_rules(world: World) -> None:
    world.registry.create_device(world.ent_a, "meter-01", "power_meter")
    listed = rules(world, world.ent_a, "admin_a").json()
    assert default_profiles(listed) == {"loom", "power_meter"}


def test_a_profile_or_every_profile_can_be_asked_for(world: World) -> None:
    towers = rules(world, world.ent_a, "admin_a", profile="cooling_tower").json()
    assert towers and default_profiles(towers) == {"cooling_tower"}
    every = rules(world, world.ent_a, "admin_a", all="true").json()
    assert {"loom", "crah", "cooling_tower", "rack_sensor"} <= default_profiles(every)
    r = rules(world, world.ent_a, "admin_a", profile="no_such_profile")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_profile", r.text
    r = rules(world, world.ent_a, "admin_a", profile="loom", all="true")
    assert r.status_code == 422 and r.json()["error"]["field"] == "all", r.text


def test_own_rules_are_listed_and_filtered_by_the_profile_they_watch(world: World) -> None:
    crah_rule = {
        "rule": {
            "key": "supply_warm",
            "kind": "threshold",
            "metric": "supply_air_c",
            "above": 25,
            "label_zh": "送风偏热",
            "label_en": "Supply air warm",
        },
        "scope": {"device_id": world.device_b},
    }
    r = world.client.post(
        f"/api/enterprises/{world.ent_b}/rules", json=crah_rule, headers=world.as_("admin_b")
    )
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]
    assert ref in {r["ref"] for r in rules(world, world.ent_b, "admin_b").json()}
    assert ref in {r["ref"] for r in rules(world, world.ent_b, "admin_b", profile="crah").json()}
    racks = rules(world, world.ent_b, "admin_b", profile="rack_sensor").json()
    assert ref not in {r["ref"] for r in racks}
    assert ref not in {r["ref"] for r in rules(world, world.ent_a, "admin_a", all="true").json()}
