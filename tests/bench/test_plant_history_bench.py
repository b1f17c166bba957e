"""`shugu bench plant-history` at a toy size: every loom is fitted from the store, and the figures
come with their raw limit."""

from __future__ import annotations

from bench.plant_history import run


def test_the_bench_fits_every_loom_and_reports_its_raw_limit() -> None:
    result = run(quick=True, devices=2, runs=1, log=False)
    assert (result["devices"], result["devices_fitted"]) == (2, 2)
    assert result["fit_s"] > 0 and result["raw_read_s"] > 0 and result["raw_detector_s"] > 0
    assert result["fit_rows_per_s"] > 0 and result["fit_over_raw"] > 0
    # The second day is back-tested whole: every loom's rows after its fit, and the one loom
    # whose power steps up is the one alarmed.
    assert result["backtest_rows"] >= 2 * 8_640
    assert result["backtest_alarmed_devices"] == [1] and result["backtest_alarms"] >= 1
    assert result["save_s"] > 0 and result["save_over_raw"] > 0
