"""KPI tables: roll-ups over the hierarchy and the calendar equal a brute-force sum of each
device's hourly facts (property test), ratios come from summed times, and planned time follows
each enterprise's shift calendar (a night shift across midnight, a break, registration time)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shugu.analytics.calendar import CalendarVersion, CalendarVersions
from shugu.analytics.calendar_body import parse_calendar
from shugu.analytics.calendars import CalendarBook
from shugu.analytics.engine import FactEngine
from shugu.analytics.fact_store import FactStore
from shugu.analytics.facts import Points, compute_cells
from shugu.analytics.model import HOUR_MS, FactSpec, KpiSpec, ProfileKpis
from shugu.analytics.places import PlaceBook, Places
from shugu.analytics.query import KpiQuery, KpiService
from shugu.domain.batch import Batch
from shugu.domain.expr import parse_expression
from shugu.store.duckdb_store import DuckDBTelemetryStore

H = HOUR_MS
#: 2026-03-10 00:00 in China.
DAY = 1_773_072_000_000
KPIS = ProfileKpis(
    profile="machine",
    facts=(
        FactSpec("run_s", "state_time", metric="running", states=(1,)),
        FactSpec("stop_s", "state_time", metric="running", states=(0,)),
        FactSpec("apt_s", "state_time", metric="running", states=(1,), planned_only=True),
        FactSpec("kwh", "counter", metric="energy"),
    ),
    kpis=(
        KpiSpec(
            "efficiency",
            parse_expression("run_s / (run_s + stop_s)"),
            "%",
            "效率",
            "Efficiency",
            scale=100,
            better="higher",
        ),
        KpiSpec(
            "availability",
            parse_expression("apt_s / planned_s"),
            "%",
            "时间开动率",
            "Availability",
            scale=100,
            better="higher",
        ),
        KpiSpec("kwh", parse_expression("kwh"), "kWh", "电能", "Energy", quantity=True),
    ),
    max_gap_s=900,
)
METRICS = {name: i for i, name in enumerate(KPIS.metrics)}
# Six machines: two enterprises in two parks, three lines.
DEVICES = [1, 2, 3, 4, 5, 6]
ENTERPRISE = [10, 10, 10, 20, 20, 20]
LINE = [100, 100, 101, 200, 200, -1]
PARK = [1, 1, 1, 2, 2, 2]


def places() -> Places:
    n = len(DEVICES)
    return Places(
        device=np.array(DEVICES, np.int64),
        profile=["machine"] * n,
        enterprise=np.array(ENTERPRISE, np.int64),
        line=np.array(LINE, np.int64),
        park=np.array(PARK, np.int64),
        industry=np.array([502, 502, 502, 405, 405, 405], np.int64),
        created_ms=np.array([0, 0, 0, 0, 0, DAY + 12 * H], np.int64),
        assets=[(100,), (100,), (101,), (200,), (200,), ()],
        device_names={d: f"机台 {d}" for d in DEVICES},
        enterprise_names={10: "甲", 20: "乙"},
        line_names={100: "一线", 101: "二线", 200: "三线"},
        park_names={1: "园一", 2: "园二"},
        enterprise_park={10: 1, 20: 2},
        enterprise_industry={10: "0502", 20: "0405"},
        numbers={},
        texts={"meter_role": [""] * n, "loom_type": [""] * n},
        index_of={d: i for i, d in enumerate(DEVICES)},
    )


def calendars(enterprise_id: int) -> CalendarVersions:
    if enterprise_id == 20:
        # A day shift with a lunch break and a night shift across midnight; 2 h unplanned.
        body = {
            "shifts": [
                {"name": "白班", "start": "08:00", "end": "18:00"},
                {"name": "夜班", "start": "20:00", "end": "08:00"},
            ],
            "breaks": [{"start": "12:00", "end": "12:30"}],
        }
        return CalendarVersions(20, (CalendarVersion(date(2020, 1, 1), parse_calendar(body)),))
    return CalendarVersions(enterprise_id)


def build(tmp: Path, rows: list[tuple[int, str, int, float]]) -> KpiService:
    store = DuckDBTelemetryStore(Path(tempfile.mkdtemp(dir=tmp)) / "t.duckdb")
    book = CalendarBook(calendars)
    place_book = PlaceBook(places)
    now = DAY + 3 * 86_400_000
    engine = FactEngine(
        store,
        place_book,
        FactStore(None, {"machine": KPIS}),
        {"machine": KPIS},
        planned=book.planned_for,
        clock=lambda: now,
    )
    store.add_listener(engine.on_batch)
    engine.load()
    if rows:
        ids = store.metric_ids(list(METRICS))
        store.submit(
            Batch(
                np.array([r[0] for r in rows], np.int32),
                np.array([ids[METRICS[r[1]]] for r in rows], np.int32),
                np.array([r[2] for r in rows], np.int64),
                np.array([r[3] for r in rows], np.float64),
                np.zeros(len(rows), np.uint8),
            )
        ).result(timeout=10)
    engine.process_now()
    store.close()
    return KpiService(engine, place_book, book, clock=lambda: now)


@st.composite
def district_rows(draw: st.DrawFn) -> list[tuple[int, str, int, float]]:
    rows = []
    for device in DEVICES:
        t = DAY + draw(st.integers(0, 40)) * 600_000
        energy = 0.0
        for _ in range(draw(st.integers(0, 25))):
            t += draw(st.integers(1, 18)) * 300_000
            rows.append((device, "running", t, float(draw(st.integers(0, 1)))))
            energy += draw(st.integers(0, 5))
            rows.append((device, "energy", t, energy))
    return rows


def brute_force(rows: list[tuple[int, str, int, float]], book: CalendarBook) -> dict:
    """Each device's facts per hour, straight from its whole series."""
    points = Points(
        np.array([r[0] for r in rows], np.int64),
        np.array([METRICS[r[1]] for r in rows], np.int64),
        np.array([r[2] for r in rows], np.int64),
        np.array([r[3] for r in rows], np.float64),
    )
    cells, _ = compute_cells(KPIS, points, planned=book.planned_for(places()))
    return {
        (int(d), int(h)): cells.values[i]
        for i, (d, h) in enumerate(zip(cells.device, cells.hour, strict=True))
    }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    district_rows(),
    st.sampled_from(["device", "line", "enterprise", "park", "industry", "region"]),
    st.sampled_from([None, "hour", "day"]),
    st.integers(0, 30),
    st.integers(1, 60),
)
def test_every_roll_up_equals_the_sum_of_its_machines_hours(
    tmp_path: Path,
    rows: list[tuple[int, str, int, float]],
    level: str,
    grain: str | None,
    start_h: int,
    hours: int,
) -> None:
    service = build(tmp_path, rows)
    start, end = DAY + start_h * H, DAY + (start_h + hours) * H
    table = service.table(KpiQuery("machine", start, end, level, grain))  # type: ignore[arg-type]
    cells = brute_force(rows, CalendarBook(calendars)) if rows else {}
    place = places()
    group_of = dict(zip(DEVICES, place.group_ids(level).tolist(), strict=True))  # type: ignore[arg-type]
    for g, group in enumerate(table.groups):
        for p, period in enumerate(table.periods):
            expected = np.zeros(len(KPIS.facts))
            for (d, h), v in cells.items():
                if group_of[d] == group.id and period.start_ms <= h < period.end_ms:
                    expected += v
            got = np.array([table.facts[f][g, p] for f in KPIS.fact_names])
            assert np.allclose(got, expected, atol=1e-6), (group, period)
            run, stop = expected[0], expected[1]
            want = 100 * run / (run + stop) if run + stop > 0 else np.nan
            assert np.allclose(table.kpis["efficiency"][g, p], want, equal_nan=True)


