"""A plant rule fitted on stored readings (``fit_from``, decision 0076): the replay takes the
rows the monitor would have taken, the rule judges from its first live row, and a fit the
store cannot fill is finished live."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import CHINA_TZ, to_iso
from shugu.monitor import plant_history, rule_service
from shugu.monitor.anomaly_plant_rule import PlantEvaluator
from shugu.monitor.engine import DeviceInfo, RuleBinding, RuleEngine
from shugu.monitor.evaluators import DeviceParams
from shugu.monitor.learning import device_learning
from shugu.monitor.plant_history import fit_on_history
from shugu.monitor.rule_service import backtest_rule, save_override, save_rule
from shugu.monitor.rules import RuleScope, custom_rule_ref, validate_rule
from shugu.monitor.service import Monitor
from shugu.store.duckdb_store import DuckDBTelemetryStore
from tests.monitor.site import STEP_MS, T0, Site

NAMES = ("a", "b", "w", "run")


def plant_body(site: Site, **rule: Any) -> dict[str, Any]:
    return {
        "rule": {
            "key": "inlet_plant", "label_zh": "进风模型", "label_en": "inlet model",
            "kind": "plant", "metrics": ["inlet_c"], "fit_points": 100, **rule,
        },
        "scope": {"device_id": site.device},
    }  # fmt: skip


def flat(n: int, seed: int) -> np.ndarray:
    """A rack's inlet holding steady, with sensor noise."""
    return 22.0 + np.random.default_rng(seed).normal(0, 0.1, n)


def inlet_batch(site: Site, device: int, ts: np.ndarray, values: np.ndarray) -> Batch:
    """Inlet temperatures of one rack at the given times."""
    n = len(ts)
    return Batch(
        np.full(n, device, np.int32),
        np.full(n, site.inlet, np.int32),
        ts.astype(np.int64),
        values.astype(np.float64),
        np.full(n, QUALITY_GOOD, np.uint8),
    )


def store_history(site: Site, values: np.ndarray, start: int) -> None:
    """Readings at 30 s from step ``start`` written to the store only, as if they came before
    the rule existed."""
    ts = T0 + (start + np.arange(len(values))) * STEP_MS
    site.store.submit(inlet_batch(site, site.device, ts, values)).result(30)


def test_a_rule_fitted_on_stored_readings_judges_its_first_live_rows(site: Site) -> None:
    store_history(site, flat(300, seed=1), 0)
    site.clock.now = T0 + 400 * STEP_MS
    monitor = site.monitor()
    saved = save_rule(site.registry, monitor, site.enterprise, plant_body(site, fit_from=T0))
    ref = custom_rule_ref(saved.record.id)
    assert saved.history is not None
    [fit] = saved.history.fits
    assert (fit.device, fit.rows, fit.fitted) == (site.device, 100, True)
    # The fit is the stored rows' first hundred: its last row is the 100th.
    assert fit.last_ms == T0 + 99 * STEP_MS
    # Saved before the monitor took the rule up: the device shows as learned at once.
    learning = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    assert learning.learned and learning.saved_at is not None

    # Normal live rows raise nothing; a sensor 3 °C off raises the rule within its entry rows.
    assert site.feed(monitor, flat(40, seed=2), 400) == []
    raised = site.feed(monitor, flat(20, seed=3) + 3.0, 440)
    assert [t.ref for t in raised] == [ref]
    assert raised[0].ts_ms <= T0 + 450 * STEP_MS


def test_without_fit_from_the_same_fault_is_not_judged_until_the_rule_has_learned(
    site: Site,
) -> None:
    store_history(site, flat(300, seed=1), 0)
    monitor = site.monitor()
    saved = save_rule(site.registry, monitor, site.enterprise, plant_body(site))
    assert saved.history is None
    site.feed(monitor, flat(40, seed=2), 400)
    assert site.feed(monitor, flat(20, seed=3) + 3.0, 440) == []


