"""A device's page says how far each rule that learns before it judges has got: rows of a plant
rule's fit, hours of an anomaly rule's learning day, as of the monitor's last save."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from shugu.monitor.anomaly_rule import AnomalyEvaluator
from shugu.monitor.evaluators import Progress
from shugu.monitor.learning import Learning, device_learning
from shugu.monitor.rule_service import device_rules, save_override, save_rule
from shugu.monitor.rules import custom_rule_ref
from shugu.monitor.service import Monitor
from tests.monitor.site import DAY, Site, anomaly_rule, curve
from tests.monitor.test_engine import engine_with


def plant_rule(site: Site, monitor: Monitor, fit_points: int, rule_id: int | None = None) -> str:
    body = {
        "rule": {
            "key": "inlet_plant", "label_zh": "进风模型", "label_en": "inlet model",
            "kind": "plant", "metrics": ["inlet_c"], "fit_points": fit_points,
        },
        "scope": {"device_id": site.device},
    }  # fmt: skip
    record = save_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id).record
    return custom_rule_ref(record.id)


def test_a_plant_rule_counts_the_rows_of_its_fit_as_the_monitor_saves_them(site: Site) -> None:
    monitor = site.monitor()
    ref = plant_rule(site, monitor, fit_points=100)
    before = device_learning(site.registry, monitor.engine.rules(), site.device)
    # The rack sensor's shipped threshold rules learn nothing: they are not listed.
    assert list(before) == [ref]
    assert before[ref].saved_at is None and not before[ref].learned
    assert (before[ref].progress.done, before[ref].progress.needed) == (0, 100)

    site.feed(monitor, curve(40, seed=1), 0)
    # Learned, but not saved yet: nothing a restart would keep.
    assert device_learning(site.registry, monitor.engine.rules(), site.device)[ref].saved_at is None
    monitor.save_states()
    partway = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    assert (partway.progress.done, partway.progress.unit, partway.percent) == (40, "rows", 40)
    assert partway.saved_at is not None and partway.saved_at.tzinfo is not None
    assert not partway.learned

    site.feed(monitor, curve(80, seed=2, start=40), 40)
    monitor.save_states()
    done = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    assert done.learned and done.percent == 100 and done.progress.done == 100
    [listed] = [r for r in device_rules(site.registry, monitor, site.enterprise, site.device)
                if r.ref == ref]  # fmt: skip
    assert listed.learning == done


def test_an_anomaly_rule_counts_the_minutes_of_its_learning_day(site: Site) -> None:
    monitor = site.monitor()
    ref = anomaly_rule(site, monitor)
    site.feed(monitor, curve(DAY // 2, seed=3), 0)
    monitor.save_states()
    half = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    # 1,440 points at 30 s span 719.5 minutes of the day's 1,440.
    assert half.progress.unit == "minutes"
    assert (half.progress.done, half.progress.needed, half.percent) == (719.5, 1440.0, 49)
    assert not half.learned
    assert half.saved_at is not None and half.saved_at <= datetime.now(UTC)


def test_a_state_of_another_layout_or_a_damaged_one_counts_as_nothing_learned(
    site: Site,
) -> None:
    monitor = site.monitor()
    ref = plant_rule(site, monitor, fit_points=50)
    site.feed(monitor, curve(60, seed=4), 0)
    monitor.save_states()
    assert device_learning(site.registry, monitor.engine.rules(), site.device)[ref].learned
    # Edited to a longer fit, the rule fits again: the saved state is of the old layout.
    assert (
        plant_rule(site, monitor, fit_points=500, rule_id=int(ref.removeprefix("custom."))) == ref
    )
    again = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    assert again.saved_at is None and again.progress.needed == 500
    # A blob that does not unpack is read as nothing saved, never as an error.
    evaluator = monitor.engine.rules()[ref].evaluator
    layout = evaluator.state_layout() if evaluator is not None else None
    assert layout is not None
    site.registry.save_detector_states([(ref, site.device, layout.key, b"not zlib")])
    broken = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    assert broken.saved_at is None and broken.progress.done == 0


def test_per_cent_is_whole_and_never_100_before_the_rule_is_done() -> None:
    at = datetime.now(UTC)
    for done in range(100):
        assert Learning(Progress(done, 100, "rows"), at).percent == done
    assert Learning(Progress(99.99, 100, "rows"), at).percent == 99
    assert Learning(Progress(100, 100, "rows"), None).percent == 99  # nothing saved
    assert Learning(Progress(100, 100, "rows"), at).percent == 100


def test_an_hourly_series_learns_its_warm_up_readings_after_its_day() -> None:
    """A day of series time comes at the 25th hourly reading; the detector still needs its
    warm-up readings before it judges, so the progress counts those."""
    evaluator = engine_with({"kind": "anomaly", "metric": "v"}, devices=1).rules()["r"].evaluator
    assert isinstance(evaluator, AnomalyEvaluator)
    layout = evaluator.state_layout()
    warm = evaluator.detector.warmup_points

    def after(start: int, points: int) -> Progress:
        for i in range(start, start + points):
            ts = 1_800_000_000_000 + i * 3_600_000
            evaluator.step(np.array([1]), np.array([ts]), {"v": np.array([20.0 + i % 3])})
        return evaluator.progress(layout.named(layout.unpack(evaluator.export_states()[1])))

    assert after(0, 30) == Progress(30, warm, "points")
    assert after(30, warm - 30).unit == "minutes"  # its day and its warm-up both done


def test_a_rule_disabled_for_the_device_shows_no_progress(site: Site) -> None:
    monitor = site.monitor()
    ref = plant_rule(site, monitor, fit_points=100)
    save_override(site.registry, monitor, site.enterprise, site.device, ref, {"enabled": False})
    assert ref not in device_learning(site.registry, monitor.engine.rules(), site.device)
