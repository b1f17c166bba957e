from __future__ import annotations

import csv
import io

import pyarrow as pa
import pytest

from tests.api.conftest import World

# 2026-11-20 00:00 China time
MIDNIGHT = 1_795_104_000_000


@pytest.fixture
def w(world: World) -> World:
    world.client.post(
        f"/api/v1/{world.device_token_a}/telemetry",
        json=[
            {"ts": MIDNIGHT + i * 20_000, "values": {"speed_rpm": float(i), "power_kw": 2.0}}
            for i in range(9)
        ],
    )
    return world


def get(w: World, url: str, who: str = "admin_a") -> dict[str, object]:
    r = w.client.get(url, headers=w.as_(who))
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_bucketed_range(w: World) -> None:
    body = get(
        w,
        f"/api/devices/{w.device_a}/telemetry?start={MIDNIGHT}&end={MIDNIGHT + 180_000}"
        "&bucket=1m&agg=avg,count,first,last&metrics=speed_rpm",
    )
    cols = body["columns"]
    assert isinstance(cols, dict)
    assert cols["bucket"] == [MIDNIGHT, MIDNIGHT + 60_000, MIDNIGHT + 120_000]
    assert cols["count"] == [3, 3, 3]
    assert cols["avg"] == [1.0, 4.0, 7.0]
    assert cols["first"] == [0.0, 3.0, 6.0] and cols["last"] == [2.0, 5.0, 8.0]


def test_iso_times_default_to_china_time(w: World) -> None:
    body = get(
        w,
        f"/api/devices/{w.device_a}/telemetry?start=2026-11-20T00:00:00"
        "&end=2026-11-21T00:00:00&bucket=1d&agg=count",
    )
    cols = body["columns"]
    assert isinstance(cols, dict)
    assert cols["bucket"] == [MIDNIGHT, MIDNIGHT] and cols["count"] == [9, 9]


def test_raw_points_and_formats(w: World) -> None:
    url = f"/api/enterprises/{w.ent_a}/telemetry?start={MIDNIGHT}&end={MIDNIGHT + 60_000}"
    body = get(w, url)
    assert body["rows"] == 6
    r = w.client.get(url + "&format=csv", headers=w.as_("admin_a"))
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 6 and {r["metric"] for r in rows} == {"power_kw", "speed_rpm"}
    r = w.client.get(url + "&format=arrow", headers=w.as_("admin_a"))
    table = pa.ipc.open_stream(r.content).read_all()
    assert table.num_rows == 6


def test_enterprise_latest(w: World) -> None:
    body = get(w, f"/api/enterprises/{w.ent_a}/latest")
    cols = body["columns"]
    assert isinstance(cols, dict)
    assert sorted(cols["metric"]) == ["power_kw", "speed_rpm"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("bucket=7x", "bad_bucket"),
        ("agg=median", "bad_aggregate"),
        ("start=yesterday", "bad_time"),
        (f"start={MIDNIGHT}&end={MIDNIGHT}", "bad_range"),
        ("format=xml", "invalid_request"),
    ],
)
def test_bad_queries_get_specific_errors(w: World, query: str, code: str) -> None:
    r = w.client.get(f"/api/devices/{w.device_a}/telemetry?{query}", headers=w.as_("admin_a"))
    assert r.status_code in (400, 422)
    assert r.json()["error"]["code"] == code


def test_foreign_device_ids_in_an_enterprise_query(w: World) -> None:
    r = w.client.get(
        f"/api/enterprises/{w.ent_a}/telemetry?devices={w.device_b}",
        headers=w.as_("admin_a"),
    )
    assert r.status_code == 404


def test_bureau_needs_consent_for_machine_data(w: World) -> None:
    url = f"/api/devices/{w.device_a}/latest"
    r = w.client.get(url, headers=w.as_("bureau"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required"
    consent = w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "test")
    assert w.client.get(url, headers=w.as_("bureau")).status_code == 200
    w.registry.revoke_consent(consent.id)
    assert w.client.get(url, headers=w.as_("bureau")).status_code == 403
