"""Telemetry of the KPI bench's district, generated a local day at a time with numpy.

Every device reports what its profile's facts read, as often as the profile needs at least: a
span between two points longer than the profile's ``max_gap_s`` counts for nothing, so a coarser
rate would not be honest (its facts would be zero).

- Looms (织机, ``max_gap_s`` 120): ``running`` every 2 minutes, and at each stop and restart
  ``running`` and ``stop_cause`` at the moment they change; the ``picks``, ``fabric_m`` and
  ``energy_kwh`` counters every 30 minutes. Stops arrive at the rates the district file gives
  each mill (warp, weft and mechanical per 10⁵ picks, no order and doffing per day) with
  lognormal repair times; a mill with a rest day stands all that day (cause ``OTHER``). The
  district's timed faults (a bad warp beam) are not replayed.
- Power meters (``max_gap_s`` 300): ``energy_kwh`` and ``active_power_kw`` every 5 minutes. A
  loom shed's meter draws 1.5 × its looms (compressed air, humidification) plus 20 kW.
- Data hall: rack sensors (``max_gap_s`` 600) every 10 minutes, air handlers every 5, a facility
  and an IT meter whose ratio (PUE) follows the wet bulb.
- Cooling towers: their seven metrics every 5 minutes.

Counters carry over from day to day, so the series of a device is one series over the month.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shugu.domain.batch import Batch
from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.sim.loom import LoomParams

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
LOOM_BEAT_MS = 120_000
LOOM_COUNTER_MS = 1_800_000
METER_MS = 300_000
CRAH_MS = 300_000
TOWER_MS = 300_000
RACK_MS = 600_000
#: Keys of (loom, ms into the day) leave room for the day's end itself.
KEY_SLOT_MS = 2 * DAY_MS

#: The metric names the generated points use, in a fixed order (a point's metric indexes it).
METRICS = (
    "running",
    "stop_cause",
    "picks",
    "fabric_m",
    "energy_kwh",
    "active_power_kw",
    "inlet_c",
    "inlet_rh_pct",
    "chw_supply_c",
    "chw_return_c",
    "supply_air_c",
    "return_air_c",
    "fan_running",
    "hot_water_c",
    "cold_water_c",
    "wet_bulb_c",
    "flow_m3h",
    "circ_conductivity_us_cm",
    "makeup_conductivity_us_cm",
    "fan_power_kw",
)
M = {name: i for i, name in enumerate(METRICS)}

#: Stop causes (the loom profile's ``stop_cause`` codes): warp, weft, mechanical, no order,
#: doffing; and standing because the mill does not work that day.
CAUSES = np.array([1, 2, 3, 4, 5], np.int64)
OTHER = 9
SHED_FACTOR, SHED_BASE_KW = 1.5, 20.0


@dataclass(slots=True)
class Columns:
    """Points under construction: parallel lists of arrays."""

    device: list[I64] = field(default_factory=list)
    metric: list[I64] = field(default_factory=list)
    ts: list[I64] = field(default_factory=list)
    value: list[F64] = field(default_factory=list)

    def add(self, device: I64, metric: int | I64, ts: I64, value: F64 | float) -> None:
        device, ts, value = np.broadcast_arrays(device, ts, np.asarray(value, np.float64))
        self.device.append(device.ravel().astype(np.int64))
        self.metric.append(np.broadcast_to(np.asarray(metric, np.int64), device.shape).ravel())
        self.ts.append(ts.ravel().astype(np.int64))
        self.value.append(value.ravel().astype(np.float64))

    def batches(self, metric_ids: npt.NDArray[np.int32], hour_ms: int = HOUR_MS) -> list[Batch]:
        """The points in time order, cut into one batch per hour (as a live district sends)."""
        device = np.concatenate(self.device)
        metric = np.concatenate(self.metric)
        ts = np.concatenate(self.ts)
        value = np.concatenate(self.value)
        order = np.argsort(ts, kind="stable")
        device, metric, ts, value = device[order], metric[order], ts[order], value[order]
        hour = ts // hour_ms
        cuts = np.flatnonzero(np.diff(hour)) + 1
        out = []
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(ts)], strict=True):
            out.append(
                Batch(
                    device[lo:hi].astype(np.int32),
                    metric_ids[metric[lo:hi]],
                    ts[lo:hi],
                    value[lo:hi],
                    np.zeros(hi - lo, np.uint8),
                )
            )
        return out

    def __len__(self) -> int:
        return sum(len(d) for d in self.device)


def local_hour(ts: I64) -> F64:
    hours: F64 = ((ts + CHINA_OFFSET_MS) % DAY_MS) / HOUR_MS
    return hours


def diurnal(ts: I64, peak_hour: float = 15.0) -> F64:
    """+1 at ``peak_hour`` local time, -1 twelve hours away."""
    wave: F64 = np.cos(2 * np.pi * (local_hour(ts) - peak_hour) / 24.0)
    return wave


def wet_bulb(ts: I64) -> F64:
    """Fuzhou in November: a wet bulb of about 15 °C, warmest in the afternoon."""
    return 15.0 + 3.0 * diurnal(ts)


@dataclass(slots=True)
class Stops:
    """One day's stops of every loom, sorted by loom then start (ms into the day)."""

    loom: I64
    start: I64
    end: I64
    cause: I64

    def key(self) -> I64:
        key: I64 = self.loom * KEY_SLOT_MS + self.start
        return key

    def at(self, loom: I64, offset: I64) -> tuple[Mask, I64]:
        """Per (loom, offset into the day): whether the loom stands, and the last stop that began
        at or before it (-1: none of that loom)."""
        if not len(self.loom):
            return np.zeros(len(loom), np.bool_), np.full(len(loom), -1, np.int64)
        idx = np.searchsorted(self.key(), loom * KEY_SLOT_MS + offset, side="right") - 1
        safe = np.maximum(idx, 0)
        own = (idx >= 0) & (self.loom[safe] == loom)
        standing: Mask = own & (offset < self.end[safe])
        return standing, np.where(own, idx, -1)

    def stood_before(self, loom: I64, offset: I64) -> F64:
        """Milliseconds each loom stood in the day up to each offset."""
        if not len(self.loom):
            return np.zeros(len(loom))
        duration = self.end - self.start
        total = np.cumsum(duration)
        before = total - duration
        first = np.r_[True, self.loom[1:] != self.loom[:-1]]
        base = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
        within = before - before[base]  # stood in this loom's earlier stops of the day
        _, idx = self.at(loom, offset)
        safe = np.maximum(idx, 0)
        part = np.clip(offset - self.start[safe], 0, duration[safe])
        stood: F64 = np.where(idx >= 0, within[safe] + part, 0).astype(np.float64)
        return stood


