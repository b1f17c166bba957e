"""Shared capacity's view of an enterprise's looms, from the fact engine and the store: each
loom's nameplate (client attributes), whether it runs now and why not, and how it ran over the
last week (efficiency, and the share of time it had an order)."""

from __future__ import annotations

import numpy as np

from shugu.analytics.capacity import LOOM_TYPES, LoomStatus, LoomType
from shugu.analytics.places import LOOM_TYPE
from shugu.analytics.query import KpiQuery, KpiService
from shugu.analytics.time_model import DATA_FACT, NOT_ALLOCATED_FACT
from shugu.domain.timeutil import utc_now_ms
from shugu.store.telemetry import TelemetryStore

LOOM_PROFILE = "loom"
WEEK_MS = 7 * 86_400_000
HOUR_S = 3600.0


class EngineLoomSource:
    """``capacity_service.LoomSource`` over the running analytics."""

    def __init__(self, service: KpiService, store: TelemetryStore) -> None:
        self._service = service
        self._store = store

    def looms(self, enterprise_id: int) -> list[LoomStatus]:
        places = self._service.places.current()
        mask = self._service.device_mask(places, LOOM_PROFILE, frozenset({enterprise_id}), None)
        positions = np.flatnonzero(mask)
        if not len(positions):
            return []
        now = utc_now_ms()
        table = self._service.table(
            KpiQuery(
                LOOM_PROFILE,
                now - WEEK_MS,
                now,
                "device",
                kpis=("efficiency",),
                enterprises=frozenset({enterprise_id}),
            )
        )
        row_of = {g.id: i for i, g in enumerate(table.groups)}
        devices = places.device[positions]
        latest = self._store.latest([int(d) for d in devices])
        now_values: dict[tuple[int, str], float] = {}
        if latest.num_rows:
            for d, m, v in zip(
                latest.column("device").to_pylist(),
                latest.column("metric").cast("string").to_pylist(),
                latest.column("value").to_pylist(),
                strict=True,
            ):
                now_values[(int(d), str(m))] = float(v)
        out: list[LoomStatus] = []
        for position, device in zip(positions.tolist(), devices.tolist(), strict=True):
            row = row_of.get(device)
            efficiency = allocation = None
            if row is not None:
                value = float(table.kpis["efficiency"][row, 0])
                efficiency = None if np.isnan(value) else value / 100.0
                data = float(table.facts.get(DATA_FACT, np.zeros((1, 1)))[row, 0])
                idle = float(table.facts.get(NOT_ALLOCATED_FACT, np.zeros((1, 1)))[row, 0])
                allocation = None if data <= 0 else min(max(1.0 - idle / data, 0.0), 1.0)
            running = now_values.get((device, "running"))
            cause = now_values.get((device, "stop_cause"))
            kind = places.texts[LOOM_TYPE][position]
            out.append(
                LoomStatus(
                    device_id=device,
                    loom_type=_loom_type(kind),
                    width_cm=_number(places.numbers.get("width_cm"), position),
                    rated_speed_rpm=_number(places.numbers.get("rated_speed_rpm"), position),
                    running=running == 1.0,
                    stop_cause=None if running == 1.0 or cause is None else int(cause),
                    efficiency=efficiency,
                    allocation=allocation,
                )
            )
        return out

    def planned_hours(self, enterprise_id: int, day_start_ms: int, days: int) -> list[float]:
        day = 86_400_000
        return [
            self._service.calendars.planned_ms(
                enterprise_id, day_start_ms + i * day, day_start_ms + (i + 1) * day
            )
            / 1000.0
            / HOUR_S
            for i in range(days)
        ]


def _loom_type(text: str) -> LoomType | None:
    for kind in LOOM_TYPES:
        if kind == text:
            return kind
    return None


def _number(values: np.ndarray | None, position: int) -> float | None:
    if values is None:
        return None
    value = float(values[position])
    return None if np.isnan(value) else value
