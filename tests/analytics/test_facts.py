"""Facts per device and hour: hand-computed spans, counters across resets and gaps, and the
property the engine rests on (batch by batch with carries equals the whole series at once)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shugu.analytics.facts import Carry, Cells, Points, compute_cells
from shugu.analytics.model import HOUR_MS, Bound, FactSpec, ProfileKpis
from shugu.domain.expr import parse_expression

H = HOUR_MS
T0 = 1_773_100_800_000  # an hour boundary
KPIS = ProfileKpis(
    profile="test",
    facts=(
        FactSpec("run_s", "state_time", metric="running", states=(1,)),
        FactSpec("stop_s", "state_time", metric="running", states=(0,)),
        FactSpec("stops", "state_entries", metric="running", states=(0,)),
        FactSpec("kwh", "counter", metric="energy"),
        FactSpec("kw_h", "integral", expr=parse_expression("power")),
        FactSpec("warm_s", "time_within", bounds=(Bound(parse_expression("power"), minimum=2.0),)),
        FactSpec("data_s", "data_time", expr=parse_expression("power")),
        FactSpec("run_planned_s", "state_time", metric="running", states=(1,), planned_only=True),
        FactSpec("kwh_planned", "counter", metric="energy", planned_only=True),
    ),
    kpis=(),
    max_gap_s=300,
)
METRICS = {name: i for i, name in enumerate(KPIS.metrics)}


def points(rows: list[tuple[int, str, int, float]]) -> Points:
    return Points(
        np.array([r[0] for r in rows], np.int64),
        np.array([METRICS[r[1]] for r in rows], np.int64),
        np.array([r[2] for r in rows], np.int64),
        np.array([r[3] for r in rows], np.float64),
    )


def as_dict(cells: Cells) -> dict[tuple[int, int, str], float]:
    out: dict[tuple[int, int, str], float] = {}
    for i in range(len(cells)):
        for j, fact in enumerate(KPIS.facts):
            if cells.values[i, j]:
                key = (int(cells.device[i]), int(cells.hour[i]), fact.name)
                out[key] = out.get(key, 0.0) + float(cells.values[i, j])
    return out


class LunchBreak:
    """Planned time: everything but 30 minutes from T0 + 30 min."""

    def overlap(self, device: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        lo, hi = T0 + 30 * 60_000, T0 + 60 * 60_000
        cut = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0, None)
        return (end - start) - cut


def test_states_hold_until_the_next_point_and_split_at_the_hour() -> None:
    rows = [
        (1, "running", T0 + 50 * 60_000, 1),
        (1, "running", T0 + 62 * 60_000, 0),  # 12 min running, 10 before the hour, 2 after
        (1, "running", T0 + 63 * 60_000, 1),  # a one-minute stop
        (1, "running", T0 + 64 * 60_000, 1),
    ]
    # Points 12 min apart would be a gap at 300 s; this profile allows 15 minutes.
    kpis = ProfileKpis("test", KPIS.facts, (), max_gap_s=900)
    cells, carry = compute_cells(kpis, points(rows), planned=LunchBreak())
    got = as_dict(cells)
    assert got[(1, T0, "run_s")] == 600
    assert got[(1, T0 + H, "run_s")] == 120 + 60
    assert got[(1, T0 + H, "stop_s")] == 60
    assert got[(1, T0 + H, "stops")] == 1
    # The lunch break (T0+30 … T0+60) is not planned: only the running after the hour counts.
    assert got[(1, T0 + H, "run_planned_s")] == 180
    assert (1, T0, "run_planned_s") not in got
    assert carry.ts.tolist() == [T0 + 64 * 60_000]


def test_a_gap_holds_no_value_but_a_counter_spreads_over_it() -> None:
    rows = [
        (2, "running", T0, 1),
        (2, "energy", T0, 100.0),
        (2, "running", T0 + 2 * H, 1),  # two hours of silence: a gap
        (2, "energy", T0 + 2 * H, 160.0),
        (2, "energy", T0 + 2 * H + 60_000, 5.0),  # the meter restarted: 5 kWh since
    ]
    got = as_dict(compute_cells(KPIS, points(rows))[0])
    # Only the minute after the silence runs: nothing is held across the two hours.
    assert [k for k in got if k[2] == "run_s"] == [(2, T0 + 2 * H, "run_s")]
    assert got[(2, T0 + 2 * H, "run_s")] == 60
    assert got[(2, T0, "kwh")] == 30 and got[(2, T0 + H, "kwh")] == 30
    assert got[(2, T0, "kwh_planned")] == 30  # always planned here
    assert got[(2, T0 + 2 * H, "kwh")] == 5


def test_integrals_and_conditions_over_held_values() -> None:
    rows = [
        (3, "power", T0, 3.0),
        (3, "power", T0 + 60_000, 1.0),
        (3, "power", T0 + 120_000, 1.0),
    ]
    got = as_dict(compute_cells(KPIS, points(rows))[0])
    assert abs(got[(3, T0, "kw_h")] - (3.0 + 1.0) / 60) < 1e-12
    assert got[(3, T0, "warm_s")] == 60 and got[(3, T0, "data_s")] == 120


def test_a_counter_jittering_down_a_little_counts_nothing_twice() -> None:
    rows = [(5, "energy", T0, 123456.0), (5, "energy", T0 + 60_000, 123455.9)]
    rows.append((5, "energy", T0 + 120_000, 123456.2))
    got = as_dict(compute_cells(KPIS, points(rows))[0])
    assert abs(got[(5, T0, "kwh")] - 0.3) < 1e-6


def test_a_counter_longer_silent_than_its_limit_is_dropped() -> None:
    rows = [(4, "energy", T0, 1.0), (4, "energy", T0 + 7 * H, 9.0)]
    assert as_dict(compute_cells(KPIS, points(rows))[0]) == {}


def _series(draw: st.DrawFn) -> list[tuple[int, str, int, float]]:
    n = draw(st.integers(1, 60))
    rows = []
    for _ in range(n):
        device = draw(st.integers(1, 3))
        metric = draw(st.sampled_from(list(METRICS)))
        ts = T0 + draw(st.integers(0, 3 * H // 1000)) * 1000
        value = (
            float(draw(st.integers(0, 3)))
            if metric == "running"
            else draw(st.floats(0, 50, allow_nan=False))
        )
        rows.append((device, metric, ts, value))
    return rows


@st.composite
def series(draw: st.DrawFn) -> list[tuple[int, str, int, float]]:
    return _series(draw)


def _close(a: dict[tuple[int, int, str], float], b: dict[tuple[int, int, str], float]) -> bool:
    keys = set(a) | set(b)
    return all(
        abs(a.get(k, 0.0) - b.get(k, 0.0)) <= 1e-6 * max(1.0, abs(a.get(k, 0.0))) for k in keys
    )


@settings(max_examples=150, deadline=None)
@given(series(), st.integers(1, 5))
def test_batches_in_order_with_carries_add_up_to_the_whole(
    rows: list[tuple[int, str, int, float]], parts: int
) -> None:
    # The engine's in-order path: each batch strictly after the last.
    rows = sorted({(r[0], r[1], r[2]): r for r in rows}.values(), key=lambda r: r[2])
    whole = as_dict(compute_cells(KPIS, points(rows), planned=LunchBreak())[0])
    times = sorted({r[2] for r in rows})
    cuts = sorted(set(np.linspace(0, len(times), parts + 1).astype(int).tolist()))
    carry: Carry | None = None
    total: dict[tuple[int, int, str], float] = {}
    for lo, hi in itertools.pairwise(cuts):
        chunk = [r for r in rows if times[lo] <= r[2] < (times[hi] if hi < len(times) else 1 << 62)]
        if not chunk:
            continue
        batch = points(chunk)
        given_carry = carry.of(batch.device) if carry is not None else None
        cells, ended = compute_cells(KPIS, batch, given_carry, planned=LunchBreak())
        # A device absent from a batch keeps its earlier carry, as the engine keeps it.
        carry = ended if carry is None else carry.merged(ended)
        for key, value in as_dict(cells).items():
            total[key] = total.get(key, 0.0) + value
    assert _close(total, whole)


@settings(max_examples=100, deadline=None)
@given(series())
def test_a_window_recomputes_exactly_its_hours(rows: list[tuple[int, str, int, float]]) -> None:
    rows = list({(r[0], r[1], r[2]): r for r in rows}.values())
    whole = as_dict(compute_cells(KPIS, points(rows))[0])
    window = as_dict(compute_cells(KPIS, points(rows), hours=(T0 + H, T0 + 2 * H))[0])
    assert window == {k: v for k, v in whole.items() if k[1] == T0 + H}
