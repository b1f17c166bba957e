"""Machines with known figures for the KPI and energy API tests, stored through the telemetry
store and made into facts by the analytics engine on the test's own thread.

Enterprise A (甲纺织) gets a weaving line 一车间 with two looms and the line's power meter; its
loom-001 (the API world's device A, on no line) stays silent. Enterprise B gets a line with one
loom. Minute by minute on 2026-11-10 (China time), a state holding for the minute after it:

- loom-002 (A): 06:00–08:00 stopped for warp for the first 30 minutes, running otherwise (75 %);
  08:00–09:00 running 50 minutes, then stopped for warp 10 (83.33 %); 09:00–10:00 running.
- loom-003 (A): 08:00–09:00 running 45 minutes, then stopped for weft 15; 09:00–10:00 running.
- loom-b1 (B): 08:00–09:00 stopped (mechanical); 09:00–10:00 running (50 % over both hours).
- a running loom makes 600 picks and 0.2 m of fabric a minute and every loom draws 0.1 kWh a
  minute; the line's meter draws 0.5 kWh a minute (30 kW).

So over [08:00, 10:00): loom-002 110 of 120 minutes (91.67 %), loom-003 105 (87.5 %), A's looms
215 of 240 (89.58 %), B 50 %, the park 275 of 360 (76.39 %); A's line drew 60 kWh (its meter)
for 43 m of fabric: 1.3953 kWh/m.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.batch import Batch
from shugu.domain.timeutil import parse_instant
from tests.api.conftest import World

MINUTE = 60_000
#: 2026-11-10 06:00 China time; minute m of the data is T0 + m minutes.
T0 = parse_instant("2026-11-10T06:00", "t")
START = "2026-11-10T08:00"
END = "2026-11-10T10:00"
BEFORE = "2026-11-10T06:00"

Row = tuple[int, str, int, float]


@dataclass(frozen=True)
class KpiWorld:
    w: World
    services: Services
    line_a: int
    line_b: int
    loom_002: int
    loom_003: int
    meter: int
    loom_b1: int

    def get(self, who: str, url: str, **params: object) -> dict[str, object]:
        answer = self.w.client.get(url, params=params, headers=self.w.as_(who))
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


def quiet_engine(w: World) -> Services:
    """The world's services with the analytics engine's thread stopped: the test makes facts
    current itself (``process_now``), so nothing races it."""
    services = services_of(w)
    services.analytics.engine.stop()
    return services


def loom_rows(
    device: int, first: int, last: int, running: Callable[[int], bool], cause: int
) -> list[Row]:
    """A loom's points at minutes first..last: a state for the minute after it, counters so far."""
    rows: list[Row] = []
    picks = fabric = kwh = 0.0
    for m in range(first, last + 1):
        ts = T0 + m * MINUTE
        run = running(m)
        rows += [
            (device, "running", ts, 1.0 if run else 0.0),
            (device, "stop_cause", ts, 0.0 if run else float(cause)),
            (device, "picks", ts, picks),
            (device, "fabric_m", ts, fabric),
            (device, "energy_kwh", ts, kwh),
        ]
        if run:
            picks += 600.0
            fabric += 0.2
        kwh += 0.1
    return rows


def meter_rows(device: int, first: int, last: int) -> list[Row]:
    rows: list[Row] = []
    for m in range(first, last + 1):
        ts = T0 + m * MINUTE
        rows += [
            (device, "energy_kwh", ts, 0.5 * (m - first)),
            (device, "active_power_kw", ts, 30.0),
        ]
    return rows


def store_rows(services: Services, rows: list[Row]) -> None:
    """The points through the store, then facts made current."""
    store = services.store
    names = sorted({r[1] for r in rows})
    ids = dict(zip(names, store.metric_ids(names).tolist(), strict=True))
    batch = Batch(
        np.array([r[0] for r in rows], np.int32),
        np.array([ids[r[1]] for r in rows], np.int32),
        np.array([r[2] for r in rows], np.int64),
        np.array([r[3] for r in rows], np.float64),
        np.zeros(len(rows), np.uint8),
    )
    store.submit(batch).result(timeout=30)
    store.flush()
    services.analytics.engine.process_now()


