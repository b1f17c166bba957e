from __future__ import annotations

import time

import pyarrow as pa
import pytest

from shugu.ingest.arrow_codec import write_stream
from tests.api.conftest import World

ARROW = "application/vnd.apache.arrow.stream"


@pytest.fixture
def w(world: World) -> World:
    return world


def now_ms() -> int:
    return int(time.time() * 1000)


def rejects(w: World, who: str = "operator") -> dict[tuple[int, str], int]:
    body = w.client.get("/api/rejects", headers=w.as_(who)).json()
    return {(r["device"], r["code"]): r["n"] for r in body["counts"]}


def test_a_point_round_trips(w: World) -> None:
    ts = now_ms() - 1000
    r = w.client.post(
        f"/api/v1/{w.device_token_a}/telemetry", json={"ts": ts, "values": {"speed_rpm": 812}}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "rejected": 0, "errors": []}
    latest = w.client.get(f"/api/devices/{w.device_a}/latest", headers=w.as_("admin_a")).json()
    assert latest["columns"]["metric"] == ["speed_rpm"]
    assert latest["columns"]["value"] == [812.0]
    assert latest["columns"]["ts"] == [ts]


def test_thingsboard_shapes(w: World) -> None:
    url = f"/api/v1/{w.device_token_a}/telemetry"
    t = now_ms() - 10_000
    assert w.client.post(url, json={"speed_rpm": 1}).json()["accepted"] == 1
    body = [
        {"ts": t, "values": {"speed_rpm": 2, "power_kw": 3}},
        {"ts": t + 1, "values": {"picks": 4}},
    ]
    assert w.client.post(url, json=body).json()["accepted"] == 3


def test_partial_refusal_keeps_the_good_values(w: World) -> None:
    r = w.client.post(
        f"/api/v1/{w.device_token_a}/telemetry",
        json={"speed_rpm": "fast", "colour": 3, "power_kw": 4.5},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 1 and body["rejected"] == 2
    assert {(e["key"], e["code"]) for e in body["errors"]} == {
        ("speed_rpm", "non_numeric"),
        ("colour", "unknown_metric"),
    }
    assert rejects(w) == {(w.device_a, "non_numeric"): 1, (w.device_a, "unknown_metric"): 1}


def test_nothing_storable_is_a_400_with_reasons(w: World) -> None:
    r = w.client.post(f"/api/v1/{w.device_token_a}/telemetry", json={"speed_rpm": None})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "all_values_rejected"
    assert r.json()["error"]["errors"][0]["code"] == "null_value"


def test_bad_token_is_401_and_counted(w: World) -> None:
    r = w.client.post("/api/v1/not-a-token/telemetry", json={"speed_rpm": 1})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_device_token"
    assert rejects(w)[(-1, "bad_device_token")] == 1


def test_bad_tokens_are_counted_exactly_without_a_write_each(w: World) -> None:
    # Bad tokens are refused outside the ingest admission: a store write (and a sample) each
    # would let anyone keep the writer busy. They are counted in memory and written at most
    # once a second, one sample each time; the counts stay exact.
    for i in range(60):
        r = w.client.get(f"/api/v1/bad-token-{i}/attributes")
        assert r.status_code == 401
    body = w.client.get("/api/rejects", headers=w.as_("operator")).json()
    counts = {(c["device"], c["code"]): c["n"] for c in body["counts"]}
    assert counts[(-1, "bad_device_token")] == 60
    samples = [s for s in body["samples"] if s["code"] == "bad_device_token"]
    # Before: one write per request, and the per-minute sample budget (20) filled.
    assert 1 <= len(samples) < 20


def test_malformed_json_is_400_and_logged(w: World) -> None:
    r = w.client.post(f"/api/v1/{w.device_token_a}/telemetry", content=b'{"speed_rpm": ')
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
    assert rejects(w)[(w.device_a, "malformed_json")] == 1


def test_payload_over_one_mebibyte_is_413(w: World) -> None:
    big = b'{"speed_rpm": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    r = w.client.post(f"/api/v1/{w.device_token_a}/telemetry", content=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert rejects(w)[(w.device_a, "payload_too_large")] == 1


def test_future_timestamps_are_refused(w: World) -> None:
    r = w.client.post(
        f"/api/v1/{w.device_token_a}/telemetry",
        json=[{"ts": now_ms() + 11 * 60_000, "values": {"speed_rpm": 1}}, {"speed_rpm": 2}],
    )
    assert r.json()["accepted"] == 1
    assert r.json()["errors"][0]["code"] == "future_timestamp"


def test_gateway_json_batch(w: World) -> None:
    t = now_ms() - 5000
    doc = {"loom-001": [{"ts": t, "values": {"speed_rpm": 700}}], "no such loom": {"speed_rpm": 1}}
    r = w.client.post("/api/v1/batch", json=doc, headers=w.as_("admin_a"))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    assert r.json()["errors"][0]["code"] == "unknown_device"


def test_batch_cannot_reach_another_enterprise(w: World) -> None:
    doc = {"loom-001": {"speed_rpm": 700}}
    r = w.client.post("/api/v1/batch", json=doc, headers=w.as_("admin_b"))
    assert r.status_code == 400  # B has no device of that name: nothing stored
    assert r.json()["error"]["errors"][0]["code"] == "unknown_device"
    r = w.client.post(f"/api/v1/batch?enterprise={w.ent_a}", json=doc, headers=w.as_("admin_b"))
    assert r.status_code == 403
    for who in ("viewer_a", "bureau"):
        assert w.client.post("/api/v1/batch", json=doc, headers=w.as_(who)).status_code == 403
    assert w.client.post("/api/v1/batch", json=doc).status_code == 401


def test_arrow_batch(w: World) -> None:
    t = now_ms() - 5000
    table = pa.table(
        {
            "device": ["loom-001", "loom-001", "ghost", "loom-001"],
            "metric": ["speed_rpm", "power_kw", "speed_rpm", "speed_rpm"],
            "ts": [t, t, t, t + 1],
            "value": [600.0, 3.5, 1.0, float("nan")],
        }
    )
    headers = w.as_("admin_a") | {"Content-Type": ARROW}
    r = w.client.post("/api/v1/batch", content=write_stream(table), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2
    assert sorted(e["code"] for e in r.json()["errors"]) == ["not_finite", "unknown_device"]
    r = w.client.post("/api/v1/batch", content=b"not arrow", headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_arrow"
    bad = pa.table({"device": ["loom-001"], "metric": ["x"], "ts": [t]})
    r = w.client.post("/api/v1/batch", content=write_stream(bad), headers=headers)
    assert r.json()["error"]["code"] == "missing_column"


def test_operator_batch_by_device_id(w: World) -> None:
    t = now_ms() - 5000
    table = pa.table(
        {
            "device_id": [w.device_a, w.device_b],
            "metric": ["speed_rpm"] * 2,
            "ts": [t, t],
            "value": [1.0, 2.0],
        }
    )
    headers = w.as_("operator") | {"Content-Type": ARROW}
    r = w.client.post(
        f"/api/v1/batch?enterprise={w.ent_a}", content=write_stream(table), headers=headers
    )
    assert r.json()["accepted"] == 1  # device_b belongs to another enterprise
    assert r.json()["errors"][0]["code"] == "unknown_device"
