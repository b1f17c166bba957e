"""States sent as text to the HTTP device API and the batch API (JSON and Arrow)."""

from __future__ import annotations

import time

import pyarrow as pa

from shugu.ingest.arrow_codec import write_stream
from tests.api.conftest import World

ARROW = "application/vnd.apache.arrow.stream"


def _latest(w: World) -> dict[str, float]:
    body = w.client.get(f"/api/devices/{w.device_a}/latest", headers=w.as_("admin_a")).json()
    cols = body["columns"]
    return dict(zip(cols["metric"], cols["value"], strict=True))


def test_json_telemetry_with_states_as_text(world: World) -> None:
    ts = int(time.time() * 1000) - 1000
    r = world.client.post(
        f"/api/v1/{world.device_token_a}/telemetry",
        json={"ts": ts, "values": {"running": "STOPPED", "stop_cause": "经停", "speed_rpm": 0}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3
    assert _latest(world) == {"running": 0.0, "stop_cause": 1.0, "speed_rpm": 0.0}
    r = world.client.post(f"/api/v1/{world.device_token_a}/telemetry", json={"stop_cause": "?"})
    assert r.status_code == 400
    assert r.json()["error"]["errors"][0]["code"] == "unknown_state"


def test_arrow_value_column_of_state_names(world: World) -> None:
    t = int(time.time() * 1000) - 5000
    table = pa.table(
        {
            "device": ["loom-001"] * 5,
            "metric": ["running", "stop_cause", "stop_cause", "speed_rpm", "running"],
            "ts": [t, t, t + 1, t, t + 2],
            "value": ["running", "Doffing", "TEA", "600", None],
        }
    )
    headers = {"content-type": ARROW} | world.as_("admin_a")
    r = world.client.post("/api/v1/batch", content=write_stream(table), headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2 and body["rejected"] == 3
    codes = {(e["key"], e["code"]) for e in body["errors"]}
    assert codes == {
        ("stop_cause", "unknown_state"),
        ("speed_rpm", "non_numeric"),
        (None, "missing_field"),
    }
    assert _latest(world) == {"running": 1.0, "stop_cause": 5.0}


def test_arrow_dictionary_column_of_state_names(world: World) -> None:
    t = int(time.time() * 1000) - 5000
    n = 10_000
    table = pa.table(
        {
            "device": pa.array(["loom-001"] * n).dictionary_encode(),
            "metric": pa.array(["running"] * n).dictionary_encode(),
            "ts": list(range(t - n, t)),
            "value": pa.array(["RUNNING", "STOPPED"] * (n // 2)).dictionary_encode(),
        }
    )
    headers = {"content-type": ARROW} | world.as_("admin_a")
    r = world.client.post("/api/v1/batch", content=write_stream(table), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": n, "rejected": 0, "errors": []}
    assert _latest(world) == {"running": 0.0}
