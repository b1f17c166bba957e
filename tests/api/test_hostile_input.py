"""Inputs that once crashed or slipped through: each gets a specific answer, nothing valid lost."""

from __future__ import annotations

import pyarrow as pa
import pytest

from shugu.ingest.arrow_codec import write_stream
from tests.api.conftest import World

ARROW = "application/vnd.apache.arrow.stream"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"ts": 1180591620717411303424, "values": {"speed_rpm": 1}}', "bad_timestamp"),
        (b'{"ts": 1e19, "values": {"speed_rpm": 1}}', "bad_timestamp"),
        (b'{"speed_rpm": 1' + b"0" * 400 + b"}", "not_finite"),
        (b'{"speed_rpm": "\\ud800"}', "non_numeric"),
        (b'{"speed_rpm": ' + b"[" * 300 + b"]" * 300 + b"}", "nested_value"),
    ],
)
def test_hostile_json_values_are_refused_alone(world: World, body: bytes, code: str) -> None:
    r = world.client.post(f"/api/v1/{world.device_token_a}/telemetry", content=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["errors"][0]["code"] == code


def test_bad_metric_names_and_good_neighbours(world: World) -> None:
    token = world.device_token_a
    r = world.client.post(
        f"/api/v1/{token}/telemetry", content=b'{"\\ud800": 1, "speed_rpm": 5, "x\\u0000": 2}'
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 1
    assert {e["code"] for e in body["errors"]} == {"bad_metric_name"}


def test_refused_metric_names_leave_no_trace(world: World) -> None:
    store = world.client.app.state.services.store  # type: ignore[attr-defined]
    before = len(store._metric_ids)
    doc = {f"bogus_{i}": 1 for i in range(500)}
    r = world.client.post(f"/api/v1/{world.device_token_a}/telemetry", json=doc)
    assert r.status_code == 400
    assert r.json()["error"]["rejected"] == 500
    errors = r.json()["error"]["errors"]
    assert len(errors) == 10  # examples of the one reason, each a different key
    assert len({e["key"] for e in errors}) == 10
    assert len(store._metric_ids) == before


def test_compressed_arrow_cannot_hide_a_flood(world: World) -> None:
    n = 1_200_000
    table = pa.table(
        {
            "device": pa.array(["loom-001"] * n).dictionary_encode(),
            "metric": pa.array(["speed_rpm"] * n).dictionary_encode(),
            "ts": pa.array([1_790_000_000_000] * n, pa.int64()),
            "value": pa.array([1.0] * n),
        }
    )
    body = write_stream(table, "zstd")
    assert len(body) < 1024 * 1024
    headers = world.as_("admin_a") | {"Content-Type": ARROW}
    r = world.client.post("/api/v1/batch", content=body, headers=headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "arrow_too_large"


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"device": ["loom-001"], "metric": [5], "ts": [1], "value": [1.0]}),
        pa.table(
            {
                "device_id": pa.array([2**64 - 1], pa.uint64()),
                "metric": ["x"],
                "ts": [1],
                "value": [1.0],
            }
        ),
        pa.table(
            {
                "device": ["loom-001"],
                "metric": ["speed_rpm"],
                "ts": pa.array([1_790_000_000_000_123], pa.timestamp("us")),
                "value": [1.0],
            }
        ),
        pa.table(
            {
                "device": pa.DictionaryArray.from_arrays(
                    pa.array([0]), pa.array([None], pa.string())
                ),
                "metric": ["speed_rpm"],
                "ts": [1],
                "value": [1.0],
            }
        ),
        pa.table(
            {
                "device": ["loom-001"],
                "metric": ["speed_rpm"],
                "ts": pa.array([2**63 + 5], pa.uint64()),
                "value": [1.0],
            }
        ),
    ],
    ids=["int-metric", "huge-id", "microseconds", "null-in-dictionary", "huge-ts"],
)
def test_odd_arrow_columns_get_4xx(world: World, table: pa.Table) -> None:
    headers = world.as_("admin_a") | {"Content-Type": ARROW}
    r = world.client.post(
        f"/api/v1/batch?enterprise={world.ent_a}", content=write_stream(table), headers=headers
    )
    assert 200 <= r.status_code < 500, r.text


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/api/devices/99999999999999999999/latest", "number_out_of_range"),
        ("/api/enterprises/99999999999999999999", "number_out_of_range"),
        ("/api/rejects?enterprise=99999999999999999999", "number_out_of_range"),
        ("/api/devices/1/telemetry?bucket=99999999999999999999d", "bad_bucket"),
        ("/api/devices/1/telemetry?start=99999999999999999999999", "bad_time"),
    ],
)
def test_huge_numbers_get_4xx(world: World, url: str, code: str) -> None:
    # Device 1 is enterprise A's, whose values only A's people read (the operator needs consent).
    who = "admin_a" if url.startswith("/api/devices/1/") else "operator"
    r = world.client.get(url, headers=world.as_(who))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code


def test_token_lifetime_is_bounded(world: World) -> None:
    r = world.client.post(
        "/api/auth/tokens", json={"name": "x", "ttl_seconds": 10**12}, headers=world.as_("operator")
    )
    assert r.status_code == 422


def test_sign_in_does_not_read_a_huge_body(world: World) -> None:
    big = b'{"username": "' + b"x" * (2 * 1024 * 1024) + b'", "password": "y"}'
    r = world.client.post(
        "/api/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunks() -> object:
        for _ in range(40):
            yield b"x" * 65536

    r = world.client.post("/api/auth/login", content=chunks())  # no Content-Length
    assert r.status_code == 413
