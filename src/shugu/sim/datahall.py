"""A data hall: CRAHs on a raised floor cooling rows of racks, each rack with an inlet sensor.

A lumped airflow and heat balance. Fans hold the underfloor pressure; a unit's air reaches mostly
the racks near it (a zone of influence), the rest mixes through the plenum; a rack given less cold
air than its servers draw recirculates hot air. States relax exponentially towards their targets
(exact for a constant target, so long steps land on the equilibrium instead of overshooting).

The hall's electrical power is what its two meters read: the IT load of the racks (the IT meter)
and the facility's total, IT plus cooling plus electrical losses (the hall's total meter). The
chiller plant rejects its heat through cooling towers to the outdoor air, so it works harder as
the wet bulb rises: PUE breathes with the weather, near 1.4 in a humid Fuzhou summer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.sim.model import Attributes, Fault, Readings, SimDevice
from shugu.sim.weather import Weather

#: ρ·cp of air near 20 °C, kJ/(m³·K): turns an airflow in m³/s into kW per kelvin.
RHO_CP_AIR = 1.2 * 1.006
FAULT_KINDS = ("crah_trip", "chiller_degraded")
#: A CRAH counts as cooling a rack (the rack's ``cooled_by`` attribute) when it brings at least
#: this share of the air reaching the rack's zone: every rack a trip warms by more than a kelvin
#: lies in the tripped unit's zone by at least 0.29 in the district's halls.
COOLED_BY_MIN_SHARE = 0.25
#: The rack attribute naming those CRAHs (a list of device names).
COOLED_BY = "cooled_by"
Array = np.ndarray
Taus = tuple[float, float]  # time constants (s) of a unit's state: running, stopped


@dataclass(frozen=True, slots=True)
class FloorPlan:
    """Rows of racks along x; CRAHs against the two end walls, facing the aisles."""

    racks_per_row: int = 20
    rack_width_m: float = 0.6
    #: Rack depth plus half of each aisle: rows alternate cold and hot aisles.
    row_pitch_m: float = 2.4
    #: Service space between the end of a row and the wall where the CRAHs stand.
    wall_clearance_m: float = 3.0


@dataclass(frozen=True, slots=True)
class CrahParams:
    #: Supply air near 22 °C keeps rack inlets around 23 °C: inside ASHRAE's 18–27 °C with
    #: room to spare, as energy-conscious halls run (GB 50174-2017 allows the same range).
    supply_setpoint_c: float = 22.0
    max_airflow_m3_s: float = 12.0
    rated_cooling_kw: float = 150.0
    #: The coil cannot cool the air below the entering chilled water plus this approach.
    coil_approach_k: float = 9.0
    #: Chilled-water ΔT at rated load; at part load the valve passes relatively more water.
    design_chw_delta_k: float = 6.0
    fan_rated_kw: float = 10.0
    pressure_setpoint_pa: float = 10.0
    #: A tripped fan coasts down faster than the pressure loop ramps the others up, hence a dip.
    fan_coastdown_s: float = 10.0
    fan_control_s: float = 45.0
    #: Coil, air and water of a running unit.
    air_time_constant_s: float = 60.0
    #: A stopped unit's air and stagnant coil water drift slowly to room temperature.
    idle_time_constant_s: float = 300.0
    idle_water_time_constant_s: float = 1200.0


@dataclass(frozen=True, slots=True)
class ChillerParams:
    supply_setpoint_c: float = 7.0
    #: Heat removed per kW of the chiller plant (chillers, condenser pumps, tower fans) at the
    #: design wet bulb, as in a plant of the 2010s; each kelvin the wet bulb falls below it
    #: cools the condenser water and gains ``cop_gain_per_k`` of that (loses it above).
    cop: float = 3.0
    design_wet_bulb_c: float = 27.0
    cop_gain_per_k: float = 0.04
    pump_kw_per_kw: float = 0.03
    #: The chilled-water loop's thermal mass makes its temperature move over minutes.
    time_constant_s: float = 600.0
    #: What ``chiller_degraded`` at severity 1 does: warmer supply and a worse COP.
    degraded_rise_k: float = 10.0
    degraded_cop_loss: float = 0.3


@dataclass(frozen=True, slots=True)
class RackParams:
    mean_it_kw: float = 4.0
    #: Relative spread of nominal IT load between racks.
    it_spread: float = 0.25
    #: Servers' air temperature rise at nominal load; fixes the airflow they draw.
    server_delta_t_k: float = 12.0
    #: Mild daily pattern: ± this fraction, peaking at ``peak_hour`` China time.
    daily_swing: float = 0.06
    peak_hour: float = 15.0
    #: Relative load noise (Ornstein–Uhlenbeck) and its memory.
    noise: float = 0.03
    noise_time_constant_s: float = 900.0
    #: Hot air a rack draws even when fed enough; more at the open ends of a row.
    base_recirculation: float = 0.03
    row_end_recirculation: float = 0.05
    #: Inlet air plus the rack's metal and the sensor respond over minutes.
    time_constant_s: float = 120.0
    #: Servers throttle and shut down as their inlet nears this temperature.
    shutdown_inlet_c: float = 45.0


@dataclass(frozen=True, slots=True)
class ElectricalParams:
    """Losses between the utility meter and the servers, and the hall's own small loads."""

    #: UPS and distribution losses, a share of the IT load (double-conversion UPS near 95 %).
    loss_share_of_it: float = 0.06
    #: Transformer no-load losses, lighting, access control, fire detection.
    fixed_kw: float = 10.0


