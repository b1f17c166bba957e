"""Mechanical-draft cooling towers at a customer's site, under one sky (docs/domain.md,
cooling towers).

Each tower carries a process heat load that follows the working day, so its range breathes
between about 5 and 9 K. How close the cold water gets to the wet bulb (the approach) depends on
the load, on the air the fan moves and on the state of the fill; the fan's speed is steered to
hold a cold-water set point. The water side keeps a solids balance: evaporation concentrates the
circulating water, and conductivity-controlled blowdown holds the cycles of concentration.

Every state moves by exact first-order or linear updates, so a ten-minute step is as stable as a
ten-second one; each step draws the same random numbers whether or not a
fault is active, so a faulty and a healthy site built from one seed differ only by a fault
injected on a named tower.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.sim.model import Fault, Readings, SimDevice
from shugu.sim.weather import DAY_MS, Weather

FAULT_KINDS = ("fill_fouling", "fan_bearing_wear", "blowdown_stuck")

#: Heat capacity of water, kJ/(kg·K), and its density, kg/m³ (DOMAIN §10's worked example).
WATER_CP = 4.186
WATER_DENSITY = 1000.0
#: Evaporation E ≈ 0.00085 × 1.8 × flow × range (flow in m³/h, range in K).
EVAPORATION_FACTOR = 0.00085 * 1.8

_N_NOISE = 13  # normal draws per tower per step, fixed so faults do not shift the stream


@dataclass(frozen=True, slots=True)
class TowerBalance:
    """The figures of docs/domain.md (cooling towers) for one tower at one moment."""

    range_k: float
    approach_k: float
    effectiveness: float
    heat_rejected_kw: float
    evaporation_m3h: float
    blowdown_m3h: float
    drift_m3h: float
    makeup_m3h: float
    coc: float


def evaporation_m3h(flow_m3h: float, range_k: float) -> float:
    return EVAPORATION_FACTOR * flow_m3h * range_k


def tower_balance(
    hot_water_c: float,
    cold_water_c: float,
    wet_bulb_c: float,
    flow_m3h: float,
    coc: float,
    drift_pct: float = 0.02,
) -> TowerBalance:
    """Range, approach, effectiveness, heat rejected and the water balance (E, B, drift, M)."""
    if coc <= 1.0:
        raise ValueError(f"cycles of concentration must exceed 1, got {coc}")
    range_k = hot_water_c - cold_water_c
    approach_k = cold_water_c - wet_bulb_c
    span = range_k + approach_k
    evaporation = evaporation_m3h(flow_m3h, range_k)
    blowdown = evaporation / (coc - 1.0)
    drift = drift_pct / 100.0 * flow_m3h
    return TowerBalance(
        range_k=range_k,
        approach_k=approach_k,
        effectiveness=range_k / span if span != 0 else math.nan,
        heat_rejected_kw=flow_m3h * WATER_DENSITY / 3600.0 * WATER_CP * range_k,
        evaporation_m3h=evaporation,
        blowdown_m3h=blowdown,
        drift_m3h=drift,
        makeup_m3h=evaporation + blowdown + drift,
        coc=coc,
    )


def balance_from_readings(reading: Mapping[str, float], drift_pct: float = 0.02) -> TowerBalance:
    """The balance from one cooling_tower reading (COC = circulating / make-up conductivity)."""
    return tower_balance(
        reading["hot_water_c"],
        reading["cold_water_c"],
        reading["wet_bulb_c"],
        reading["flow_m3h"],
        reading["circ_conductivity_us_cm"] / reading["makeup_conductivity_us_cm"],
        drift_pct,
    )


@dataclass(frozen=True, slots=True)
class TowerParams:
    """One tower cell and its duty. Defaults: a 1,000 m³/h cell in a warm, humid climate."""

    design_flow_m3h: float = 1000.0
    #: Range at full process load (flow is constant, so range follows the load).
    design_range_k: float = 9.0
    #: Approach at full load, full fan, clean fill and the design wet bulb.
    design_approach_k: float = 5.0
    design_wet_bulb_c: float = 27.0
    #: Colder air carries less heat per kelvin, so the approach widens as the wet bulb falls.
    approach_per_k_below_design: float = 0.02
    #: Approach ∝ load^a × airflow^-b, a simplification of the tower's characteristic curve.
    approach_load_exponent: float = 0.7
    approach_airflow_exponent: float = 0.75
    cold_water_setpoint_c: float = 29.0
    fan_rated_kw: float = 37.0
    fan_min_pct: float = 30.0
    fan_response_s: float = 60.0
    #: Thermal lag of basin and loop.
    water_response_s: float = 300.0
    #: Process load between these fractions of design, peaking in the afternoon.
    load_min_frac: float = 0.6
    load_max_frac: float = 1.0
    load_peak_hour: float = 15.0
    coc_target: float = 4.0
    makeup_conductivity_us_cm: float = 400.0
    #: Proportional gain of the blowdown valve on the conductivity error.
    blowdown_gain: float = 5.0
    drift_pct: float = 0.02
    #: Losses that carry solids besides blowdown and drift: pump seals, basin splash.
    leak_pct: float = 0.03
    holding_volume_m3: float = 400.0
    basin_level_setpoint_pct: float = 70.0
    #: How far the float valve lets the level sag at design evaporation.
    basin_droop_pct: float = 4.0
    vibration_mm_s: float = 2.4
    #: Gearbox oil above ambient at full fan speed, and its thermal lag.
    gearbox_oil_rise_k: float = 35.0
    gearbox_oil_response_s: float = 1800.0
    #: Fill fouled completely after this long at severity 1 (approach × (1 + factor)).
    fouling_days: float = 2.0
    fouling_approach_factor: float = 2.0
    #: Bearing worn out after this long at severity 1; vibration and oil heat it then adds.
    bearing_wear_days: float = 3.0
    bearing_wear_vibration_mm_s: float = 12.0
    bearing_wear_oil_rise_k: float = 15.0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"TowerParams.{f.name} must not be negative")
        if not 0 < self.fan_min_pct <= 100:
            raise ValueError("TowerParams.fan_min_pct must lie in (0, 100]")
        if self.coc_target <= 1:
            raise ValueError("TowerParams.coc_target must exceed 1")
        if self.load_min_frac > self.load_max_frac:
            raise ValueError("TowerParams.load_min_frac must not exceed load_max_frac")
        positive = (
            "design_flow_m3h",
            "holding_volume_m3",
            "approach_airflow_exponent",
            "fouling_days",
            "bearing_wear_days",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"TowerParams.{name} must be positive")


def _relax(value: float, target: float, dt_s: float, tau_s: float) -> float:
    """Exact first-order lag over ``dt_s``: stable for any step."""
    if tau_s <= 0:
        return target
    return target + (value - target) * math.exp(-dt_s / tau_s)


class _Tower:
    def __init__(self, params: TowerParams, rng: np.random.Generator) -> None:
        self.p = params
        # Towers of one site serve different processes: shift their day and their fans a little.
        self.phase_h = float(rng.uniform(-2.0, 2.0))
        self.vibration_base = params.vibration_mm_s * float(rng.uniform(0.85, 1.15))
        self.started = False
        self.load_noise = 0.0
        self.level_noise = 0.0
        self.fan = 1.0
        self.cold = 0.0
        self.oil = 0.0
        self.circ = params.coc_target * params.makeup_conductivity_us_cm
        self.fouling = 0.0
        self.wear = 0.0
        self.fouling_rate = 0.0  # severity of the active faults, 0 when none
        self.wear_rate = 0.0
        self.blowdown_stuck = 0.0

    def advance(
        self, dt_s: float, hour: float, dry: float, wb: float, z: list[float]
    ) -> dict[str, float]:
        p = self.p
        # Process load: a daily cycle plus slow Ornstein–Uhlenbeck wander (about an hour's memory).
        decay = math.exp(-dt_s / 3600.0)
        self.load_noise = self.load_noise * decay + 0.03 * math.sqrt(1 - decay**2) * z[0]
        daily = 0.5 + 0.5 * math.cos((hour - p.load_peak_hour - self.phase_h) / 24 * 2 * math.pi)
        load = p.load_min_frac + (p.load_max_frac - p.load_min_frac) * daily + self.load_noise
        load = min(max(load, 0.3), 1.15)
        range_k = p.design_range_k * load
        flow = p.design_flow_m3h * (1.0 + 0.004 * z[1])

        days = dt_s / 86_400.0
        self.fouling = min(1.0, self.fouling + self.fouling_rate * days / p.fouling_days)
        self.wear = min(1.0, self.wear + self.wear_rate * days / p.bearing_wear_days)

        # Approach the tower would reach with the fan at full speed; the fan slows from there.
        wb_factor = 1.0 + p.approach_per_k_below_design * (p.design_wet_bulb_c - wb)
        full_fan_approach = (
            p.design_approach_k
            * load**p.approach_load_exponent
            * min(max(wb_factor, 0.5), 2.0)
            * (1.0 + p.fouling_approach_factor * self.fouling)
        )
        # The fan is steered to the speed the tower's curve says holds the set point; a PI loop
        # tuned for seconds would ring when the simulator takes ten-minute strides.
        needed = p.cold_water_setpoint_c - wb
        fan_min = p.fan_min_pct / 100.0
        b = p.approach_airflow_exponent
        wanted = 1.0 if needed <= 0 else (full_fan_approach / needed) ** (1.0 / b)
        wanted = min(max(wanted, fan_min), 1.0)
        if not self.started:  # begin in the steady state of the first moment, not from cold
            self.fan, self.cold = wanted, wb + full_fan_approach * wanted**-b
        self.fan = _relax(self.fan, wanted, dt_s, p.fan_response_s)
        approach = full_fan_approach * self.fan**-b
        self.cold = _relax(self.cold, wb + approach, dt_s, p.water_response_s)
        self.cold = max(self.cold, wb + 0.3)  # no tower cools below the wet bulb
        hot = self.cold + range_k

        # Solids balance of the circulating water: V dC/dt = M·Cm − (B + drift + leak)·C,
        # integrated exactly over the step with the valve position fixed at its start.
        cm = p.makeup_conductivity_us_cm
        evaporation = evaporation_m3h(flow, range_k)
        drift = p.drift_pct / 100.0 * flow
        leak = p.leak_pct / 100.0 * flow
        c_set = p.coc_target * cm
        feed_forward = max(0.0, evaporation / (p.coc_target - 1.0) - drift - leak)
        valve = min(max(1.0 + p.blowdown_gain * (self.circ / c_set - 1.0), 0.0), 4.0)
        blowdown = feed_forward * valve * (1.0 - self.blowdown_stuck)
        losses = blowdown + drift + leak
        if losses > 0:
            steady = (evaporation + losses) * cm / losses
            self.circ = steady + (self.circ - steady) * math.exp(
                -losses * dt_s / 3600.0 / p.holding_volume_m3
            )
        else:
            self.circ += evaporation * cm * dt_s / 3600.0 / p.holding_volume_m3

        design_evap = evaporation_m3h(p.design_flow_m3h, p.design_range_k)
        decay = math.exp(-dt_s / 1800.0)
        self.level_noise = self.level_noise * decay + 0.8 * math.sqrt(1 - decay**2) * z[2]
        level = p.basin_level_setpoint_pct - p.basin_droop_pct * evaporation / design_evap
        level += self.level_noise + 0.2 * z[3]

        # Imbalance grows with speed; a worn bearing adds more, and more the faster it turns.
        wear_vibration = p.bearing_wear_vibration_mm_s * self.wear**2 * (0.4 + 0.6 * self.fan)
        vibration = self.vibration_base * (0.6 + 0.4 * self.fan) + wear_vibration
        vibration = abs(vibration + 0.08 * z[4])
        # Gearbox losses: churning ∝ speed, load-dependent friction ∝ transmitted power (speed³).
        oil_target = dry + p.gearbox_oil_rise_k * (0.6 * self.fan + 0.4 * self.fan**3)
        oil_target += p.bearing_wear_oil_rise_k * self.wear
        if not self.started:
            self.oil = oil_target
        self.oil = _relax(self.oil, oil_target, dt_s, p.gearbox_oil_response_s)
        self.started = True

        return {
            "hot_water_c": hot + 0.05 * z[5],
            "cold_water_c": self.cold + 0.05 * z[6],
            "wet_bulb_c": wb + 0.1 * z[7],
            "flow_m3h": flow,
            "fan_power_kw": max(0.0, p.fan_rated_kw * self.fan**3 * (1.0 + 0.01 * z[8])),
            "fan_speed_pct": min(max(100.0 * self.fan + 0.2 * z[9], 0.0), 100.0),
            "vibration_mm_s": vibration,
            "gearbox_oil_temp_c": self.oil + 0.2 * z[10],
            "basin_level_pct": min(max(level, 0.0), 100.0),
            "circ_conductivity_us_cm": self.circ * (1.0 + 0.005 * z[11]),
            "makeup_conductivity_us_cm": cm * (1.0 + 0.005 * z[12]),
        }


class CoolingTowerSite:
    """The towers of one customer site; implements ``shugu.sim.model.Plant``."""

    def __init__(
        self,
        names: Sequence[str],
        rng: np.random.Generator,
        weather: Weather | None = None,
        params: TowerParams | Sequence[TowerParams] | None = None,
    ) -> None:
        if not names or len(set(names)) != len(names):
            raise ValueError("a site needs at least one tower, each with its own name")
        if params is None or isinstance(params, TowerParams):
            per_tower = [params or TowerParams()] * len(names)
        else:
            per_tower = list(params)
            if len(per_tower) != len(names):
                raise ValueError("give one TowerParams per tower, or one for all")
        self._names = list(names)
        self._rng = rng
        self._weather = weather or Weather(rng)
        self._towers = [_Tower(p, rng) for p in per_tower]

    def devices(self) -> list[SimDevice]:
        return [SimDevice(name, "cooling_tower") for name in self._names]

    def step(self, t_ms: int, dt_s: float) -> Readings:
        if dt_s < 0:
            raise ValueError(f"dt_s must not be negative, got {dt_s}")
        dry, wb = self._weather.at(t_ms, dt_s)
        hour = ((t_ms + CHINA_OFFSET_MS) % DAY_MS) / 3_600_000
        noise = self._rng.standard_normal((len(self._towers), _N_NOISE)).tolist()
        return {
            name: tower.advance(dt_s, hour, dry, wb, z)
            for name, tower, z in zip(self._names, self._towers, noise, strict=True)
        }

    def inject(self, fault: Fault) -> None:
        self._check_kind(fault.kind)
        if not 0.0 <= fault.severity <= 1.0:
            raise ValueError(f"fault severity must lie in [0, 1], got {fault.severity}")
        if fault.target is None:
            tower = self._towers[int(self._rng.integers(len(self._towers)))]
        elif fault.target in self._names:
            tower = self._towers[self._names.index(fault.target)]
        else:
            raise ValueError(f"there is no cooling tower {fault.target!r} at this site")
        if fault.kind == "fill_fouling":
            tower.fouling_rate = fault.severity
        elif fault.kind == "fan_bearing_wear":
            tower.wear_rate = fault.severity
        else:
            tower.blowdown_stuck = fault.severity

    def clear(self, kind: str) -> None:
        """Repair: clean the fill, replace the bearing, free the blowdown valve."""
        self._check_kind(kind)
        for tower in self._towers:
            if kind == "fill_fouling":
                tower.fouling_rate = tower.fouling = 0.0
            elif kind == "fan_bearing_wear":
                tower.wear_rate = tower.wear = 0.0
            else:
                tower.blowdown_stuck = 0.0

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown cooling-tower fault {kind!r}; known: {', '.join(FAULT_KINDS)}"
            )