def test_planned_time_follows_the_calendar_and_registration(tmp_path: Path) -> None:
    # No machine reported: each still had its planned time, and ran none of it.
    service = build(tmp_path, [])
    table = service.table(KpiQuery("machine", DAY, DAY + 86_400_000, "device"))
    assert np.all(table.kpis["availability"] == 0)
    assert np.all(np.isnan(table.kpis["efficiency"]))
    planned = {
        g.id: float(table.facts["planned_s"][i, 0]) / 3600 for i, g in enumerate(table.groups)
    }
    # Enterprise 10: the default calendar, round the clock.
    assert planned[1] == 24
    # Enterprise 20: 00:00-08:00 (the night shift begun the day before) + 08:00-18:00 less half
    # an hour's lunch + 20:00-24:00 = 8 + 9.5 + 4.
    assert planned[4] == 21.5
    # Device 6 was registered at noon: 12:00-18:00 less the break ends at 12:30 → 5.5 + 4.
    assert planned[6] == 9.5
    # History sent from before its registration: device 6 counts from its first hour of data.
    later = build(tmp_path, [(6, "running", DAY + 9 * H + m * 60_000, 1.0) for m in range(3)])
    table = later.table(KpiQuery("machine", DAY, DAY + 86_400_000, "device"))
    six = next(i for i, g in enumerate(table.groups) if g.id == 6)
    # 09:00-18:00 less the break (it was registered at noon) + 20:00-24:00.
    assert float(table.facts["planned_s"][six, 0]) / 3600 == 8.5 + 4
    # The night shift's hours after midnight belong to the day before.
    shifts = service.table(
        KpiQuery("machine", DAY, DAY + 86_400_000, "device", "shift", within=("line", 200))
    )
    assert [p.label for p in shifts.periods] == [
        "2026-03-09 夜班",
        "2026-03-10 白班",
        "2026-03-10 夜班",
    ]
    assert [p.end_ms - p.start_ms for p in shifts.periods] == [8 * H, 10 * H, 4 * H]


def test_availability_is_recomputed_from_sums_never_averaged(tmp_path: Path) -> None:
    # Machine 1 runs 1 h of 1 h, machine 3 runs 0 h of 3 h with data: the line's efficiency is
    # 25 %, not the 50 % an average of the machines' percentages would give.
    rows = [(1, "running", DAY + i * 900_000, 1.0) for i in range(5)]
    rows += [(3, "running", DAY + i * 900_000, 0.0) for i in range(13)]
    service = build(tmp_path, rows)
    table = service.table(
        KpiQuery("machine", DAY, DAY + 6 * H, "enterprise", enterprises=frozenset({10}))
    )
    assert [g.name for g in table.groups] == ["甲"]
    assert table.kpis["efficiency"][0, 0] == 25.0