def test_a_fit_the_store_cannot_fill_is_finished_by_the_live_rows(site: Site) -> None:
    # 30 rows, then three days without a reading, then 20 more: both stretches are taken.
    store_history(site, flat(30, seed=4), 0)
    store_history(site, flat(20, seed=5), 30 + 3 * 2880)
    site.clock.now = T0 + 4 * 2880 * STEP_MS
    monitor = site.monitor()
    saved = save_rule(site.registry, monitor, site.enterprise, plant_body(site, fit_from=T0))
    assert saved.history is not None
    [fit] = saved.history.fits
    assert (fit.rows, fit.fitted) == (50, False)
    ref = custom_rule_ref(saved.record.id)
    partway = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    assert (partway.progress.done, partway.progress.needed) == (50, 100)
    site.feed(monitor, flat(60, seed=6), 5 * 2880)
    monitor.save_states()
    assert device_learning(site.registry, monitor.engine.rules(), site.device)[ref].learned


def test_saving_again_keeps_the_model_and_a_new_fit_from_fits_anew(site: Site) -> None:
    store_history(site, flat(300, seed=1), 0)
    site.clock.now = T0 + 400 * STEP_MS
    monitor = site.monitor()
    body = plant_body(site, fit_from=T0)
    rule_id = save_rule(site.registry, monitor, site.enterprise, body).record.id
    # Given a new label only, the rule keeps the model the monitor runs.
    body["rule"]["label_zh"] = "进风温度模型"
    assert save_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id).history is None
    # From another instant it is another model: fitted again on the rows from then.
    body["rule"]["fit_from"] = to_iso(T0 + 150 * STEP_MS)
    again = save_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id).history
    assert again is not None
    assert again.fits[0].last_ms == T0 + 249 * STEP_MS


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"fit_from": T0 + 10 * 86_400_000}, "fit_from", "in the past"),
        ({"fit_from": "last tuesday"}, "fit_from", "ISO 8601"),
        ({"fit_from": 10**25}, "fit_from", "9999"),
        (
            {"kind": "threshold", "metric": "inlet_c", "metrics": None, "above": 30,
             "fit_from": T0},
            "fit_from",
            "belongs to plant rules",
        ),
    ],
)  # fmt: skip
def test_a_fit_from_that_cannot_be_read_is_refused_by_name(
    site: Site, rule: dict[str, Any], field: str, words: str
) -> None:
    monitor = site.monitor()
    body = plant_body(site, **rule)
    body["rule"] = {k: v for k, v in body["rule"].items() if v is not None}
    if body["rule"]["kind"] != "plant":
        del body["rule"]["fit_points"]
    with pytest.raises(ValidationError) as caught:
        save_rule(site.registry, monitor, site.enterprise, body)
    # The rule's own checks name the field bare, the service's checks under "rule.".
    assert str(caught.value.details.get("field")).removeprefix("rule.") == field
    assert words in caught.value.message
    assert site.registry.list_configs("rule") == []


def test_fit_from_reads_as_the_api_ranges_do() -> None:
    base = {"key": "m", "label_zh": "模型", "label_en": "model", "kind": "plant", "metrics": ["a"]}
    naive = validate_rule({**base, "fit_from": "2026-12-01T08:00:00"}).fit_from
    assert naive == datetime(2026, 12, 1, 8, tzinfo=CHINA_TZ)
    assert validate_rule({**base, "fit_from": "2026-12-01T00:00:00Z"}).fit_from == naive
    assert validate_rule({**base, "fit_from": int(naive.timestamp() * 1000)}).fit_from == naive
    dumped = validate_rule({**base, "fit_from": "2026-12-01"}).model_dump(mode="json")
    assert dumped["fit_from"] == "2026-12-01T00:00:00+08:00"


