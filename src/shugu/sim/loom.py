"""Air-jet looms in a weaving shed (docs/domain.md, weaving).

A loom either runs at its speed (rpm = picks per minute) or stands for a cause: a warp break, a
weft break, a mechanical or electrical fault, a missing order, or a doffing. Yarn and machine
stops arrive per pick inserted, the way mills count them (stops per 10⁵ picks); a missing order
or a doffing arrives by the clock. Each stop lasts a random repair time around its cause's mean.

Each loom holds a budget of Exp(1)-distributed hazard that running spends at its current stop
rate; the loom stops when the budget is used up. Spending hazard instead of drawing a time of the
next stop keeps the process exact when a rate changes mid-run (a warp beam going bad), and lets
one ``step`` cross any number of stops and restarts, whatever its ``dt_s``. All looms of a shed
advance together as numpy arrays, event by event, so a shed of thousands steps in milliseconds.

A shed may follow its mill's shift calendar (``schedule``): outside planned time (a rest day, a
break, planned downtime) every loom stands, with the stop cause ``OTHER``, and starts again when
the next shift begins. A step is cut at the calendar's boundaries, so a long step lands on them
exactly. The looms' nameplate (type, width, rated speed) is what each loom tells shugu about
itself as client attributes; the district sets the speed the looms run at a little below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from shugu.sim.model import Attributes, Fault, Readings, SimDevice, checked_counter

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Codes of the ``stop_cause`` state in the loom profile.
CAUSE_NONE, CAUSE_WARP, CAUSE_WEFT, CAUSE_MECHANICAL, CAUSE_NO_ORDER, CAUSE_DOFFING = range(6)
#: A loom standing because its mill does not work then (the profile's ``OTHER``).
CAUSE_OTHER = 9
FAULT_KINDS = ("warp_beam", "loom_down")
LoomType = Literal["air_jet", "rapier", "water_jet"]
LOOM_TYPES: tuple[LoomType, ...] = ("air_jet", "rapier", "water_jet")
#: Mills run a loom below its nameplate speed (the yarn, the weave and the fabric's width set
#: what it keeps up without breaking more ends): each loom of a shed gets a speed between
#: ``RUNNING_SHARE_OF_RATED`` ± ``RUNNING_SPREAD_OF_RATED`` of its rated speed.
RUNNING_SHARE_OF_RATED = 0.92
RUNNING_SPREAD_OF_RATED = 0.04

_SECONDS_PER_DAY = 86_400.0
#: How long a schedule's "no change ahead" holds before it is asked again.
_ASK_AGAIN_MS = 30 * 86_400_000


@dataclass(frozen=True, slots=True)
class LoomParams:
    """What the looms of a shed are like. Defaults follow docs/domain.md's worked example for stop
    rates and repair times, at the speed of a modern air-jet loom."""

    #: Mean loom speed; each loom gets its own fixed speed within ± ``speed_spread_rpm``.
    speed_rpm: float = 600.0
    speed_spread_rpm: float = 50.0
    #: Jitter of the reported speed around the loom's speed (the picks follow the fixed speed).
    speed_noise_rpm: float = 2.0
    #: Weft density of the fabric woven; PPI = 2.54 × picks per cm.
    picks_per_cm: float = 25.0
    warp_stops_per_1e5_picks: float = 20.0
    weft_stops_per_1e5_picks: float = 15.0
    mechanical_stops_per_1e5_picks: float = 6.0
    #: Clock-driven stops, per day of running.
    no_order_per_day: float = 0.1
    doffing_per_day: float = 0.3
    #: Mean durations of a stop, by cause, in minutes.
    warp_repair_min: float = 0.85
    weft_repair_min: float = 0.30
    mechanical_repair_min: float = 0.12
    no_order_min: float = 120.0
    doffing_min: float = 10.0
    #: Repair times are right-skewed: most are quick, a few take long.
    repair_distribution: Literal["lognormal", "exponential"] = "lognormal"
    #: Shape of the lognormal (σ of the log); the mean stays as configured.
    repair_sigma: float = 0.6
    running_kw: float = 3.0
    stopped_kw: float = 0.3
    power_noise_kw: float = 0.08
    #: Warp-stop rate multiplier of a bad warp beam at severity 1.
    warp_beam_max_factor: float = 5.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float | int) and value < 0:
                raise ValueError(f"LoomParams.{f.name} must not be negative, got {value}")
        if self.speed_rpm <= 0 or self.picks_per_cm <= 0:
            raise ValueError("LoomParams.speed_rpm and picks_per_cm must be positive")
        if self.speed_spread_rpm >= self.speed_rpm:
            raise ValueError("LoomParams.speed_spread_rpm must be below speed_rpm")
        if self.repair_distribution not in ("lognormal", "exponential"):
            raise ValueError("LoomParams.repair_distribution is lognormal or exponential")
        if self.warp_beam_max_factor < 1:
            raise ValueError("LoomParams.warp_beam_max_factor must be at least 1")


@dataclass(frozen=True, slots=True)
class LoomNameplate:
    """What a loom is: its type, its reed width and the speed its maker rates it for."""

    loom_type: LoomType = "air_jet"
    width_cm: int = 190
    rated_speed_rpm: float = 700.0

    def __post_init__(self) -> None:
        if self.loom_type not in LOOM_TYPES:
            raise ValueError(f"a loom type is one of {', '.join(LOOM_TYPES)}")
        if self.width_cm <= 0 or self.rated_speed_rpm <= 0:
            raise ValueError("a loom's width and rated speed must be positive")

    def attributes(self) -> dict[str, str | int | float]:
        """The client attributes a loom reports about itself."""
        return {
            "loom_type": self.loom_type,
            "width_cm": self.width_cm,
            "rated_speed_rpm": self.rated_speed_rpm,
        }

    def running(self, params: LoomParams) -> LoomParams:
        """``params`` with the speeds a mill runs looms of this nameplate at."""
        return replace(
            params,
            speed_rpm=RUNNING_SHARE_OF_RATED * self.rated_speed_rpm,
            speed_spread_rpm=RUNNING_SPREAD_OF_RATED * self.rated_speed_rpm,
        )


class Schedule(Protocol):
    """When a mill plans production (``shugu.sim.calendar.WorkSchedule``)."""

    def is_planned(self, t_ms: int) -> bool: ...

    def next_change(self, t_ms: int) -> int | None: ...


@dataclass(frozen=True, slots=True)
class LoomTally:
    """What happened to one loom since the shed was built: the ground truth behind its readings."""

    running_s: float
    #: Standing for a stop (a yarn break, a doffing, a fault), not because the mill was off.
    stopped_s: float
    #: stop cause code → number of stops
    stops: dict[int, int]
    #: Standing because the mill's calendar plans no production then.
    resting_s: float = 0.0

    @property
    def efficiency(self) -> float:
        total = self.running_s + self.stopped_s
        return self.running_s / total if total > 0 else 0.0


def _check_names(names: Sequence[str]) -> list[str]:
    if not names:
        raise ValueError("a plant needs at least one device name")
    if len(set(names)) != len(names):
        raise ValueError("device names within a plant must be unique")
    return list(names)


class LoomShed:
    """A group of looms stepped together; implements ``shugu.sim.model.Plant``."""

    def __init__(
        self,
        names: Sequence[str],
        rng: np.random.Generator,
        params: LoomParams | None = None,
        nameplate: LoomNameplate | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        self._names = _check_names(names)
        self._index = {name: i for i, name in enumerate(self._names)}
        self._rng = rng
        p = self._p = params or LoomParams()
        self.nameplate = nameplate or LoomNameplate()
        if p.speed_rpm + p.speed_spread_rpm > self.nameplate.rated_speed_rpm:
            raise ValueError(
                f"looms rated for {self.nameplate.rated_speed_rpm:g} rpm cannot run at up to "
                f"{p.speed_rpm + p.speed_spread_rpm:g} rpm"
            )
        self._schedule = schedule
        #: The schedule's last ``next_change``: (asked at, good until, answer).
        self._change_known: tuple[int, int, int | None] | None = None
        #: Whether the mill is off (outside planned time); None until the first step says.
        self._resting: bool | None = None
        n = len(self._names)
        self._speed: FloatArray = p.speed_rpm + rng.uniform(-1.0, 1.0, n) * p.speed_spread_rpm
        self._running: BoolArray = np.ones(n, dtype=np.bool_)
        self._cause: IntArray = np.zeros(n, dtype=np.int64)
        self._hazard: FloatArray = rng.exponential(1.0, n)
        self._down_s: FloatArray = np.zeros(n)  # time left in the current stop
        self._picks: FloatArray = np.zeros(n)
        self._energy_kwh: FloatArray = np.zeros(n)
        self._run_s: FloatArray = np.zeros(n)
        self._stop_s: FloatArray = np.zeros(n)
        self._rest_s: FloatArray = np.zeros(n)  # standing because the mill is off
        self._stops: IntArray = np.zeros((n, 6), dtype=np.int64)
        self._warp_factor: FloatArray = np.ones(n)
        self._broken: BoolArray = np.zeros(n, dtype=np.bool_)
        self._mean_stop_s = 60.0 * np.array(
            [
                0.0,
                p.warp_repair_min,
                p.weft_repair_min,
                p.mechanical_repair_min,
                p.no_order_min,
                p.doffing_min,
            ]
        )
        self._rates: FloatArray = np.zeros((n, 5))
        self._total_rate: FloatArray = np.zeros(n)
        self._update_rates()

    def devices(self) -> list[SimDevice]:
        return [SimDevice(name, "loom") for name in self._names]

    def attributes(self) -> Attributes:
        plate = self.nameplate.attributes()
        return {name: dict(plate) for name in self._names}

    def tally(self, name: str) -> LoomTally:
        i = self._target(name)
        stops = {c: int(self._stops[i, c]) for c in range(1, 6)}
        return LoomTally(
            float(self._run_s[i]), float(self._stop_s[i]), stops, float(self._rest_s[i])
        )

    def step(self, t_ms: int, dt_s: float) -> Readings:
        if dt_s < 0:
            raise ValueError(f"dt_s must not be negative, got {dt_s}")
        if self._schedule is None:
            if dt_s > 0:
                self._advance(dt_s)
            return self._readings()
        # Cut the step where the calendar changes, so that looms stop and start on the minute.
        end_ms = t_ms
        t = t_ms - round(dt_s * 1000)
        done_s = 0.0
        self._follow(self._schedule.is_planned(t))
        while t < end_ms:
            change = self._next_change(t)
            until = end_ms if change is None else min(end_ms, change)
            # The last piece takes what is left, so the pieces add up to ``dt_s`` exactly.
            span = dt_s - done_s if until == end_ms else (until - t) / 1000.0
            if self._resting:
                self._stand(span)
            else:
                self._advance(span)
            done_s += span
            t = until
            self._follow(self._schedule.is_planned(t))
        return self._readings()

    def _next_change(self, t_ms: int) -> int | None:
        """The schedule's next change after ``t_ms``, asked again only once it has passed: a
        calendar that plans every hour would otherwise be searched a year ahead at every step."""
        known = self._change_known
        if known is None or not known[0] <= t_ms < known[1]:
            assert self._schedule is not None
            answer = self._schedule.next_change(t_ms)
            # No change within the schedule's horizon: ask again in a while, not at every step.
            until = answer if answer is not None else t_ms + _ASK_AGAIN_MS
            known = self._change_known = (t_ms, until, answer)
        return known[2]

    def _follow(self, planned: bool) -> None:
        """Stand every loom as the mill stops working; start them as it starts again."""
        if self._resting is not None and self._resting == (not planned):
            return
        self._resting = not planned
        if self._resting:
            self._running[:] = False
            # A stop under repair as the mill closes ends with the day: the loom waits idle.
            self._cause[~self._broken] = CAUSE_OTHER
            self._down_s[~self._broken] = 0.0
        else:
            start = ~self._broken
            self._running[start] = True
            self._cause[start] = CAUSE_NONE
            self._down_s[start] = 0.0

    def _stand(self, dt_s: float) -> None:
        """Time passes with the mill off: nothing runs, a loom waiting for repair still waits."""
        self._rest_s += dt_s
        self._energy_kwh += dt_s * self._p.stopped_kw / 3600.0

    def counters(self) -> Readings:
        """Picks and energy per loom (fabric follows from the picks)."""
        return {
            name: {"picks": float(picks), "energy_kwh": float(kwh)}
            for name, picks, kwh in zip(
                self._names, self._picks.tolist(), self._energy_kwh.tolist(), strict=True
            )
        }

    def resume_counters(self, counters: Readings) -> None:
        for name, values in counters.items():
            i = self._index.get(name)
            if i is None:
                continue
            if "picks" in values:
                self._picks[i] = checked_counter(name, "picks", values["picks"])
            if "energy_kwh" in values:
                self._energy_kwh[i] = checked_counter(name, "energy_kwh", values["energy_kwh"])

    def inject(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown loom fault {fault.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if not 0.0 <= fault.severity <= 1.0:
            raise ValueError(f"fault severity must lie in [0, 1], got {fault.severity}")
        if fault.target is None:
            i = int(self._rng.integers(len(self._names)))
        else:
            i = self._target(fault.target)
        if fault.kind == "warp_beam":
            self._warp_factor[i] = 1.0 + (self._p.warp_beam_max_factor - 1.0) * fault.severity
            self._update_rates()
        else:
            if self._running[i]:
                self._stops[i, CAUSE_MECHANICAL] += 1
            self._broken[i] = True
            self._running[i] = False
            self._cause[i] = CAUSE_MECHANICAL
            self._down_s[i] = np.inf  # stands until someone repairs it (``clear``)

    def clear(self, kind: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown loom fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if kind == "warp_beam":
            self._warp_factor[:] = 1.0
            self._update_rates()
        else:
            self._down_s[self._broken] = 0.0  # restarts at the next step
            if self._resting:  # repaired on a day off: it waits for the next shift
                self._cause[self._broken] = CAUSE_OTHER
            self._broken[:] = False

    def _target(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise ValueError(f"there is no loom {name!r} in this shed") from None

    def _update_rates(self) -> None:
        """Stop rates per second of running, by cause (warp, weft, mechanical, no order, doff)."""
        p = self._p
        picks_per_s = self._speed / 60.0
        self._rates[:, 0] = picks_per_s * p.warp_stops_per_1e5_picks * 1e-5 * self._warp_factor
        self._rates[:, 1] = picks_per_s * p.weft_stops_per_1e5_picks * 1e-5
        self._rates[:, 2] = picks_per_s * p.mechanical_stops_per_1e5_picks * 1e-5
        self._rates[:, 3] = p.no_order_per_day / _SECONDS_PER_DAY
        self._rates[:, 4] = p.doffing_per_day / _SECONDS_PER_DAY
        self._total_rate = self._rates.sum(axis=1)

    def _advance(self, dt_s: float) -> None:
        """Move every loom forward by ``dt_s``, one event (stop or restart) per pass, each pass
        only over the looms with time left."""
        p = self._p
        idx: IntArray = np.arange(len(self._names))
        left: FloatArray = np.full(idx.size, dt_s)
        while idx.size:
            running = self._running[idx]
            rate = self._total_rate[idx]
            until_stop = np.divide(
                self._hazard[idx], rate, out=np.full(idx.size, np.inf), where=rate > 0
            )
            until_event = np.where(running, until_stop, self._down_s[idx])
            span = np.minimum(left, until_event)
            run_span = np.where(running, span, 0.0)
            stop_span = span - run_span
            self._run_s[idx] += run_span
            self._stop_s[idx] += stop_span
            self._picks[idx] += self._speed[idx] / 60.0 * run_span
            self._energy_kwh[idx] += (run_span * p.running_kw + stop_span * p.stopped_kw) / 3600
            self._hazard[idx] -= rate * run_span
            self._down_s[idx] -= stop_span
            fired = until_event <= left
            left = left - span
            stopping = idx[fired & running]
            starting = idx[fired & ~running]
            if stopping.size:
                self._stop(stopping)
            if starting.size:
                self._running[starting] = True
                self._cause[starting] = CAUSE_NONE
                self._down_s[starting] = 0.0
            keep = left > 0
            idx, left = idx[keep], left[keep]

    def _stop(self, idx: IntArray) -> None:
        # Which cause stopped the loom is drawn in proportion to the competing rates.
        cumulative = np.cumsum(self._rates[idx], axis=1)
        u = self._rng.random(idx.size) * cumulative[:, -1]
        cause = 1 + np.minimum((u[:, None] >= cumulative).sum(axis=1), 4)
        mean = self._mean_stop_s[cause]
        if self._p.repair_distribution == "lognormal":
            sigma = self._p.repair_sigma
            duration = mean * np.exp(sigma * self._rng.standard_normal(idx.size) - sigma**2 / 2)
        else:
            duration = mean * self._rng.exponential(1.0, idx.size)
        self._running[idx] = False
        self._cause[idx] = cause
        self._down_s[idx] = duration
        self._hazard[idx] = self._rng.exponential(1.0, idx.size)
        self._stops[idx, cause] += 1

    def _readings(self) -> Readings:
        p = self._p
        running = self._running
        noise = self._rng.standard_normal((2, running.size))
        speed = np.where(running, np.maximum(self._speed + p.speed_noise_rpm * noise[0], 0.0), 0.0)
        power = np.where(running, p.running_kw, p.stopped_kw)
        # A standing loom draws little (controls, lights), so its jitter is smaller too.
        power = np.maximum(power + p.power_noise_kw * noise[1] * np.where(running, 1.0, 0.25), 0)
        picks = np.floor(self._picks)
        fabric = picks / (p.picks_per_cm * 100.0)
        columns = zip(
            self._names,
            running.astype(np.float64).tolist(),
            speed.tolist(),
            picks.tolist(),
            fabric.tolist(),
            power.tolist(),
            self._energy_kwh.tolist(),
            self._cause.astype(np.float64).tolist(),
            strict=True,
        )
        return {
            name: {
                "running": run,
                "speed_rpm": rpm,
                "picks": n_picks,
                "fabric_m": metres,
                "power_kw": kw,
                "energy_kwh": kwh,
                "stop_cause": cause,
            }
            for name, run, rpm, n_picks, metres, kw, kwh, cause in columns
        }