@dataclass(frozen=True, slots=True)
class DataHallParams:
    floor: FloorPlan = field(default_factory=FloorPlan)
    crah: CrahParams = field(default_factory=CrahParams)
    chiller: ChillerParams = field(default_factory=ChillerParams)
    rack: RackParams = field(default_factory=RackParams)
    electrical: ElectricalParams = field(default_factory=ElectricalParams)
    #: Tiles pass this much more air than the servers draw at the pressure set point.
    airflow_margin: float = 1.1
    #: Distance over which a CRAH's share of the underfloor air falls to 1/e.
    influence_length_m: float = 3.0
    #: Fraction of the underfloor air that reaches racks evenly whatever CRAH blew it.
    plenum_mixing: float = 0.2
    #: Warming of cold air on its way through the plenum and tiles.
    plenum_pickup_k: float = 0.5
    #: Part of the hot air a rack recirculates that comes from its own exhaust, not the room.
    exhaust_recirculation: float = 0.5
    #: How much a unit's return differs from the room mean with the exhaust of its own zone.
    return_bias: float = 0.5
    room_heat_capacity_kj_k: float = 10_000.0
    envelope_ua_kw_k: float = 2.0
    surroundings_c: float = 26.0
    #: The humidifiers hold the dew point; it wanders slowly around the set point.
    dew_point_c: float = 10.0
    dew_point_wander_k: float = 0.7
    sensor_noise_c: float = 0.1
    sensor_noise_rh: float = 0.5
    sensor_noise_pa: float = 0.2
    max_substep_s: float = 60.0


def floor_plan(plan: FloorPlan, crahs: int, racks: int) -> tuple[Array, Array, Array]:
    """(rack x/y in m, CRAH x/y in m, whether each rack stands at the end of its row)."""
    row, slot = np.divmod(np.arange(racks), plan.racks_per_row)
    x = plan.wall_clearance_m + (slot + 0.5) * plan.rack_width_m
    racks_xy = np.column_stack((x, (row + 0.5) * plan.row_pitch_m))
    last_in_row = np.minimum(plan.racks_per_row, racks - row * plan.racks_per_row) - 1
    row_end = (slot == 0) | (slot == last_in_row)
    length = 2 * plan.wall_clearance_m + plan.racks_per_row * plan.rack_width_m
    depth = (int(row[-1]) + 1) * plan.row_pitch_m
    west = (crahs + 1) // 2
    walls = [(0.5, west), (length - 0.5, crahs - west)]
    crahs_xy = np.array([(x, depth * (q + 0.5) / k) for x, k in walls for q in range(k)])
    return racks_xy, crahs_xy, row_end


def zone_shares(crahs_xy: Array, points_xy: Array, influence_length_m: float) -> Array:
    """Per point (a unit or a rack), each CRAH's share of the underfloor air that reaches it:
    its zone of influence, falling off with distance; each row sums to 1."""
    w = np.exp(-np.linalg.norm(points_xy[:, None] - crahs_xy, axis=2) / influence_length_m)
    return np.asarray(w / w.sum(axis=1, keepdims=True))