#: A plant model of the two machines of ``_readings``: two sensors, a condition, a running flag.
TWO_MACHINES: dict[str, Any] = {
    "key": "m", "label_zh": "模型", "label_en": "model", "kind": "plant",
    "metrics": ["a", "b"], "conditions": ["w"], "running_metric": "run", "fit_points": 150,
}  # fmt: skip


def _readings(rng: np.random.Generator, start_ms: int) -> list[tuple[int, str, int, float]]:
    """Two machines: sensors a and b every 30 s, the condition w in a message of its own every
    fifth row, the running flag only when it changes (stopped before ``start_ms`` and for a
    while in the middle)."""
    out: list[tuple[int, str, int, float]] = []
    for device in (1, 2):
        out.append((device, "run", start_ms - 3_600_000, 0.0))
        out.append((device, "w", start_ms - 600_000, 20.0 + device))
        for i in range(-40, 400):
            ts = start_ms + i * 30_000 + device * 1_000
            w = 20 + 3 * np.sin(i / 30)
            if i % 5 == 0:
                out.append((device, "w", ts - 500, float(w)))
            if i in (10 + device, 150):
                out.append((device, "run", ts - 200, 1.0))
            if i == 120:
                out.append((device, "run", ts - 200, 0.0))
            out.append((device, "a", ts, float(2 * w + rng.normal(0, 0.2))))
            out.append((device, "b", ts, float(50 + rng.normal(0, 1))))
    return out


def metric_ids(store: DuckDBTelemetryStore) -> dict[str, int]:
    return dict(zip(NAMES, (int(i) for i in store.metric_ids(list(NAMES))), strict=True))


def stored(store: DuckDBTelemetryStore, readings: list[tuple[int, str, int, float]]) -> Batch:
    """The readings written to the store, in time order; the batch the store took."""
    ids = metric_ids(store)
    readings = sorted(readings, key=lambda r: r[2])
    batch = Batch(
        np.array([r[0] for r in readings], np.int32),
        np.array([ids[r[1]] for r in readings], np.int32),
        np.array([r[2] for r in readings], np.int64),
        np.array([r[3] for r in readings], np.float64),
        np.zeros(len(readings), np.uint8),
    )
    store.submit(batch).result(30)
    return batch


def test_the_replay_fits_what_the_monitor_fits_on_the_same_readings(tmp_path: Path) -> None:
    """Conditions held across messages, a running flag sent before the fit starts and stops in
    the middle of it: the stored replay and the live engine fit the same model."""
    start = 1_800_000_000_000
    readings = _readings(np.random.default_rng(7), start)
    rule = TWO_MACHINES
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    try:
        batch = stored(store, readings)
        ids = metric_ids(store)
        history = validate_rule({**rule, "fit_from": start})
        fits = fit_on_history(store, history, [1, 2], start + 86_400_000)
    finally:
        store.close()

    live = RuleEngine(ids.get, max_lag_ms=10**12)
    spec = validate_rule(rule)
    infos = [DeviceInfo(d, 1, f"d{d}", "generic") for d in (1, 2)]
    live.configure(infos, [RuleBinding("m", spec, RuleScope(profile="generic"))], {})
    live.evaluate(batch, int(batch.ts.max()))
    evaluator = live.rules()["m"].evaluator
    assert isinstance(evaluator, PlantEvaluator)

    assert [f.fitted for f in fits.fits] == [True, True]
    replayed = PlantEvaluator(history, evaluator.params)
    replayed.reserve(3)
    for device, blob in fits.states.items():
        replayed.import_state(device, blob)
        mine, theirs = replayed.detectors[device], evaluator.detectors[device]
        for name in ("mean", "std", "weights", "base_var", "drift_rate", "coef_cov"):
            np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name), name)
        assert mine.fitted


def test_a_save_that_would_replay_too_many_rows_is_refused(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rule_service, "MAX_HISTORY_ROWS", 99)
    monitor = site.monitor()
    with pytest.raises(ValidationError) as caught:
        save_rule(site.registry, monitor, site.enterprise, plant_body(site, fit_from=T0 - 1))
    assert caught.value.code == "fit_too_long"
    assert caught.value.details.get("field") == "rule.fit_from"
    assert site.registry.list_configs("rule") == []


