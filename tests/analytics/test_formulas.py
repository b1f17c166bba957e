"""KPI formulas on summed facts: vectorised over any shape, NaN where undefined, and derived facts
per device so that a machine's own constant multiplies its own time."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from shugu.analytics.definitions import kpis_for, parse_kpis
from shugu.analytics.formulas import derive, evaluate
from shugu.analytics.model import ProfileKpis
from shugu.domain.errors import ValidationError


def _loom() -> ProfileKpis:
    kpis = kpis_for("loom")
    assert kpis is not None
    return kpis


def test_kpis_broadcast_over_groups_and_periods() -> None:
    # Two groups × three days; planned time is the same every day (a scalar broadcasts).
    run = np.array([[100.0, 200, 300], [0, 50, 75]])
    stop = np.array([[100.0, 0, 100], [0, 50, 25]])
    out = evaluate(_loom(), {"run_s": run, "stop_s": stop}, names=["efficiency"])
    assert out["efficiency"].shape == (2, 3)
    np.testing.assert_allclose(out["efficiency"][0], [50.0, 100.0, 75.0])
    # A group without data has no efficiency: NaN, not 0 and not an error.
    assert np.isnan(out["efficiency"][1, 0])
    np.testing.assert_allclose(out["efficiency"][1, 1:], [50.0, 75.0])


def test_undefined_is_nan_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = evaluate(
            _loom(),
            {"warp_stop_s": np.zeros(3), "warp_stops": np.array([0.0, 2, 0])},
            names=["warp_repair_min"],
        )
    np.testing.assert_array_equal(np.isnan(out["warp_repair_min"]), [True, False, True])
    assert out["warp_repair_min"][1] == 0.0


def test_every_kpi_of_a_profile_when_no_names_are_given() -> None:
    kpis = _loom()
    sums = {name: np.array([1.0, 2.0]) for name in (*kpis.fact_names, "ideal_q", "planned_s")}
    out = evaluate(kpis, sums)
    assert list(out) == [k.name for k in kpis.kpis]
    assert all(v.shape == (2,) for v in out.values())


def test_plain_numbers_and_lists_are_taken_too() -> None:
    out = evaluate(_loom(), {"energy_kwh": 30, "fabric_m": [40, 0]}, names=["kwh_per_m"])
    assert out["kwh_per_m"][0] == 0.75 and np.isnan(out["kwh_per_m"][1])


def test_a_result_is_never_the_callers_own_array() -> None:
    picks = np.array([5.0, 6.0])
    out = evaluate(_loom(), {"picks": picks}, names=["picks"])
    out["picks"][0] = -1
    assert picks[0] == 5.0


def test_an_unknown_kpi_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="no KPI 'oee2'; its KPIs: efficiency") as caught:
        evaluate(_loom(), {}, names=["oee2"])
    assert caught.value.code == "unknown_kpi"


def test_a_fact_missing_from_the_sums_is_named() -> None:
    with pytest.raises(KeyError, match="planned_s"):
        evaluate(_loom(), {"apt_s": np.ones(2)}, names=["availability"])


RATED = """
profile: loom
parameters:
  rated_speed_rpm: {default: 600, unit: rpm, attribute: rated_speed_rpm}
facts:
  run_s: {kind: state_time, metric: running, states: [1]}
  picks: {kind: counter, metric: picks}
derived:
  ideal_picks: {formula: rated_speed_rpm * run_s / 60, unit: pick}
kpis:
  performance: {formula: picks / ideal_picks, unit: "%", scale: 100, label_zh: 性能, label_en: P}
  ideal_rate: {formula: rated_speed_rpm, unit: rpm, label_zh: 额定车速, label_en: Rated speed}
"""


def test_a_derived_fact_uses_each_machines_own_constant() -> None:
    kpis = parse_kpis(RATED, "rated.yaml")
    # Loom A (600 ppm) runs 100 min and weaves 54,000 picks (90 %); loom B (300 ppm) runs 300 min
    # and weaves 90,000 picks (100 %).
    per_device = {"run_s": np.array([6000.0, 18000.0]), "picks": np.array([54000.0, 90000.0])}
    derived = derive(kpis, per_device, {"rated_speed_rpm": np.array([600.0, 300.0])})
    np.testing.assert_allclose(derived["ideal_picks"], [60000.0, 90000.0])
    assert "ideal_picks" not in per_device  # a new dict; the caller's is left as it was
    group = {name: values.sum(keepdims=True) for name, values in derived.items()}
    # 144,000 / 150,000: the mean rated speed times the group's running time would give 80 %.
    np.testing.assert_allclose(evaluate(kpis, group, ["performance"])["performance"], [96.0])


def test_a_machine_without_the_attribute_takes_the_default() -> None:
    kpis = parse_kpis(RATED, "rated.yaml")
    per_device = {"run_s": np.array([[60.0, 120.0], [60.0, 60.0]]), "picks": np.zeros((2, 2))}
    # Two looms × two hours; the parameters broadcast per loom, NaN where a loom has no attribute.
    derived = derive(kpis, per_device, {"rated_speed_rpm": np.array([[300.0], [np.nan]])})
    np.testing.assert_allclose(derived["ideal_picks"], [[300.0, 600.0], [600.0, 600.0]])
    derived = derive(kpis, per_device, {})
    np.testing.assert_allclose(derived["ideal_picks"], [[600.0, 1200.0], [600.0, 600.0]])


def test_a_parameter_in_a_kpi_formula_is_its_default_unless_given() -> None:
    kpis = parse_kpis(RATED, "rated.yaml")
    assert evaluate(kpis, {}, ["ideal_rate"])["ideal_rate"] == 600.0
    given = evaluate(kpis, {"rated_speed_rpm": np.array([450.0])}, ["ideal_rate"])
    np.testing.assert_array_equal(given["ideal_rate"], [450.0])


def test_a_profile_without_derived_facts_passes_its_sums_through() -> None:
    kpis = kpis_for("rack_sensor")
    assert kpis is not None
    out = derive(kpis, {"data_s": [3600, 1800]}, {})
    assert list(out) == ["data_s"]
    np.testing.assert_array_equal(out["data_s"], [3600.0, 1800.0])


def test_a_sites_blowdown_is_the_sum_of_its_towers_each_at_its_own_cycles() -> None:
    import numpy as np

    from shugu.analytics.definitions import kpis_for
    from shugu.analytics.formulas import derive, evaluate

    towers = kpis_for("cooling_tower")
    assert towers is not None
    # Two towers an hour each, evaporating 10 m³, at COC 2 and 6: blowdown 10 + 2 = 12 m³.
    hour = np.array([3600.0, 3600.0])
    per_tower = {name: np.zeros(2) for name in towers.fact_names}
    per_tower.update(
        evaporation_m3=np.array([10.0, 10.0]),
        circulation_m3=np.array([1000.0, 1000.0]),
        circ_cond_h=np.array([2000.0, 6000.0]),
        circ_cond_s=hour,
        makeup_cond_h=np.array([1000.0, 1000.0]),
        makeup_cond_s=hour,
    )
    derived = derive(towers, per_tower, {})
    site = {name: np.array(values).sum() for name, values in derived.items()}
    figures = evaluate(towers, site, ["blowdown_m3", "makeup_m3"])
    assert abs(float(figures["blowdown_m3"]) - 12.0) < 1e-9
    assert abs(float(figures["makeup_m3"]) - (20.0 + 12.0 + 0.4)) < 1e-9
