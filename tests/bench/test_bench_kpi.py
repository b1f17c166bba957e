"""`shugu bench kpi` at a tiny size: the district registered, two days stored and turned into
facts, every figure measured; the answers from the facts agree with the raw scan's."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from bench.kpi import run
from bench.kpi_build import FIRST_DAY, day_start_ms
from bench.kpi_data import DAY_MS, Columns, Looms, M, ShedMeters
from bench.kpi_district import DISTRICT, with_mills
from bench.units import human

from shugu.sim.district import expand_enterprises, load_district
from shugu.sim.loom import LoomParams


def test_the_kpi_bench_measures_every_figure_and_its_answers_agree(tmp_path: Path) -> None:
    result = run(
        devices=60,
        days=2,
        mills=3,
        repeats=2,
        raw_repeats=1,
        late_points=1,
        log=False,
        keep=tmp_path,
    )
    json.dumps(result)
    for key in (
        "region_month_ms",
        "kpi_table_ms",
        "energy_table_ms",
        "device_day_ms",
        "raw_region_month_ms",
        "ratio_raw_to_region_month",
        "late_point_ms",
    ):
        assert result[key] > 0, key
    assert len(result["region_month_runs_ms"]) == 2
    assert result["device_day_hours"] == 24
    assert result["span_days"] == 2
    build = result["build"]
    # Three of the forty copies of a mill, and every enterprise the district has once.
    spec = with_mills(load_district(DISTRICT), 3)
    firms = [e for park in spec.parks for e in expand_enterprises(park, spec.region.code, 0)]
    mills = [e for e in firms if any(p.kind == "loom_shed" for p in e.plants)]
    assert result["enterprises"] == len(firms)
    assert result["devices"] == sum(build["profiles"].values())
    # Every device reports in every hour: a cell per device-hour.
    hours = result["devices"] * 2 * 24
    assert 0.95 * hours <= build["fact_rows"] <= hours
    assert build["points"] > 0
    # The facts answer what the raw points do.
    assert result["raw_vs_facts_efficiency_max_diff_pct"] < 0.05
    assert result["raw_vs_facts_oee_max_diff_pct"] < 0.05
    assert result["raw_vs_facts_energy_intensity_max_diff_share"] < 1e-6
    district = result["district"]
    assert district["mills"] == len(mills) >= 3
    low, middle, high = district["mill_oee_pct"]
    assert 70 < low <= middle <= high <= 100
    assert 1.1 < district["data_hall_pue_ratio"] < 1.6
    assert "region_month_ms" in human(result)


#: The demo district's mills (districts/changle.yaml): about 1.3 stops an hour at 600 rpm.
WELL_RUN = LoomParams(
    warp_stops_per_1e5_picks=1.5, weft_stops_per_1e5_picks=1.5, mechanical_stops_per_1e5_picks=0.5
)


def test_days_of_looms_hold_their_stops_and_counters_that_only_grow() -> None:
    looms = Looms.make(
        np.array([11, 12, 13], np.int64),
        np.array([0, 0, 1], np.int64),
        [WELL_RUN, replace(WELL_RUN, speed_rpm=460.0, no_order_per_day=1.5, no_order_min=240.0)],
        np.array([[False] * 7, [False] * 6 + [True]]),  # the second mill rests on Sundays
        seed=3,
    )
    meters = ShedMeters.make(np.array([21, 22], np.int64), np.array([0, 2], np.int64), seed=4)
    sunday = day_start_ms(FIRST_DAY)
    rng = np.random.default_rng(5)
    out = Columns()
    for k, weekday in enumerate((7, 1)):
        day = sunday + k * DAY_MS
        mark = len(out.ts)
        stops = looms.day(day, weekday, rng, out)
        meters.day(day, looms, stops, out)
        assert (stops.end > stops.start).all()
        device, metric, ts, value = _columns(out, mark)
        assert ((ts >= day) & (ts < day + DAY_MS)).all()
        running = metric == M["running"]
        assert set(np.unique(value[running]).tolist()) <= {0.0, 1.0}
        # The well-run mill's looms run most of the day; the other mill's loom stands all
        # Sunday (its rest day) and waits for orders more than they stand on Monday.
        share = {d: value[running & (device == d)].mean() for d in (11, 12, 13)}
        assert share[11] > 0.9 and share[12] > 0.9
        if weekday == 7:
            assert share[13] < 0.01
        else:
            assert 0.5 < share[13] < min(share[11], share[12])
        # A loom's beat never leaves more than two minutes (its profile's gap) without a point.
        for d in (11, 12, 13):
            assert np.diff(np.sort(ts[running & (device == d)])).max() <= 120_000
    device, metric, ts, value = _columns(out, 0)
    for name in ("picks", "fabric_m", "energy_kwh"):
        for d in (11, 12, 13, 21, 22):
            rows = (device == d) & (metric == M[name])
            if not rows.any():
                continue
            series = value[rows][np.argsort(ts[rows])]
            assert not np.isnan(series).any()
            assert (np.diff(series) >= 0).all(), (name, d)


def _columns(out: Columns, first: int) -> tuple[np.ndarray, ...]:
    """The points added from array ``first`` on."""
    return tuple(
        np.concatenate(part[first:]) for part in (out.device, out.metric, out.ts, out.value)
    )