def test_reads_cut_short_by_the_row_limit_are_read_again_in_smaller_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An hour of a large fleet may hold more readings than one read returns: the fit read in
    smaller spans is the fit read whole."""
    start = 1_800_000_000_000
    readings = _readings(np.random.default_rng(8), start)
    rule = validate_rule({**TWO_MACHINES, "fit_from": start})
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    try:
        stored(store, readings)
        whole = fit_on_history(store, rule, [1, 2], start + 86_400_000)
        monkeypatch.setattr(plant_history, "ROWS_PER_READ", 97)
        pieces = fit_on_history(store, rule, [1, 2], start + 86_400_000)
    finally:
        store.close()
    assert [f.fitted for f in whole.fits] == [True, True]
    assert pieces.fits == whole.fits and pieces.states == whole.states


def two_racks(site: Site) -> tuple[Monitor, int]:
    """The site's rack and a second one, both with 300 rows stored from T0; a monitor at
    step 400."""
    store_history(site, flat(300, seed=1), 0)
    other = int(site.registry.create_device(site.enterprise, "rack-a02", "rack_sensor")[0].id)
    ts = T0 + np.arange(300) * STEP_MS
    site.store.submit(inlet_batch(site, other, ts, flat(300, seed=9))).result(30)
    site.clock.now = T0 + 400 * STEP_MS
    return site.monitor(), other


def test_a_wider_scope_fits_only_the_devices_new_to_the_model(site: Site) -> None:
    monitor, other = two_racks(site)
    body = plant_body(site, fit_from=T0)
    rule_id = save_rule(site.registry, monitor, site.enterprise, body).record.id
    body["scope"] = {"profile": "rack_sensor"}
    wider = save_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id).history
    assert wider is not None and [f.device for f in wider.fits] == [other]
    ref = custom_rule_ref(rule_id)
    assert device_learning(site.registry, monitor.engine.rules(), other)[ref].learned
    # The monitor took the new device's fitted state up: its first live row is judged.
    monitor.on_batch(inlet_batch(site, other, np.array([T0 + 401 * STEP_MS]), np.array([22.0])))
    monitor.process_pending()
    evaluator = monitor.engine.rules()[ref].evaluator
    assert isinstance(evaluator, PlantEvaluator) and evaluator.detectors[other].fitted


def off_for_the_second_rack(site: Site) -> tuple[Monitor, dict[str, Any], int]:
    """Two racks, a plant rule over both fitted from T0 and turned off for the second: the
    monitor, the rule's body and id."""
    monitor, other = two_racks(site)
    body = plant_body(site, fit_from=T0)
    body["scope"] = {"profile": "rack_sensor"}
    rule_id = save_rule(site.registry, monitor, site.enterprise, body).record.id
    ref = custom_rule_ref(rule_id)
    save_override(site.registry, monitor, site.enterprise, other, ref, {"enabled": False})
    return monitor, body, rule_id


def test_a_device_the_rule_is_off_for_is_not_fitted(site: Site) -> None:
    monitor, body, rule_id = off_for_the_second_rack(site)
    body["rule"]["fit_from"] = T0 + 10 * STEP_MS
    again = save_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id).history
    assert again is not None and [f.device for f in again.fits] == [site.device]


def test_a_model_changed_and_changed_back_reads_its_saved_states_again(site: Site) -> None:
    """Saved under fit X, changed to Y and back to X before any reading came: the device's
    state of X is read again, not learned afresh."""
    monitor = site.monitor()
    body = plant_body(site)
    rule_id = save_rule(site.registry, monitor, site.enterprise, body).record.id
    ref = custom_rule_ref(rule_id)
    site.feed(monitor, flat(40, seed=2), 0)
    monitor.save_states()
    for fit in (500, 100):
        body["rule"]["fit_points"] = fit
        save_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id)
    site.feed(monitor, flat(1, seed=3), 40)
    monitor.save_states()
    learning = device_learning(site.registry, monitor.engine.rules(), site.device)[ref]
    assert (learning.progress.done, learning.progress.needed) == (41, 100)