@dataclass(slots=True)
class Looms:
    """Every loom of the district, ordered by mill; each mill's looms as its plant's
    ``LoomParams`` in the district file say (stop rates, repair times, power, weft density)."""

    device: I64
    mill: I64
    #: Running speed (picks per minute), a little below the nameplate.
    speed_rpm: F64
    picks_per_m: F64
    #: Per loom: stops per 10⁵ picks (warp, weft, mechanical) and per day (no order, doffing).
    per_1e5_picks: F64
    per_day: F64
    #: Per loom and cause: mean repair time in minutes, and the lognormal's σ.
    repair_min: F64
    repair_sigma: F64
    running_kw: F64
    stopped_kw: F64
    #: Per mill and ISO weekday - 1: whether the mill rests that day.
    rest: npt.NDArray[np.bool_]
    beat_phase: I64
    counter_phase: I64
    picks: F64
    fabric: F64
    energy: F64
    started: bool = False

    @staticmethod
    def make(
        device: I64,
        mill: I64,
        params: Sequence[LoomParams],
        rest: npt.NDArray[np.bool_],
        seed: int,
    ) -> Looms:
        """Looms of mills with these params (``mill`` indexes ``params`` and ``rest``)."""
        rng = np.random.default_rng(seed)
        n = len(device)

        def each(read: Callable[[LoomParams], Sequence[float]]) -> F64:
            table: F64 = np.array([list(read(p)) for p in params], np.float64)
            return table[mill]

        speed = each(lambda p: [p.speed_rpm])[:, 0]
        spread = each(lambda p: [p.speed_spread_rpm])[:, 0]
        return Looms(
            device=device,
            mill=mill,
            speed_rpm=speed + rng.uniform(-1.0, 1.0, n) * spread,
            picks_per_m=each(lambda p: [p.picks_per_cm * 100.0])[:, 0],
            per_1e5_picks=each(
                lambda p: [
                    p.warp_stops_per_1e5_picks,
                    p.weft_stops_per_1e5_picks,
                    p.mechanical_stops_per_1e5_picks,
                ]
            ),
            per_day=each(lambda p: [p.no_order_per_day, p.doffing_per_day]),
            repair_min=each(
                lambda p: [
                    p.warp_repair_min,
                    p.weft_repair_min,
                    p.mechanical_repair_min,
                    p.no_order_min,
                    p.doffing_min,
                ]
            ),
            repair_sigma=each(lambda p: [p.repair_sigma])[:, 0],
            running_kw=each(lambda p: [p.running_kw])[:, 0],
            stopped_kw=each(lambda p: [p.stopped_kw])[:, 0],
            rest=rest,
            beat_phase=rng.integers(0, LOOM_BEAT_MS, n),
            counter_phase=rng.integers(0, LOOM_COUNTER_MS, n),
            picks=np.floor(rng.uniform(1e7, 1e9, n)),
            fabric=rng.uniform(1e3, 1e5, n),
            energy=rng.uniform(1e3, 1e5, n),
        )

    def stops(self, day: int, weekday: int, rng: np.random.Generator) -> Stops:
        """The day's stops: each loom runs for an exponential time at its stop rate, stands for
        the stop's repair time, runs again (as the simulator's looms spend their hazard while
        running); a stop still open at midnight ends a second before it."""
        n = len(self.device)
        resting = self.rest[self.mill, weekday - 1]
        per_s = np.column_stack(
            [
                self.per_1e5_picks / 1e5 * (self.speed_rpm / 60.0)[:, None],
                self.per_day / 86_400.0,
            ]
        )
        rate = np.maximum(per_s.sum(axis=1), 1e-12)
        # Room for every loom's stops of the day, with a wide margin over the expected count.
        room = int(np.ceil((rate * 86_400.0).max() * 1.5 + 15))
        running_ms = rng.exponential(1.0, (n, room)) / rate[:, None] * 1000.0
        share = np.cumsum(per_s / rate[:, None], axis=1)
        which = (rng.random((n, room))[:, :, None] > share[:, None, :-1]).sum(axis=2)
        mean = np.maximum(np.take_along_axis(self.repair_min, which, axis=1), 1e-3)
        sigma = self.repair_sigma[:, None]
        minutes = rng.lognormal(np.log(mean) - sigma**2 / 2, np.broadcast_to(sigma, mean.shape))
        standing_ms = np.maximum(minutes * MINUTE_MS, 1000.0)
        # Stop k starts after k + 1 runs and k stands.
        before = np.cumsum(standing_ms, axis=1) - standing_ms
        start = (np.cumsum(running_ms, axis=1) + before).astype(np.int64)
        end = np.minimum(start + standing_ms.astype(np.int64), DAY_MS - 1000)
        keep = (start < DAY_MS - MINUTE_MS) & ~resting[:, None]
        loom = np.broadcast_to(np.arange(n, dtype=np.int64)[:, None], (n, room))[keep]
        start, end, which = start[keep], end[keep], which[keep]
        rest_loom = np.flatnonzero(resting).astype(np.int64)
        loom = np.r_[loom, rest_loom]
        start = np.r_[start, np.zeros(len(rest_loom), np.int64)]
        end = np.r_[end, np.full(len(rest_loom), DAY_MS - 1000, np.int64)]
        cause = np.r_[CAUSES[which], np.full(len(rest_loom), OTHER, np.int64)]
        order = np.lexsort((start, loom))
        return Stops(loom[order], start[order], end[order], cause[order])

    def energy_at(self, stops: Stops, loom: I64, offset: I64) -> tuple[F64, F64]:
        """kWh drawn in the day up to each offset, and stood milliseconds."""
        stood = stops.stood_before(loom, offset)
        ran = offset - stood
        kwh: F64 = (self.running_kw[loom] * ran + self.stopped_kw[loom] * stood) / HOUR_MS
        return kwh, stood

    def day(self, day: int, weekday: int, rng: np.random.Generator, out: Columns) -> Stops:
        """One day's points of every loom; returns the day's stops (the meters need them)."""
        n = len(self.device)
        stops = self.stops(day, weekday, rng)
        dev = self.device
        if not self.started:
            # Every loom tells its stop cause once at the start (none, unless it rests).
            first = np.ones(n, np.bool_)
            first[stops.loom[stops.start == 0]] = False
            out.add(dev[first], M["stop_cause"], np.full(int(first.sum()), day), 0.0)
            self.started = True
        beats = self.beat_phase[:, None] + np.arange(DAY_MS // LOOM_BEAT_MS) * LOOM_BEAT_MS
        loom = np.repeat(np.arange(n, dtype=np.int64), beats.shape[1])
        standing, _ = stops.at(loom, beats.ravel())
        out.add(dev[loom], M["running"], day + beats.ravel(), np.where(standing, 0.0, 1.0))
        sdev = dev[stops.loom]
        out.add(sdev, M["running"], day + stops.start, 0.0)
        out.add(sdev, M["stop_cause"], day + stops.start, stops.cause.astype(np.float64))
        out.add(sdev, M["running"], day + stops.end, 1.0)
        out.add(sdev, M["stop_cause"], day + stops.end, 0.0)
        reads = self.counter_phase[:, None] + np.arange(DAY_MS // LOOM_COUNTER_MS) * LOOM_COUNTER_MS
        loom = np.repeat(np.arange(n, dtype=np.int64), reads.shape[1])
        offset = reads.ravel()
        kwh, stood = self.energy_at(stops, loom, offset)
        picks = self.speed_rpm[loom] / MINUTE_MS * (offset - stood)
        ts = day + offset
        out.add(dev[loom], M["picks"], ts, np.floor(self.picks[loom] + picks))
        out.add(dev[loom], M["fabric_m"], ts, self.fabric[loom] + picks / self.picks_per_m[loom])
        out.add(dev[loom], M["energy_kwh"], ts, self.energy[loom] + kwh)
        everyone = np.arange(n, dtype=np.int64)
        kwh, stood = self.energy_at(stops, everyone, np.full(n, DAY_MS))
        picks = self.speed_rpm / MINUTE_MS * (DAY_MS - stood)
        self.picks += picks
        self.fabric += picks / self.picks_per_m
        self.energy += kwh
        return stops


@dataclass(slots=True)
class ShedMeters:
    """Each mill's loom-shed meter (meter_role ``line``): its looms and the rest of the shed."""

    device: I64
    #: First loom position of each mill (looms are ordered by mill).
    first_loom: I64
    phase: I64
    energy: F64

    @staticmethod
    def make(device: I64, first_loom: I64, seed: int) -> ShedMeters:
        rng = np.random.default_rng(seed)
        n = len(device)
        return ShedMeters(
            device, first_loom, rng.integers(0, METER_MS, n), rng.uniform(1e4, 1e6, n)
        )

    def day(self, day: int, looms: Looms, stops: Stops, out: Columns) -> None:
        reads = np.arange(DAY_MS // METER_MS) * METER_MS
        mill = looms.mill
        offset = self.phase[mill][:, None] + reads[None, :]
        loom = np.repeat(np.arange(len(looms.device), dtype=np.int64), len(reads))
        kwh, _ = looms.energy_at(stops, loom, offset.ravel())
        standing, _ = stops.at(loom, offset.ravel())
        kw = np.where(standing, looms.stopped_kw[loom], looms.running_kw[loom])
        per_mill_kwh = np.add.reduceat(kwh.reshape(offset.shape), self.first_loom, axis=0)
        per_mill_kw = np.add.reduceat(kw.reshape(offset.shape), self.first_loom, axis=0)
        meter_offset = self.phase[:, None] + reads[None, :]
        total = self.energy[:, None] + SHED_FACTOR * per_mill_kwh
        total += SHED_BASE_KW * meter_offset / HOUR_MS
        ts = day + meter_offset
        out.add(self.device[:, None], M["energy_kwh"], ts, total)
        out.add(self.device[:, None], M["active_power_kw"], ts, SHED_FACTOR * per_mill_kw + 20.0)
        everyone = np.arange(len(looms.device), dtype=np.int64)
        day_kwh, _ = looms.energy_at(stops, everyone, np.full(len(everyone), DAY_MS))
        self.energy += SHED_FACTOR * np.add.reduceat(day_kwh, self.first_loom)
        self.energy += SHED_BASE_KW * 24.0


@dataclass(slots=True)
class DataHall:
    """Racks, air handlers and the hall's facility and IT meters."""

    racks: I64
    crahs: I64
    facility: int
    it: int
    rack_offset: F64
    facility_kwh: float = 5.0e6
    it_kwh: float = 3.8e6

    @staticmethod
    def make(racks: I64, crahs: I64, facility: int, it: int, seed: int) -> DataHall:
        rng = np.random.default_rng(seed)
        return DataHall(racks, crahs, facility, it, rng.normal(0.0, 1.0, len(racks)))

    def day(self, day: int, rng: np.random.Generator, out: Columns) -> None:
        reads = day + np.arange(DAY_MS // RACK_MS) * RACK_MS
        shape = (len(self.racks), len(reads))
        inlet = 22.0 + self.rack_offset[:, None] + 0.8 * diurnal(reads)[None, :]
        inlet = inlet + rng.normal(0.0, 0.3, shape)
        out.add(self.racks[:, None], M["inlet_c"], reads[None, :], inlet)
        rh = 45.0 + 5.0 * diurnal(reads, 5.0)[None, :] + rng.normal(0.0, 1.5, shape)
        out.add(self.racks[:, None], M["inlet_rh_pct"], reads[None, :], rh)
        reads = day + np.arange(DAY_MS // CRAH_MS) * CRAH_MS
        shape = (len(self.crahs), len(reads))
        for name, mean in (
            ("chw_supply_c", 7.0),
            ("chw_return_c", 12.5),
            ("supply_air_c", 18.0),
            ("return_air_c", 28.0),
        ):
            out.add(self.crahs[:, None], M[name], reads[None, :], mean + rng.normal(0, 0.3, shape))
        out.add(self.crahs[:, None], M["fan_running"], reads[None, :], np.ones(shape))
        it_kw = 4.5 * len(self.racks) * (1.0 + 0.03 * diurnal(reads)) + rng.normal(0, 5, len(reads))
        pue = 1.30 + 0.012 * (wet_bulb(reads) - 15.0)
        facility_kw = it_kw * pue
        step_h = CRAH_MS / HOUR_MS
        it_kwh = self.it_kwh + np.cumsum(it_kw) * step_h
        facility_kwh = self.facility_kwh + np.cumsum(facility_kw) * step_h
        for device, kwh, kw in (
            (self.it, it_kwh, it_kw),
            (self.facility, facility_kwh, facility_kw),
        ):
            out.add(np.array([device]), M["energy_kwh"], reads, kwh)
            out.add(np.array([device]), M["active_power_kw"], reads, kw)
        self.it_kwh, self.facility_kwh = float(it_kwh[-1]), float(facility_kwh[-1])


@dataclass(slots=True)
class Towers:
    device: I64
    approach: F64
    flow: F64

    @staticmethod
    def make(device: I64, seed: int) -> Towers:
        rng = np.random.default_rng(seed)
        n = len(device)
        return Towers(device, rng.uniform(3.5, 5.0, n), rng.uniform(600.0, 1000.0, n))

    def day(self, day: int, rng: np.random.Generator, out: Columns) -> None:
        reads = day + np.arange(DAY_MS // TOWER_MS) * TOWER_MS
        shape = (len(self.device), len(reads))
        wb = wet_bulb(reads)[None, :] + rng.normal(0.0, 0.2, shape)
        load = 0.85 + 0.15 * diurnal(reads)[None, :]
        cold = wb + self.approach[:, None] + rng.normal(0.0, 0.2, shape)
        hot = cold + 5.0 * load + rng.normal(0.0, 0.2, shape)
        dev = self.device[:, None]
        values = {
            "wet_bulb_c": wb,
            "cold_water_c": cold,
            "hot_water_c": hot,
            "flow_m3h": self.flow[:, None] * (0.95 + 0.05 * load) + rng.normal(0, 5, shape),
            "circ_conductivity_us_cm": 1500.0 + rng.normal(0, 20, shape),
            "makeup_conductivity_us_cm": 400.0 + rng.normal(0, 8, shape),
            "fan_power_kw": 30.0 * load + rng.normal(0, 0.5, shape),
        }
        for name, value in values.items():
            out.add(dev, M[name], reads[None, :], value)


@dataclass(slots=True)
class Telemetry:
    """The whole district's generators; ``day`` makes one local day's points."""

    looms: Looms
    meters: ShedMeters
    hall: DataHall
    towers: Towers
    seed: int
    days_made: int = 0

    def day(self, day: int, weekday: int) -> Columns:
        rng = np.random.default_rng([self.seed, self.days_made])
        self.days_made += 1
        out = Columns()
        stops = self.looms.day(day, weekday, rng, out)
        self.meters.day(day, self.looms, stops, out)
        self.hall.day(day, rng, out)
        self.towers.day(day, rng, out)
        return out