def line_under(w: World, enterprise_id: int, site_id: int, name: str) -> int:
    area = w.registry.create_asset(enterprise_id, "area", f"{name}区", parent_id=site_id)
    return w.registry.create_asset(enterprise_id, "line", name, parent_id=area.id).id


def build(w: World) -> KpiWorld:
    services = quiet_engine(w)
    registry = w.registry
    line_a = line_under(w, w.ent_a, w.site_a, "一车间")
    line_b = line_under(w, w.ent_b, w.site_b, "乙车间")
    loom_002 = registry.create_device(w.ent_a, "loom-002", "loom", asset_id=line_a)[0].id
    loom_003 = registry.create_device(w.ent_a, "loom-003", "loom", asset_id=line_a)[0].id
    meter = registry.create_device(w.ent_a, "meter-01", "power_meter", asset_id=line_a)[0].id
    loom_b1 = registry.create_device(w.ent_b, "loom-b1", "loom", asset_id=line_b)[0].id
    services.analytics.places.invalidate()
    rows = [
        *loom_rows(loom_002, 0, 240, lambda m: not (m < 30 or 170 <= m < 180), 1),
        *loom_rows(loom_003, 120, 240, lambda m: not 165 <= m < 180, 2),
        *loom_rows(loom_b1, 120, 240, lambda m: m >= 180, 3),
        *meter_rows(meter, 120, 240),
    ]
    store_rows(services, rows)
    return KpiWorld(w, services, line_a, line_b, loom_002, loom_003, meter, loom_b1)


#: The energy baseline's days: 2026-10-01 to 10-21 (reference) and 11-01 to 11-07 (savings).
REFERENCE = ("2026-10-01", "2026-10-22")
SAVINGS = ("2026-11-01", "2026-11-08")
FOUR_HOURS = 4 * 60 * MINUTE


def daily_output(day: int) -> float:
    """Fabric metres loom-001 weaves on day ``day`` of a run: varies over the week."""
    return 100.0 + 10.0 * (day % 7)


def reference_energy(day: int) -> float:
    """kWh of a reference day: 50 kWh a day and 2 kWh a metre, and a little scatter."""
    return 50.0 + 2.0 * daily_output(day) + 1.5 * ((day * 3) % 5 - 2)


def counter_days(
    device: int, first_day: str, days: int, energy: Callable[[int], float]
) -> list[Row]:
    """Counters read every four hours from ``first_day``'s midnight: each day's output and energy
    spread evenly over it."""
    start = parse_instant(first_day, "day")
    rows: list[Row] = []
    fabric = kwh = 0.0
    for day in range(days):
        for k in range(6):
            ts = start + day * 6 * FOUR_HOURS + k * FOUR_HOURS
            rows += [(device, "fabric_m", ts, fabric), (device, "energy_kwh", ts, kwh)]
            fabric += daily_output(day) / 6
            kwh += energy(day) / 6
    end = start + days * 6 * FOUR_HOURS
    return [*rows, (device, "fabric_m", end, fabric), (device, "energy_kwh", end, kwh)]


def build_baseline_days(w: World) -> Services:
    """loom-001 of enterprise A (on no metered line) over the reference days and, 10 % below its
    baseline, over the first week of November (its counters start again from zero there, as a
    replaced controller's would)."""
    services = quiet_engine(w)
    reference = counter_days(w.device_a, REFERENCE[0], 21, reference_energy)
    later = counter_days(w.device_a, SAVINGS[0], 7, lambda d: 0.9 * (50.0 + 2.0 * daily_output(d)))
    store_rows(services, [*reference, *later])
    return services
