"""A simulated week of the demo district through the real store and monitor, with faults.

The district of ``districts/changle.yaml`` (scaled, and cut to a few mills for small runs) is
registered in a registry of its own, its plants are built by the simulator as the demo builds
them, and every step's readings go into a DuckDB store in a temporary folder, whose listener is
the real monitor with the profiles' default rules. The monitor's clock follows simulated time,
so a week runs in seconds to minutes.

Faults (``FAULT_PLAN``) start at known hours on named devices. What comes out:

- per default rule, the alarms raised on healthy devices per device-week (a device counts as
  healthy except where a fault touches it: the faulty device from its fault's start, and every
  device of a plant while a plant-wide fault lasts and for a while after);
- per fault, whether its intended alarm (``INTENDED_RULE``, data) was raised on the faulty
  device, how long after the fault started, how many alarms the fault caused and how many
  notices the notifier would have sent for them.

The bench (``bench/alarms.py``) runs it at full scale; ``tests/monitor/test_quiet_rules.py``
runs it scaled down.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.alarms_anomaly import PREFIX, register_anomaly_rules, tallied
from bench.kpi_district import with_mills
from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.monitor.engine import Transition
from shugu.monitor.model import AlarmNotice, NoticeEvent
from shugu.monitor.notify.channels import ChannelConfig
from shugu.monitor.rules import default_rules
from shugu.monitor.service import Monitor
from shugu.sim.build import build_plants
from shugu.sim.district import DistrictSpec, FaultSpec, expand_enterprises, load_district
from shugu.sim.provision import PROFILE_OF_KIND, SimEnterprise, layout
from shugu.sim.runner import RunningPlant, Simulation
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry
from shugu.store.telemetry import AttributeRecord

DISTRICT = Path(__file__).resolve().parents[1] / "districts" / "changle.yaml"
#: Monday 2026-11-23 00:00 China time: the week starts with the mills' first shift.
WEEK_START_MS = int(datetime(2026, 11, 22, 16, 0, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3_600_000
WEEK_H = 7 * 24.0

#: The alarm each fault kind should raise on the faulty device.
INTENDED_RULE: dict[str, str] = {
    "warp_beam": "loom.warp_stops_high",
    "loom_down": "loom.fault_stop_long",
    "fill_fouling": "cooling_tower.approach_high",
    "fan_bearing_wear": "cooling_tower.vibration_alert",
    "blowdown_stuck": "cooling_tower.coc_high",
    "crah_trip": "crah.fan_stopped",
    "chiller_degraded": "crah.chw_supply_high",
}
#: How soon (hours after the fault starts) the intended alarm must be raised.
DETECT_WITHIN_H: dict[str, float] = {
    "warp_beam": 2.0,
    "loom_down": 1.0,
    "fill_fouling": 36.0,
    "fan_bearing_wear": 72.0,
    "blowdown_stuck": 48.0,
    "crah_trip": 0.1,
    "chiller_degraded": 1.0,
}
#: After a plant-wide fault ends, its plant is given this long to settle before its devices
#: count as healthy again (racks cool down, chilled water recovers).
SETTLE_H = 2.0


@dataclass(frozen=True, slots=True)
class PlannedFault:
    """A fault at a known hour of the week: ``device`` names the faulty device by its number
    in the plant (``1`` is the plant's first device of the kind the fault hits)."""

    kind: str
    #: Index of the enterprise copy (1 = 长乐01号织造有限公司 for the mills) and its plant.
    enterprise: str
    line: str
    device: str | None
    at_h: float
    duration_h: float | None = None
    severity: float = 1.0

    @property
    def plant_wide(self) -> bool:
        """Whether the fault touches every device of its plant (a data hall's air)."""
        return self.kind in ("crah_trip", "chiller_degraded")


#: The week's faults: each on its own device, the data hall's two apart in time.
FAULT_PLAN: tuple[PlannedFault, ...] = (
    PlannedFault("warp_beam", "长乐01号织造有限公司", "织造一车间", "织机 002", at_h=30.0),
    PlannedFault(
        "loom_down", "长乐02号织造有限公司", "织造一车间", "织机 002", at_h=40.0, duration_h=6.0
    ),
    PlannedFault(
        "fill_fouling", "长乐冷塔运维服务有限公司", "甲站冷却塔", "甲站冷却塔 01", 24.0, None, 0.8
    ),
    PlannedFault(
        "fan_bearing_wear", "长乐冷塔运维服务有限公司", "乙站冷却塔", "乙站冷却塔 01", 24.0
    ),
    PlannedFault("blowdown_stuck", "长乐冷塔运维服务有限公司", "丙站冷却塔", "丙站冷却塔 01", 24.0),
    PlannedFault(
        "crah_trip", "福州滨海云数据中心有限公司", "一号数据机房", "精密空调 01", 50.0, 0.5
    ),
    PlannedFault(
        "chiller_degraded", "福州滨海云数据中心有限公司", "一号数据机房", None, 100.0, 6.0
    ),
)


@dataclass(frozen=True, slots=True)
class WeekOptions:
    scale: float = 1.0
    #: Weaving firms kept (None: all forty of the district's, plus the idle mill).
    mills: int | None = None
    step_s: float = 10.0
    days: float = 7.0
    #: Simulation steps sent to the store as one batch (the monitor takes 32 moments a turn).
    steps_per_batch: int = 30
    faults: tuple[PlannedFault, ...] = FAULT_PLAN
    #: Also an anomaly rule on every gauge metric (``bench/alarms_anomaly.py``).
    anomaly: bool = False
    #: Also a plant rule over each profile's gauge metrics (``bench/alarms_anomaly.py``),
    #: fitted on each device's first ``plant_fit_h`` hours of rows.
    plant: bool = False
    plant_fit_h: float = 24.0
    #: The plant rules judge their other gauges against the gauges the profile declares
    #: conditions (``plant_role``: a cooling tower's wet bulb, a meter's active power).
    plant_conditions: bool = False
    #: The plant rules leave out what the profile declares held at a set point.
    plant_held_out: bool = False
    #: Those rules judge only while the device's running flag reads running, where it has one.
    while_running: bool = False

    def __post_init__(self) -> None:
        if self.mills is not None and self.mills < 2:
            raise ValueError("keep at least 2 mills: the week's loom faults are in mills 01 and 02")


@dataclass(slots=True)
class RaisedAlarm:
    alarm_id: int
    ref: str
    device_id: int
    ts_ms: int
    #: The sensor a plant alarm names, the statistic an anomaly alarm names (None for others).
    driver: str | None = None


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    fault: PlannedFault
    intended_rule: str
    detected: bool
    #: Hours from the fault's start to its intended alarm (None: not raised).
    delay_h: float | None
    within_h: float
    alarms: int
    notices: int
    #: rule ref → alarms of the fault raised by that rule
    by_rule: dict[str, int] = field(default_factory=dict)
    #: Hours from the fault's start to the first anomaly rule's alarm on the faulty device
    #: (None: none, or anomaly rules were not on), and that rule's name.
    anomaly_delay_h: float | None = None
    anomaly_rule: str | None = None

    @property
    def in_time(self) -> bool:
        return self.delay_h is not None and self.delay_h <= self.within_h


@dataclass(slots=True)
class WeekResult:
    #: rule ref → alarms raised on healthy devices
    healthy_alarms: dict[str, int]
    #: rule ref → device-weeks of healthy exposure of the devices the rule applies to
    device_weeks: dict[str, float]
    faults: list[FaultOutcome]
    points: int
    devices: int
    seconds: float = 0.0
    #: (rule ref, device name) of the healthy alarms, for a reader hunting the noise
    healthy_samples: list[tuple[str, str]] = field(default_factory=list)
    #: rule ref → what its healthy alarms named as their driver → how many
    healthy_drivers: dict[str, dict[str, int]] = field(default_factory=dict)

    def per_device_week(self, ref: str) -> float:
        weeks = self.device_weeks.get(ref, 0.0)
        return self.healthy_alarms.get(ref, 0) / weeks if weeks > 0 else 0.0


@dataclass(slots=True)
class _Device:
    id: int
    name: str
    profile: str
    #: (from_ms, to_ms, fault number) while a fault touches it
    touched: list[tuple[int, int, int]] = field(default_factory=list)

    def healthy_at(self, ts_ms: int) -> bool:
        return not any(a <= ts_ms < b for a, b, _f in self.touched)

    def touched_by(self, fault: int, ts_ms: int) -> bool:
        return any(a <= ts_ms < b and f == fault for a, b, f in self.touched)

    def healthy_ms(self, begin: int, end: int) -> int:
        # Faults on one device do not overlap in the plan, so their spans simply add up.
        touched = sum(max(0, min(b, end) - max(a, begin)) for a, b, _f in self.touched)
        return max(0, end - begin - touched)


def _fault_specs(faults: tuple[PlannedFault, ...]) -> list[FaultSpec]:
    return [
        FaultSpec(
            at=f"{round(f.at_h * 60)}m",
            duration=None if f.duration_h is None else f"{round(f.duration_h * 60)}m",
            enterprise=f.enterprise,
            line=f.line,
            kind=f.kind,
            device=f.device,
            severity=f.severity,
        )
        for f in faults
    ]


class _Notices:
    """What the notifier would send: each enterprise has one channel and a policy naming it."""

    def __init__(self) -> None:
        self.raised: list[int] = []

    def __call__(self, notice: AlarmNotice, _channels: list[ChannelConfig]) -> None:
        if notice.event is NoticeEvent.raised:
            self.raised.append(notice.alarm_id)


def _register(
    registry: Registry, spec: DistrictSpec, scale: float
) -> tuple[list[SimEnterprise], dict[int, _Device]]:
    region = registry.create_region(spec.region.code, spec.region.name)
    enterprises: list[SimEnterprise] = []
    devices: dict[int, _Device] = {}
    serial = 0
    for park_spec in spec.parks:
        park = registry.create_park(region.id, park_spec.name, park_spec.division_code)
        copies = expand_enterprises(park_spec, spec.region.code, serial)
        serial += len(copies)
        for ent_spec in copies:
            assert ent_spec.uscc is not None
            ent = registry.create_enterprise(
                park.id, ent_spec.name, ent_spec.uscc, ent_spec.nbs_category
            )
            registry.put_config(
                "channel",
                ent.id,
                {"kind": "webhook", "name": "ops", "url": "https://hooks.example.com/ops"},
                ref=f"{ent.id}:ops",
            )
            registry.put_config("escalation", ent.id, {"first": ["ops"]}, ref=str(ent.id))
            sim_ent = SimEnterprise(ent.id, ent_spec, layout(ent_spec, scale))
            for plant in sim_ent.plants:
                site = registry.create_asset(ent.id, "site", plant.spec.site)
                area = registry.create_asset(ent.id, "area", plant.spec.area, site.id)
                line = registry.create_asset(ent.id, "line", plant.spec.line, area.id)
                named = [(n, PROFILE_OF_KIND[plant.spec.kind]) for n in plant.devices]
                named += [(n, "crah") for n in plant.crahs]
                named += [(m, "power_meter") for m in (plant.spec.meter, plant.spec.it_meter) if m]
                for name, profile in named:
                    record, _ = registry.create_device(ent.id, name, profile, asset_id=line.id)
                    sim_ent.device_ids[name] = record.id
                    devices[record.id] = _Device(record.id, name, profile)
            enterprises.append(sim_ent)
    return enterprises, devices


def store_reported_attributes(
    store: DuckDBTelemetryStore, sim: Simulation, plants: list[RunningPlant]
) -> None:
    """The client attributes the devices report about themselves (a loom's nameplate, a rack's
    ``cooled_by``), kept as the live runner's posts would keep them."""
    ids = {p.enterprise.id: p.enterprise.device_ids for p in plants}
    records = [
        AttributeRecord(
            ids[enterprise][device],
            "client",
            key,
            json.dumps(value, ensure_ascii=False),
            WEEK_START_MS,
        )
        for enterprise, devices in sim.attributes().items()
        for device, values in devices.items()
        for key, value in values.items()
    ]
    if records:
        store.submit(Batch.empty(), attributes=records).result(60)


def _mark_touched(
    plants: list[RunningPlant],
    devices: dict[int, _Device],
    number: int,
    fault: PlannedFault,
    end_ms: int,
) -> list[int]:
    """Note where the fault touches devices; returns the devices its intended alarm belongs on."""
    begin = WEEK_START_MS + round(fault.at_h * HOUR_MS)
    intended_profile = INTENDED_RULE[fault.kind].split(".")[0]
    faulty: list[int] = []
    for running in plants:
        if (
            running.enterprise.spec.name != fault.enterprise
            or running.layout.spec.line != fault.line
        ):
            continue
        ids = running.enterprise.device_ids
        names = [*running.layout.devices, *running.layout.crahs]
        if fault.plant_wide:
            until = end_ms
            if fault.duration_h is not None:
                until = begin + round((fault.duration_h + SETTLE_H) * HOUR_MS)
            for name in names:
                devices[ids[name]].touched.append((begin, until, number))
        elif fault.device in ids:
            devices[ids[fault.device]].touched.append((begin, end_ms, number))
        if fault.device is not None:
            faulty += [ids[fault.device]] if fault.device in ids else []
        else:
            faulty += [ids[n] for n in names if devices[ids[n]].profile == intended_profile]
    return faulty


class _Feed:
    """Readings → one Batch of device, metric, time and value columns. A plant reports the same
    devices and metrics at every step, so their columns are worked out once per plant."""

    def __init__(self, store: DuckDBTelemetryStore, plants: list[RunningPlant]) -> None:
        self._store = store
        self._ids = {id(p): p.enterprise.device_ids for p in plants}
        self._layout: dict[int, tuple[list[str], np.ndarray, np.ndarray]] = {}
        self._parts: list[tuple[np.ndarray, np.ndarray, int, list[float]]] = []

    def _columns(
        self, running: RunningPlant, readings: dict[str, dict[str, float]]
    ) -> tuple[np.ndarray, np.ndarray]:
        shape = [f"{name}/{m}" for name, values in readings.items() for m in values]
        known = self._layout.get(id(running))
        if known is not None and known[0] == shape:
            return known[1], known[2]
        ids = self._ids[id(running)]
        dev = np.array([ids[name] for name, values in readings.items() for _ in values], np.int32)
        names = [m for values in readings.values() for m in values]
        met = self._store.metric_ids(names).astype(np.int32)
        self._layout[id(running)] = (shape, dev, met)
        return dev, met

    def add(self, running: RunningPlant, readings: dict[str, dict[str, float]], t: int) -> None:
        known = self._layout.get(id(running))
        values = [v for metrics in readings.values() for v in metrics.values()]
        if known is None or len(known[1]) != len(values):
            dev, met = self._columns(running, readings)
        else:
            dev, met = known[1], known[2]
        self._parts.append((dev, met, t, values))

    def take(self) -> Batch:
        parts, self._parts = self._parts, []
        n = sum(len(p[3]) for p in parts)
        return Batch(
            np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32),
            np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int32),
            np.concatenate([np.full(len(p[3]), p[2], np.int64) for p in parts])
            if parts
            else np.zeros(0, np.int64),
            np.array([v for p in parts for v in p[3]], np.float64),
            np.full(n, QUALITY_GOOD, np.uint8),
        )


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def run_week(
    options: WeekOptions | None = None,
    folder: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> WeekResult:
    """Run the week; the store and registry live in ``folder`` (a temporary one if None)."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="shugu-alarms-") as tmp:
            return run_week(options, Path(tmp), progress)
    import time

    began = time.monotonic()
    opts = options or WeekOptions()
    spec = with_mills(load_district(DISTRICT), opts.mills)
    spec = spec.model_copy(update={"faults": _fault_specs(opts.faults)})
    registry = Registry(f"sqlite:///{folder / 'registry.sqlite'}")
    store = DuckDBTelemetryStore(folder / "telemetry.duckdb")
    try:
        enterprises, devices = _register(registry, spec, opts.scale)
        names: dict[str, str] = {}
        if opts.anomaly or opts.plant:
            profiles: dict[int, set[str]] = {}
            for sim_ent in enterprises:
                ids = sim_ent.device_ids.values()
                profiles[sim_ent.id] = {devices[i].profile for i in ids}
            names = register_anomaly_rules(
                registry,
                profiles,
                while_running=opts.while_running,
                per_metric=opts.anomaly,
                plant=opts.plant,
                plant_fit_rows=max(8, round(opts.plant_fit_h * 3600 / opts.step_s)),
                plant_conditions=opts.plant_conditions,
                plant_held_out=opts.plant_held_out,
            )
        plants = build_plants(spec, enterprises)
        sim = Simulation(spec, plants, WEEK_START_MS)
        store_reported_attributes(store, sim, plants)
        end_ms = WEEK_START_MS + round(opts.days * 24 * HOUR_MS)
        faulty = {
            i: _mark_touched(plants, devices, i, f, end_ms) for i, f in enumerate(opts.faults)
        }
        clock = _Clock(WEEK_START_MS)
        notices = _Notices()
        monitor = Monitor(registry, store, clock=clock, notify=notices)
        store.add_listener(monitor.on_batch)
        raised: list[RaisedAlarm] = []

        def on_raised(t: Transition, alarm_id: int) -> None:
            ref = names.get(t.ref, t.ref)
            raised.append(RaisedAlarm(alarm_id, ref, t.device_id, t.ts_ms, t.driver))

        monitor.book.on_raised = on_raised
        feed = _Feed(store, plants)
        step_ms = round(opts.step_s * 1000)
        points = 0
        t = WEEK_START_MS
        next_day = WEEK_START_MS + 24 * HOUR_MS
        while t < end_ms:
            for _ in range(opts.steps_per_batch):
                if t >= end_ms:
                    break
                t += step_ms
                for running, readings in sim.step(t, step_ms / 1000):
                    feed.add(running, readings, t)
            clock.now = t
            batch = feed.take()
            points += len(batch)
            store.submit(batch).result(600)
            while True:
                monitor.process_pending()
                if not monitor.stats().pending_rows:
                    break
            monitor.book.apply(monitor.engine.tick(t))
            monitor.book.settle_flapping()
            if progress is not None and t >= next_day:
                progress(f"day {(t - WEEK_START_MS) / 86_400_000:.0f}: {len(raised)} alarms")
                next_day += 24 * HOUR_MS
        return _tally(opts, devices, raised, notices, faulty, end_ms, points, began)
    finally:
        store.close()
        registry.close()


def _tally(
    opts: WeekOptions,
    devices: dict[int, _Device],
    raised: list[RaisedAlarm],
    notices: _Notices,
    faulty: dict[int, list[int]],
    end_ms: int,
    points: int,
    began: float,
) -> WeekResult:
    import time

    rules = {ref: profile for ref, (profile, _rule) in default_rules().items()}
    if opts.anomaly or opts.plant:
        present = {d.profile for d in devices.values()}
        rules |= tallied(present, per_metric=opts.anomaly, plant=opts.plant)
    healthy: dict[str, int] = dict.fromkeys(rules, 0)
    weeks: dict[str, float] = {}
    for ref, profile in rules.items():
        ms = sum(
            d.healthy_ms(WEEK_START_MS, end_ms) for d in devices.values() if d.profile == profile
        )
        weeks[ref] = ms / (WEEK_H * HOUR_MS)
    samples: list[tuple[str, str]] = []
    drivers: dict[str, Counter[str]] = {}
    for alarm in raised:
        device = devices.get(alarm.device_id)
        if device is not None and device.healthy_at(alarm.ts_ms) and alarm.ref in healthy:
            healthy[alarm.ref] += 1
            samples.append((alarm.ref, device.name))
            if alarm.driver:
                drivers.setdefault(alarm.ref, Counter())[alarm.driver] += 1
    noticed = set(notices.raised)
    outcomes = []
    for i, fault in enumerate(opts.faults):
        begin = WEEK_START_MS + round(fault.at_h * HOUR_MS)
        rule = INTENDED_RULE[fault.kind]
        hits = [
            a.ts_ms
            for a in raised
            if a.ref == rule and a.device_id in faulty[i] and a.ts_ms >= begin
        ]
        delay = (min(hits) - begin) / HOUR_MS if hits else None
        unusual = sorted(
            (a.ts_ms, a.ref)
            for a in raised
            if a.ref.startswith(PREFIX) and a.device_id in faulty[i] and a.ts_ms >= begin
        )
        caused = [
            a
            for a in raised
            if (d := devices.get(a.device_id)) is not None and d.touched_by(i, a.ts_ms)
        ]
        outcomes.append(
            FaultOutcome(
                fault,
                rule,
                delay is not None,
                delay,
                DETECT_WITHIN_H[fault.kind],
                len(caused),
                sum(1 for a in caused if a.alarm_id in noticed),
                dict(Counter(a.ref for a in caused)),
                (unusual[0][0] - begin) / HOUR_MS if unusual else None,
                unusual[0][1] if unusual else None,
            )
        )
    return WeekResult(
        healthy,
        weeks,
        outcomes,
        points,
        len(devices),
        time.monotonic() - began,
        samples,
        {ref: dict(counts.most_common()) for ref, counts in drivers.items()},
    )


def table(result: WeekResult) -> str:
    """The result as two plain-text tables."""
    lines = [f"{'rule':34} {'healthy alarms':>14} {'device-weeks':>12} {'per device-week':>15}"]
    for ref in sorted(result.healthy_alarms):
        lines.append(
            f"{ref:34} {result.healthy_alarms[ref]:>14} {result.device_weeks.get(ref, 0):>12.1f} "
            f"{result.per_device_week(ref):>15.3f}"
        )
    lines.append("")
    lines.append(
        f"{'fault':18} {'intended rule':30} {'detected':>8} {'delay h':>8} {'within h':>8} "
        f"{'alarms':>6} {'notices':>7} {'anomaly h':>9}"
    )
    for o in result.faults:
        delay = "—" if o.delay_h is None else f"{o.delay_h:.2f}"
        lines.append(
            f"{o.fault.kind:18} {o.intended_rule:30} {'yes' if o.detected else 'no':>8} "
            f"{delay:>8} {o.within_h:>8g} {o.alarms:>6} {o.notices:>7} "
            f"{'—' if o.anomaly_delay_h is None else f'{o.anomaly_delay_h:.2f}':>9}"
            + (f"  {o.anomaly_rule}" if o.anomaly_rule else "")
        )
    return "\n".join(lines)