class CountingStore:
    """The DuckDB store, counting range reads."""

    def __init__(self, store: DuckDBTelemetryStore) -> None:
        self.store = store
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def query_range(self, query: Any) -> Any:
        self.reads += 1
        return self.store.query_range(query)


def test_a_fit_start_long_ago_over_sparse_readings_takes_few_reads(site: Site) -> None:
    """A rack that sent a reading a day for 60 days never fills a fit of 500: read in growing
    spans, the 60 days take a handful of reads, and the fit keeps what they gave."""
    store_history(site, flat(60, seed=4), 0)  # 60 readings at 30 s …
    days = 60
    ts = T0 + 86_400_000 + np.arange(days) * 86_400_000
    site.store.submit(inlet_batch(site, site.device, ts, flat(days, seed=5))).result(30)
    # … then one a day for 60 days
    counting = CountingStore(site.store)
    rule = validate_rule({**plant_body(site, fit_points=500)["rule"], "fit_from": T0 - 1})
    fits = fit_on_history(counting, rule, [site.device], T0 + (days + 2) * 86_400_000)
    assert fits.fits[0].rows == 120 and not fits.fits[0].fitted
    # An hour at a time, jumping over empty stretches, it takes 122 reads.
    assert counting.reads <= 25, counting.reads


def test_the_back_test_counts_the_alarms_the_model_would_have_raised(site: Site) -> None:
    """300 stored rows: the fit takes the first 100; on the 200 after it the model would have
    raised one alarm, where the inlet ran 3 °C warm. Nothing is raised for it."""
    values = flat(300, seed=1)
    values[200:220] += 3.0
    store_history(site, values, 0)
    site.clock.now = T0 + 400 * STEP_MS
    monitor = site.monitor()
    saved = save_rule(site.registry, monitor, site.enterprise, plant_body(site, fit_from=T0))
    assert saved.history is not None
    back = saved.history.backtest
    assert back is not None and back.complete
    assert (back.rows, back.readings) == (200, 200)
    assert (back.from_ms, back.until_ms) == (T0 + 99 * STEP_MS + 1, T0 + 400 * STEP_MS)
    assert back.alarms == {site.device: 1}
    assert T0 + 200 * STEP_MS <= back.first_alarm_ms[site.device] <= T0 + 210 * STEP_MS
    assert site.registry.list_alarms(None) == []
    # The state saved is the one at the fit: the live rows after it raise nothing.
    assert site.feed(monitor, flat(40, seed=2), 400) == []


def test_the_back_test_judges_as_the_monitor_judges_the_same_readings(tmp_path: Path) -> None:
    """Two machines with conditions, a running flag and a fault after their fits: the back-test
    raises what the live engine raises on the same readings, at the same times."""
    start = 1_800_000_000_000
    readings = _readings(np.random.default_rng(7), start)
    for k, (device, name, ts, value) in enumerate(readings):
        if name == "a" and start + 300 * 30_000 <= ts < start + 330 * 30_000:
            readings[k] = (device, name, ts, value + 8.0 * device)
    rule = TWO_MACHINES
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    try:
        batch = stored(store, readings)
        ids = metric_ids(store)
        fits = fit_on_history(
            store, validate_rule({**rule, "fit_from": start}), [1, 2], start + 86_400_000
        )
    finally:
        store.close()
    live = RuleEngine(ids.get, max_lag_ms=10**12)
    infos = [DeviceInfo(d, 1, f"d{d}", "generic") for d in (1, 2)]
    live.configure(infos, [RuleBinding("m", validate_rule(rule), RuleScope(profile="generic"))], {})
    raised = [t for t in live.evaluate(batch, int(batch.ts.max())) if t.raised]
    assert raised, "the fault raises the live engine"
    back = fits.backtest
    assert back is not None and back.complete
    counts: dict[int, int] = {}
    for t in raised:
        counts[t.device_id] = counts.get(t.device_id, 0) + 1
    assert back.alarms == counts
    assert back.first_alarm_ms == {
        d: min(t.ts_ms for t in raised if t.device_id == d) for d in counts
    }


