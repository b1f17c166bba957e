"""`shugu bench plant-history` at a toy size: every loom is fitted from the store, and the figures
come with their raw limit."""

from __future__ import annotations

from bench.plant_history import run


def test_the_bench_fits_every_loom_and_reports_its_raw_limit() -> None:
    result = run(quick=True, devices=2, runs=1, log=False)
    assert (result["devices"], result["devices_fitted"]) == (2, 2)
    assert result["fit_s"] > 0 and result["raw_read_s"] > 0 and result["raw_detector_s"] > 0
    assert result["fit_rows_per_s"] > 0 and result["fit_over_raw"] > 0
