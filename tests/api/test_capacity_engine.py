"""Shared capacity on the running analytics (not a stand-in): looms report their nameplate as
client attributes and their state as telemetry; the capacity API sees a loom waiting for an
order as a day's idle loom-hours of its type and width, and a busy loom as none."""

from __future__ import annotations

import json

import numpy as np

from shugu.domain.batch import Batch
from shugu.domain.timeutil import utc_now_ms
from shugu.store.telemetry import AttributeRecord
from tests.api.conftest import World
from tests.api.kpi_world import quiet_engine

MINUTE = 60_000


def test_idle_capacity_comes_from_the_engines_looms(world: World) -> None:
    services = quiet_engine(world)
    registry = world.registry
    busy = registry.create_device(world.ent_a, "喷气织机 01", "loom")[0].id
    idle = registry.create_device(world.ent_a, "剑杆织机 02", "loom")[0].id
    now = utc_now_ms()
    nameplates = {busy: ("air_jet", 190, 650), idle: ("rapier", 230, 500)}
    attributes = [
        AttributeRecord(device, "client", key, json.dumps(value), now)
        for device, (kind, width, rated) in nameplates.items()
        for key, value in (("loom_type", kind), ("width_cm", width), ("rated_speed_rpm", rated))
    ]
    rows: list[tuple[int, str, int, float]] = []
    for m in range(180, -1, -1):
        ts = now - m * MINUTE
        rows += [(busy, "running", ts, 1.0), (busy, "stop_cause", ts, 0.0)]
        rows += [(idle, "running", ts, 0.0), (idle, "stop_cause", ts, 4.0)]  # no order
    store = services.store
    ids = dict(
        zip(
            ["running", "stop_cause"],
            store.metric_ids(["running", "stop_cause"]).tolist(),
            strict=True,
        )
    )
    batch = Batch(
        np.array([r[0] for r in rows], np.int32),
        np.array([ids[r[1]] for r in rows], np.int32),
        np.array([r[2] for r in rows], np.int64),
        np.array([r[3] for r in rows], np.float64),
        np.zeros(len(rows), np.uint8),
    )
    store.submit(batch, attributes=attributes).result(timeout=30)
    store.flush()
    services.analytics.places.invalidate()
    services.analytics.engine.process_now()

    answer = world.client.get(
        f"/api/enterprises/{world.ent_a}/capacity",
        params={"days": 2},
        headers=world.as_("admin_a"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["source_available"] is True
    assert body["looms"] >= 2 and body["waiting_now"] == 1
    cells = [c for c in body["cells"] if c["loom_hours"] > 0]
    # Only the rapier waits for an order: a whole planned day (the default calendar: 24 h).
    assert {(c["loom_type"], c["width_class_cm"]) for c in cells} == {("rapier", 230)}
    first_day = min(c["day"] for c in cells)
    assert [c["loom_hours"] for c in cells if c["day"] == first_day] == [24.0]