def test_a_back_test_stops_at_its_readings_and_says_how_far_it_got(tmp_path: Path) -> None:
    start = 1_800_000_000_000
    readings = _readings(np.random.default_rng(7), start)
    rule = validate_rule({**TWO_MACHINES, "fit_from": start})
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    try:
        stored(store, readings)
        until = start + 86_400_000
        whole = fit_on_history(store, rule, [1, 2], until)
        cut = fit_on_history(store, rule, [1, 2], until, backtest_readings=100)
        none = fit_on_history(store, rule, [1, 2], until, backtest_readings=0)
    finally:
        store.close()
    assert whole.backtest is not None and cut.backtest is not None and none.backtest is not None
    assert whole.backtest.complete and whole.backtest.until_ms == until
    assert not cut.backtest.complete and cut.backtest.readings <= 100
    assert cut.backtest.from_ms < cut.backtest.until_ms < until
    assert 0 < cut.backtest.rows < whole.backtest.rows
    assert (none.backtest.rows, none.backtest.until_ms) == (0, none.backtest.from_ms)
    # The fitted model does not depend on how far it was back-tested; the states saved carry on
    # from where the back-test stopped (without one, from the fit).
    models = [_models(fits.states, rule) for fits in (whole, cut, none)]
    for name in ("mean", "std", "weights", "base_var", "drift_rate"):
        for device in (1, 2):
            first = models[0][device][name]
            for other in models[1:]:
                np.testing.assert_array_equal(other[device][name], first, name)
    assert [m[1]["last_ms"] for m in models] == [
        max(r[2] for r in readings if r[0] == 1 and r[1] in ("a", "b")),
        models[1][1]["last_ms"],
        none.fits[0].last_ms,
    ]
    assert none.fits[0].last_ms < models[1][1]["last_ms"] < models[0][1]["last_ms"]


def _models(states: dict[int, bytes], rule: Any) -> dict[int, dict[str, Any]]:
    """Each device's fitted detector, unpacked from its saved state."""
    evaluator = PlantEvaluator(rule, DeviceParams(3))
    evaluator.reserve(3)
    out = {}
    for device, blob in states.items():
        evaluator.import_state(device, blob)
        detector = evaluator.detectors[device]
        out[device] = {
            name: getattr(detector, name)
            for name in ("mean", "std", "weights", "base_var", "drift_rate")
        } | {"last_ms": detector.last_ms}
    return out


def test_no_back_test_without_a_fitted_device(site: Site) -> None:
    store_history(site, flat(30, seed=4), 0)
    site.clock.now = T0 + 400 * STEP_MS
    saved = save_rule(site.registry, site.monitor(), site.enterprise, plant_body(site, fit_from=T0))
    assert saved.history is not None and saved.history.backtest is None


def test_a_back_test_before_saving_saves_nothing_and_judges_as_the_save(site: Site) -> None:
    monitor, other = two_racks(site)
    warm = flat(100, seed=11) + 3.0
    store_history(site, warm, 300)  # the site's rack runs warm after the fit
    body = plant_body(site, fit_from=T0)
    body["scope"] = {"profile": "rack_sensor"}
    tried = backtest_rule(site.registry, monitor, site.enterprise, body)
    assert site.registry.list_configs("rule") == []
    assert tried.backtest is not None and tried.backtest.alarms == {site.device: 1}
    assert [f.device for f in tried.fits] == [site.device, other]
    saved = save_rule(site.registry, monitor, site.enterprise, body).history
    assert saved is not None and saved.backtest == tried.backtest
    assert saved.states == tried.states


