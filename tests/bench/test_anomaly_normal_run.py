"""`shugu bench anomaly` on a normal run: the share of rows alarmed, and the run judged after
longer fit periods, so one episode that never ends is not read as one false alarm."""

from __future__ import annotations

import numpy as np
from bench.anomaly import NORMAL_FIT_ROWS, _alarmed_fraction, _normal_by_fit
from bench.anomaly_data import Experiment

from shugu.monitor.anomaly_plant import DEFAULT_PLANT_PARAMS


def _warming_pump(rows: int = 4600, settled_at: int = 2500) -> Experiment:
    """Two sensors at 1 s: noise around a level that climbs for ``settled_at`` rows, then holds."""
    rng = np.random.default_rng(7)
    climb = np.minimum(np.arange(rows), settled_at) / settled_at
    values = np.stack([10.0 + 2.0 * climb, 5.0 - 1.0 * climb], axis=1)
    values += rng.normal(0.0, 0.1, size=(rows, 2))
    ts = 1_700_000_000_000 + 1000 * np.arange(rows, dtype=np.int64)
    return Experiment("anomaly-free/pump.csv", ts, values, np.zeros(rows, np.bool_), ["a", "b"])


def test_the_share_of_rows_alarmed_counts_what_rising_edges_do_not() -> None:
    held = np.array([False, True, True, True, True])
    assert _alarmed_fraction([held]) == 0.8
    assert _alarmed_fraction([held, np.zeros(5, np.bool_)]) == 0.4
    assert _alarmed_fraction([]) == 0.0


def test_a_fit_that_covers_the_warm_up_is_quiet_after_it_and_a_short_one_is_not() -> None:
    by_fit = _normal_by_fit([_warming_pump()], DEFAULT_PLANT_PARAMS)
    assert list(by_fit) == [str(n) for n in NORMAL_FIT_ROWS]
    short, covering = by_fit["400"], by_fit["3000"]
    assert isinstance(short, dict) and isinstance(covering, dict)
    assert short["alarmed_fraction"] > 0.5 and short["judged_rows"] == 4200
    assert covering == {"fp_per_series_week": 0.0, "alarmed_fraction": 0.0, "judged_rows": 1600}


def test_a_run_shorter_than_a_fit_is_not_judged_after_it() -> None:
    assert list(_normal_by_fit([_warming_pump(rows=1500)], DEFAULT_PLANT_PARAMS)) == ["400", "1000"]