def cooled_by(
    crah_names: Sequence[str],
    rack_names: Sequence[str],
    params: DataHallParams | None = None,
    min_share: float = COOLED_BY_MIN_SHARE,
) -> dict[str, list[str]]:
    """Per rack, the CRAHs that cool it, the largest share first: those bringing at least
    ``min_share`` of the air from the rack's zone, or, where none does (a rack in the middle
    of a large hall), those bringing the most. A trip of any other unit barely warms it."""
    p = params or DataHallParams()
    racks_xy, crahs_xy, _ends = floor_plan(p.floor, len(crah_names), len(rack_names))
    shares = zone_shares(crahs_xy, racks_xy, p.influence_length_m)
    return _cooling_units(crah_names, rack_names, shares, min_share)


def _cooling_units(
    crah_names: Sequence[str], rack_names: Sequence[str], shares: Array, min_share: float
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rack, share in zip(rack_names, shares, strict=True):
        enough = min(min_share, float(share.max()))
        order = np.argsort(-share, kind="stable")
        out[rack] = [crah_names[int(i)] for i in order if share[i] >= enough]
    return out


def relative_humidity(dew_point_c: float, temp_c: Array) -> Array:
    """RH in % of air with a given dew point at the given temperatures (Magnus formula)."""
    exponent = 17.62 * dew_point_c / (243.12 + dew_point_c) - 17.62 * temp_c / (243.12 + temp_c)
    return np.asarray(np.clip(100.0 * np.exp(exponent), 0.0, 100.0))


def _relax(state: Array | float, target: Array | float, dt_s: float, tau: Array | float) -> Array:
    return np.asarray(target + (state - target) * np.exp(-dt_s / np.asarray(tau)))


def _table(names: list[str], columns: dict[str, Array]) -> Readings:
    rows = np.column_stack(list(columns.values())).tolist()
    return {n: dict(zip(columns, r, strict=True)) for n, r in zip(names, rows, strict=True)}


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; a data hall knows {', '.join(FAULT_KINDS)}")


class DataHall:
    """CRAHs (profile ``crah``) and rack inlet sensors (profile ``rack_sensor``) of one hall.

    Faults: ``crah_trip`` stops the target CRAH (a random running one if no target; a trip is all
    or nothing, so severity is not used); ``chiller_degraded`` warms the chilled water by
    ``severity × degraded_rise_k``. ``clear("crah_trip")`` restarts every tripped unit.

    ``weather`` is the outdoor air the chiller plant rejects heat to; without one the hall gets
    its own, drawn from a stream split off ``rng`` (so its readings stay as they were).
    """

    def __init__(
        self,
        crah_names: Sequence[str],
        rack_names: Sequence[str],
        rng: np.random.Generator,
        params: DataHallParams | None = None,
        weather: Weather | None = None,
    ) -> None:
        self.params = p = params or DataHallParams()
        self._weather = weather if weather is not None else Weather(rng.spawn(1)[0])
        self._wet_bulb_c = p.chiller.design_wet_bulb_c
        names = [*crah_names, *rack_names]
        if not crah_names or not rack_names or len(set(names)) != len(names):
            raise ValueError("a data hall needs CRAHs and racks, all with different names")
        if p.floor.racks_per_row < 1:
            raise ValueError("a row holds at least one rack")
        self.crah_names, self.rack_names = list(crah_names), list(rack_names)
        self._rng, rk = rng, p.rack
        n, m = len(crah_names), len(rack_names)
        self.rack_xy, self.crah_xy, row_end = floor_plan(p.floor, n, m)
        self._it_nominal = rk.mean_it_kw * np.clip(rng.normal(1.0, rk.it_spread, m), 0.25, 3.0)
        self._airflow_nominal = self._it_nominal / (RHO_CP_AIR * rk.server_delta_t_k)
        self._recirc_base = rk.base_recirculation + rk.row_end_recirculation * row_end
        self._q_need = p.airflow_margin * float(self._airflow_nominal.sum())
        # A hall too small for its load would only overheat: say what it needs instead.
        it_kw, c = float(self._it_nominal.sum()), p.crah
        need = math.ceil(max(1.05 * it_kw / c.rated_cooling_kw, self._q_need / c.max_airflow_m3_s))
        if n < need:
            raise ValueError(f"{n} CRAHs cannot cool {it_kw:.0f} kW of IT; the hall needs {need}")

        # Each CRAH's share of the underfloor air at each unit and rack: its zone of influence.
        xy = np.vstack((self.crah_xy, self.rack_xy))
        w = zone_shares(self.crah_xy, xy, p.influence_length_m)
        self._near, self._share_of = w[:n], w[n:]
        # Where each unit's air ends up, so whose exhaust it mostly takes back.
        self._served = (self._share_of * self._airflow_nominal[:, None]).T
        self._served /= self._served.sum(axis=1, keepdims=True)
        # Pipe heat gain between the chiller and each unit differs a little with pipe length.
        self._chw_offset = rng.uniform(0.0, 0.3, n)

        self._normal_flow = min(self._q_need / n, p.crah.max_airflow_m3_s)
        self._running = np.ones(n, dtype=bool)
        self._degradation = self._t_hot = self._t_chw = self._p_hall = self._dew_wander = 0.0
        # Rough starting values; settling finds the equilibrium.
        self._fan, self._heat, self._share = np.full(n, self._normal_flow), np.zeros(n), np.ones(m)
        self._t_sup, self._t_ret, self._chw_ret = np.full(n, 18.0), np.zeros(n), np.zeros(n)
        self._t_in, self._it, self._it_noise = np.full(m, 20.0), np.zeros(m), np.zeros(m)
        self._started = False

    def devices(self) -> list[SimDevice]:
        return [SimDevice(name, "crah") for name in self.crah_names] + [
            SimDevice(name, "rack_sensor") for name in self.rack_names
        ]

    def attributes(self) -> Attributes:
        """What each rack sensor reports about itself: the CRAHs that cool it (``cooled_by``,
        as the hall's engineers configured it when they placed the sensor), so that shugu can
        group a tripped unit's alarm with those of the racks it warms."""
        links = _cooling_units(
            self.crah_names, self.rack_names, self._share_of, COOLED_BY_MIN_SHARE
        )
        return {rack: {COOLED_BY: crahs} for rack, crahs in links.items()}

    def step(self, t_ms: int, dt_s: float) -> Readings:
        if dt_s < 0:
            raise ValueError(f"dt_s must not be negative, got {dt_s}")
        daily = self._daily(t_ms)
        self._wet_bulb_c = self._weather.at(t_ms, dt_s)[1]
        if not self._started:
            # Start in equilibrium with the hour of day the run begins at.
            self._settle(daily)
            self._started = True
        self._advance_noise(dt_s)
        # Substeps keep fast couplings (servers throttling on a hot inlet) from ringing.
        substeps = max(1, math.ceil(dt_s / self.params.max_substep_s))
        for _ in range(substeps):
            self._advance(dt_s / substeps, daily)
        return self._readings()

    def inject(self, fault: Fault) -> None:
        _check_kind(fault.kind)
        if fault.kind == "crah_trip":
            self._running[self._crah_index(fault.target)] = False
        else:
            self._degradation = min(1.0, max(0.0, fault.severity))

    def clear(self, kind: str) -> None:
        _check_kind(kind)
        if kind == "crah_trip":
            self._running[:] = True
        else:
            self._degradation = 0.0

    def positions(self) -> dict[str, tuple[float, float]]:
        """Floor position (x, y) in metres of every device, for a floor-plan view."""
        xy = np.vstack((self.crah_xy, self.rack_xy)).tolist()
        return {n: (x, y) for n, (x, y) in zip(self.crah_names + self.rack_names, xy, strict=True)}

    def cooling_share(self) -> Array:
        """Per rack: the fraction of the air its servers draw that arrives cold from the floor."""
        return self._share.copy()

    def it_power_kw(self) -> float:
        """What the racks draw: what the IT meter sees."""
        return float(self._it.sum())

    def wet_bulb_c(self) -> float:
        """The outdoor wet bulb the chiller plant works against, at the last step."""
        return self._wet_bulb_c

    def chiller_cop(self) -> float:
        """Heat removed per kW of the chiller plant, with the weather and any degradation."""
        ch = self.params.chiller
        weather = 1.0 + ch.cop_gain_per_k * (ch.design_wet_bulb_c - self._wet_bulb_c)
        return (
            ch.cop * min(max(weather, 0.5), 1.5) * (1.0 - ch.degraded_cop_loss * self._degradation)
        )

    def cooling_power_kw(self) -> float:
        """CRAH fans (affinity law: power ∝ flow³), chiller plant (heat / COP) and pumps."""
        c, ch = self.params.crah, self.params.chiller
        fans = c.fan_rated_kw * float(((self._fan / c.max_airflow_m3_s) ** 3).sum())
        heat = float(self._heat.sum())
        return fans + heat / self.chiller_cop() + ch.pump_kw_per_kw * heat

    def losses_kw(self) -> float:
        """UPS and distribution losses and the hall's small loads."""
        e = self.params.electrical
        return e.loss_share_of_it * self.it_power_kw() + e.fixed_kw

    def total_power_kw(self) -> float:
        """The facility's power, IT plus cooling plus losses: what the hall's total meter sees
        (PUE = its energy / the IT meter's)."""
        return self.it_power_kw() + self.cooling_power_kw() + self.losses_kw()

    def _crah_index(self, target: str | None) -> int:
        if target is None:
            running = np.flatnonzero(self._running)
            if running.size == 0:
                raise ValueError("every CRAH in this hall has already tripped")
            return int(self._rng.choice(running))
        if target not in self.crah_names:
            names = f"{self.crah_names[0]} … {self.crah_names[-1]}"
            raise ValueError(f"no CRAH named {target!r} in this hall; its CRAHs are {names}")
        return self.crah_names.index(target)

    def _daily(self, t_ms: int) -> float:
        rk = self.params.rack
        hour = ((t_ms + CHINA_OFFSET_MS) % 86_400_000) / 3_600_000
        return 1.0 + rk.daily_swing * math.cos((hour - rk.peak_hour) / 24.0 * 2 * math.pi)

    def _settle(self, daily: float) -> None:
        # Long steps jump to targets and, repeated, solve the coupled balance. With units down,
        # servers may throttle, which long steps would ring on: then take six hours of 60 s.
        faulted = not self._running.all() or self._degradation > 0
        for _ in range(360 if faulted else 40):
            self._advance(60.0 if faulted else 1e6, daily)

    def _advance_noise(self, dt_s: float) -> None:
        # Exact Ornstein–Uhlenbeck updates: the statistics do not depend on the step length.
        rk, p = self.params.rack, self.params
        a, b = math.exp(-dt_s / rk.noise_time_constant_s), math.exp(-dt_s / (6 * 3600))
        z = self._rng.normal(0.0, 1.0, self._it_noise.size + 1)
        self._it_noise = a * self._it_noise + rk.noise * math.sqrt(1 - a * a) * z[1:]
        self._dew_wander = b * self._dew_wander + p.dew_point_wander_k * math.sqrt(1 - b * b) * z[0]

    def _units(self, x: Array, run: Array | float, idle: float, dt: float, taus: Taus) -> Array:
        """Relax per-unit states: running units towards ``run``, stopped ones towards ``idle``."""
        target = np.where(self._running, run, idle)
        return _relax(x, target, dt, np.where(self._running, *taus))

    def _advance(self, dt: float, daily: float) -> None:
        p = self.params
        c, ch, rk = p.crah, p.chiller, p.rack
        protect = np.clip((rk.shutdown_inlet_c - self._t_in) / 3.0, 0.0, 1.0)
        self._it = np.maximum(self._it_nominal * daily * (1.0 + self._it_noise) * protect, 0.0)
        # Server fans speed up with load, so the air a rack draws follows its load partly.
        demand = self._airflow_nominal * (0.6 + 0.4 * self._it / self._it_nominal)

        # Pressure control shares the tiles' airflow among the running fans, up to their maximum.
        running = int(self._running.sum())
        per_unit = min(self._q_need / running, c.max_airflow_m3_s) if running else 0.0
        self._fan = self._units(self._fan, per_unit, 0.0, dt, (c.fan_control_s, c.fan_coastdown_s))
        flow = float(self._fan.sum())
        # Tiles pass Q = k·√p, so the plenum pressure goes with the square of the airflow.
        self._p_hall = c.pressure_setpoint_pa * (flow / self._q_need) ** 2

        # Cold air reaching a rack, relative to normal: part evened out by the plenum, part from
        # its own zone, where a stopped unit leaves a gap its neighbours only partly fill.
        mix = p.plenum_mixing
        rel_fan = self._fan / self._normal_flow
        even = mix * flow / (self._normal_flow * len(self._fan))
        weight = even + (1 - mix) * (self._share_of @ rel_fan)
        self._share = np.minimum(1.0, p.airflow_margin * self._airflow_nominal * weight / demand)
        t_sup_mix = float(self._fan @ self._t_sup) / flow if flow > 1e-9 else self._t_hot
        cold_heat = even * t_sup_mix + (1 - mix) * (self._share_of @ (rel_fan * self._t_sup))
        t_cold = cold_heat / np.maximum(weight, 1e-12)  # irrelevant where no air arrives

        chw_target = ch.supply_setpoint_c + self._degradation * ch.degraded_rise_k
        self._t_chw = float(_relax(self._t_chw, chw_target, dt, ch.time_constant_s))
        chw_at_unit = self._t_chw + self._chw_offset

        exhaust = self._t_in + self._it / (RHO_CP_AIR * demand)
        mean_exhaust = float(demand @ exhaust) / float(demand.sum())
        ret_running = self._t_hot + p.return_bias * (self._served @ exhaust - mean_exhaust)
        taus = (c.air_time_constant_s, c.air_time_constant_s)
        self._t_ret = self._units(self._t_ret, ret_running, self._t_hot, dt, taus)

        # The coil holds the set point unless the water is too warm or it is at rated capacity.
        at_capacity = self._t_ret - c.rated_cooling_kw / (RHO_CP_AIR * np.maximum(self._fan, 1e-9))
        floor_c = np.maximum(chw_at_unit + c.coil_approach_k, at_capacity)
        sup_run = np.maximum(c.supply_setpoint_c, floor_c)
        taus = (c.air_time_constant_s, c.idle_time_constant_s)
        self._t_sup = self._units(self._t_sup, sup_run, self._t_hot, dt, taus)
        self._heat = RHO_CP_AIR * self._fan * np.maximum(self._t_ret - self._t_sup, 0.0)

        # Valve flow ṁ ∝ load^0.8 (more water than in proportion at part load), so from
        # Q = ṁ·cp·ΔT the water ΔT goes with load^0.2.
        load = np.maximum(self._heat / c.rated_cooling_kw, 0.0)
        chw_run = chw_at_unit + c.design_chw_delta_k * load**0.2
        taus = (c.air_time_constant_s, c.idle_water_time_constant_s)
        self._chw_ret = self._units(self._chw_ret, chw_run, self._t_hot, dt, taus)

        # Room air: C·dT/dt = IT heat − ρ·cp·Q·(T − T_supply) − UA·(T − T_surroundings).
        g = RHO_CP_AIR * flow
        ua = p.envelope_ua_kw_k
        t_eq = (float(self._it.sum()) + g * t_sup_mix + ua * p.surroundings_c) / (g + ua)
        tau_room = p.room_heat_capacity_kj_k / (g + ua)
        self._t_hot = float(_relax(self._t_hot, t_eq, dt, tau_room))

        # A starved rack pulls hot air over and around itself, partly straight from its own hot
        # aisle: a warmer inlet makes a warmer exhaust to recirculate, as in a real hot spot.
        recirc = 1.0 - self._share * (1.0 - self._recirc_base)
        hot = (1.0 - p.exhaust_recirculation) * self._t_hot + p.exhaust_recirculation * exhaust
        in_target = (1.0 - recirc) * (t_cold + p.plenum_pickup_k) + recirc * hot
        self._t_in = _relax(self._t_in, in_target, dt, rk.time_constant_s)

    def _readings(self) -> Readings:
        p = self.params
        dew = p.dew_point_c + self._dew_wander
        z = self._rng.normal(0.0, 1.0, (6, len(self.crah_names)))
        zr = self._rng.normal(0.0, 1.0, (2, len(self.rack_names)))

        def rh(temp: Array, noise: Array) -> Array:
            return np.clip(relative_humidity(dew, temp) + p.sensor_noise_rh * noise, 0.0, 100.0)

        # The underfloor pressure at a unit falls where nearby fans stopped. Not squared (as
        # Q = k·√p would have it): static pressure evens out in the plenum more than flow.
        rel_fan = self._near @ (self._fan / self._normal_flow)
        local = p.plenum_mixing + (1 - p.plenum_mixing) * rel_fan
        crahs = {
            "supply_air_c": self._t_sup + p.sensor_noise_c * z[0],
            "return_air_c": self._t_ret + p.sensor_noise_c * z[1],
            "humidity_pct": rh(self._t_ret, z[2]),
            "chw_supply_c": self._t_chw + self._chw_offset + 0.5 * p.sensor_noise_c * z[3],
            "chw_return_c": self._chw_ret + 0.5 * p.sensor_noise_c * z[4],
            "supply_air_pressure_pa": self._p_hall * local + p.sensor_noise_pa * z[5],
            "fan_running": self._running.astype(float),
        }
        inlet = self._t_in + p.sensor_noise_c * zr[0]
        racks = {"inlet_c": inlet, "inlet_rh_pct": rh(self._t_in, zr[1])}
        return _table(self.crah_names, crahs) | _table(self.rack_names, racks)