def test_a_back_test_of_a_saved_rule_leaves_out_the_devices_it_is_off_for(site: Site) -> None:
    monitor, body, rule_id = off_for_the_second_rack(site)
    body["rule"]["sensitivity"] = 0.5
    tried = backtest_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id)
    # Unlike a save, the back-test fits the devices that keep their model, too.
    assert [f.device for f in tried.fits] == [site.device]


@pytest.mark.parametrize(
    "rule",
    [{"fit_from": None}, {"kind": "anomaly", "metric": "inlet_c", "metrics": None,
                          "fit_points": None}],
)  # fmt: skip
def test_a_back_test_needs_a_plant_rule_with_a_fit_start(site: Site, rule: dict[str, Any]) -> None:
    body = plant_body(site, **rule)
    body["rule"] = {k: v for k, v in body["rule"].items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        backtest_rule(site.registry, site.monitor(), site.enterprise, body)
    assert caught.value.code == "backtest_needs_fit_from"
    assert caught.value.details.get("field") == "rule.fit_from"


def test_the_saved_model_carries_on_from_the_back_test(site: Site) -> None:
    """A rack running warm since row 280 and still at the save: the back-test raised its alarm,
    and the monitor, taking up the state at the back-test's end, raises it at the first live
    row."""
    values = flat(300, seed=1)
    values[280:] += 3.0
    store_history(site, values, 0)
    site.clock.now = T0 + 300 * STEP_MS
    monitor = site.monitor()
    saved = save_rule(site.registry, monitor, site.enterprise, plant_body(site, fit_from=T0))
    assert saved.history is not None and saved.history.backtest is not None
    assert saved.history.backtest.alarms == {site.device: 1}
    raised = site.feed(monitor, flat(1, seed=2) + 3.0, 300)
    assert [(t.raised, t.ts_ms) for t in raised] == [(True, T0 + 300 * STEP_MS)]


def test_a_back_test_judges_each_device_at_its_own_sensitivity(site: Site) -> None:
    """A rack whose override makes it far more sensitive alarms in the back-test of the rule
    it overrides, as it will once the rule is saved; the same rule new, without the override,
    does not."""
    values = flat(300, seed=1)
    values[200:] += 0.1  # a small step: as large as the noise
    store_history(site, values, 0)
    site.clock.now = T0 + 300 * STEP_MS
    monitor = site.monitor()
    body = plant_body(site, fit_from=T0)
    rule_id = save_rule(site.registry, monitor, site.enterprise, body).record.id
    ref = custom_rule_ref(rule_id)
    plain = backtest_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id)
    save_override(site.registry, monitor, site.enterprise, site.device, ref, {"sensitivity": 0.97})
    own = backtest_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id)
    new = backtest_rule(site.registry, monitor, site.enterprise, body)
    assert plain.backtest is not None and own.backtest is not None and new.backtest is not None
    assert plain.backtest.alarms == new.backtest.alarms == {}
    assert own.backtest.alarms == {site.device: 1}


def test_a_rule_turned_off_by_an_override_of_any_spelling_is_not_back_tested(site: Site) -> None:
    """``{"enabled": 0}`` turns the rule off for the device in the monitor, as False does: the
    back-test leaves it out too."""
    monitor, other = two_racks(site)
    body = plant_body(site, fit_from=T0)
    body["scope"] = {"profile": "rack_sensor"}
    rule_id = save_rule(site.registry, monitor, site.enterprise, body).record.id
    ref = custom_rule_ref(rule_id)
    save_override(site.registry, monitor, site.enterprise, other, ref, {"enabled": 0})
    assert not monitor.engine.rules()[ref].params.applies[other]
    tried = backtest_rule(site.registry, monitor, site.enterprise, body, rule_id=rule_id)
    assert [f.device for f in tried.fits] == [site.device]
