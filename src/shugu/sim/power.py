"""Three-phase power meters: a helper that plants use, and a wrapper that meters any plant.

A meter sees the electrical load of what it feeds and reports what a real low-voltage meter
does: active power, an energy counter, line voltage, current and power factor. The counter
integrates exactly the power the meter reports over each step, so energy and power always agree
(an energy figure that drifted from the power figures would make every KPI built on them lie).

Each meter tells shugu what it measures in the client attribute ``meter_role``: ``facility``
(everything a data hall draws, cooling and losses included: PUE's numerator), ``it`` (the racks'
IT load: PUE's denominator) or ``line`` (a production line or a site's supply).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from shugu.sim.model import (
    Attributes,
    Fault,
    KeepsCounters,
    Plant,
    Readings,
    ReportsAttributes,
    SimDevice,
    checked_counter,
)

SQRT3 = math.sqrt(3.0)
MeterRole = Literal["facility", "it", "line"]
METER_ROLES: tuple[MeterRole, ...] = ("facility", "it", "line")


@dataclass(frozen=True, slots=True)
class PowerMeterParams:
    #: Load the meter sees beyond what it is told about: lighting, offices, transformer losses.
    base_load_kw: float = 0.0
    #: Relative ripple of the measured power around the load.
    power_noise: float = 0.005
    nominal_voltage_v: float = 400.0
    #: The grid holds the voltage within this fraction of nominal; it wanders slowly inside.
    voltage_band: float = 0.01
    voltage_wander: float = 0.004
    #: Power factor of a mixed, partly compensated load, wandering slowly inside its band.
    power_factor: float = 0.925
    power_factor_min: float = 0.90
    power_factor_max: float = 0.95
    power_factor_wander: float = 0.01
    #: Memory of the slow wander of voltage and power factor.
    wander_time_constant_s: float = 1800.0
    #: Meters are rarely installed at zero; the counter starts where the register stands.
    initial_energy_kwh: float = 0.0


class PowerMeter:
    """One meter: feed it the load in kW each step, read back the meter's metrics."""

    def __init__(self, rng: np.random.Generator, params: PowerMeterParams | None = None) -> None:
        self.params = params or PowerMeterParams()
        if self.params.initial_energy_kwh < 0:
            raise ValueError("an energy register never stands below zero")
        self._rng = rng
        self._energy_kwh = self.params.initial_energy_kwh
        self._volt_wander = 0.0
        self._pf_wander = 0.0

    @property
    def energy_kwh(self) -> float:
        return self._energy_kwh

    def resume(self, energy_kwh: float) -> None:
        """Set the register where a restarted meter left it."""
        self._energy_kwh = checked_counter("meter", "energy_kwh", energy_kwh)

    def read(self, load_kw: float, dt_s: float) -> dict[str, float]:
        """Advance by ``dt_s`` seconds with ``load_kw`` drawn; the metrics at the step's end."""
        if dt_s < 0:
            raise ValueError(f"dt_s must not be negative, got {dt_s}")
        p = self.params
        # Exact Ornstein–Uhlenbeck steps: the wander looks the same whatever the step length.
        a = math.exp(-dt_s / p.wander_time_constant_s)
        kicks = self._rng.normal(0.0, 1.0, 3)
        spread = math.sqrt(1.0 - a * a)
        self._volt_wander = a * self._volt_wander + p.voltage_wander * spread * float(kicks[0])
        self._pf_wander = a * self._pf_wander + p.power_factor_wander * spread * float(kicks[1])

        load = load_kw + p.base_load_kw
        power = load * (1.0 + p.power_noise * float(kicks[2]))
        # The register counts imported energy only: power fed back (rooftop solar) adds nothing.
        self._energy_kwh += max(power, 0.0) * dt_s / 3600.0
        band = p.voltage_band
        voltage = p.nominal_voltage_v * (1.0 + min(band, max(-band, self._volt_wander)))
        pf = min(p.power_factor_max, max(p.power_factor_min, p.power_factor + self._pf_wander))
        # P = √3·U·I·PF for a balanced three-phase load.
        current = abs(power) * 1000.0 / (SQRT3 * voltage * pf)
        return {
            "active_power_kw": power,
            "energy_kwh": self._energy_kwh,
            "voltage_v": voltage,
            "current_a": current,
            "power_factor": pf,
        }


#: What a meter adds up: a metric name summed over the inner devices that report it, or a
#: function of the inner readings (e.g. ``lambda _: hall.total_power_kw()``).
PowerSource = str | Callable[[Readings], float]


@runtime_checkable
class ReportsPower(Protocol):
    """A plant that knows its own electrical power, beyond what its devices report (a data
    hall's cooling plant has no device of its own)."""

    def total_power_kw(self) -> float: ...


class MeteredPlant:
    """A plant with a ``power_meter`` device on its supply; everything else passes through.

    ``power`` says what the meter sees; by default the plant's own ``total_power_kw()`` where it
    has one, otherwise the sum of the ``power_kw`` its devices report. ``role`` is what the meter
    reports as its ``meter_role``.
    """

    def __init__(
        self,
        inner: Plant,
        meter_name: str,
        rng: np.random.Generator,
        power: PowerSource | None = None,
        params: PowerMeterParams | None = None,
        role: MeterRole = "line",
    ) -> None:
        if any(device.name == meter_name for device in inner.devices()):
            raise ValueError(f"the plant already has a device named {meter_name!r}")
        if role not in METER_ROLES:
            raise ValueError(f"a meter's role is one of {', '.join(METER_ROLES)}, got {role!r}")
        self.inner = inner
        self.meter_name = meter_name
        self.role = role
        self.meter = PowerMeter(rng, params)
        if power is None:
            power = _reported(inner) if isinstance(inner, ReportsPower) else "power_kw"
        self._power = _summing(power) if isinstance(power, str) else power

    def devices(self) -> list[SimDevice]:
        return [*self.inner.devices(), SimDevice(self.meter_name, "power_meter")]

    def step(self, t_ms: int, dt_s: float) -> Readings:
        readings = dict(self.inner.step(t_ms, dt_s))
        readings[self.meter_name] = self.meter.read(self._power(readings), dt_s)
        return readings

    def attributes(self) -> Attributes:
        inner = self.inner.attributes() if isinstance(self.inner, ReportsAttributes) else {}
        return {**inner, self.meter_name: {"meter_role": self.role}}

    def counters(self) -> Readings:
        inner = self.inner.counters() if isinstance(self.inner, KeepsCounters) else {}
        return {**inner, self.meter_name: {"energy_kwh": self.meter.energy_kwh}}

    def resume_counters(self, counters: Readings) -> None:
        if isinstance(self.inner, KeepsCounters):
            self.inner.resume_counters(counters)
        energy = counters.get(self.meter_name, {}).get("energy_kwh")
        if energy is not None:
            self.meter.resume(energy)

    def inject(self, fault: Fault) -> None:
        self.inner.inject(fault)

    def clear(self, kind: str) -> None:
        self.inner.clear(kind)


def _reported(plant: ReportsPower) -> Callable[[Readings], float]:
    return lambda _readings: plant.total_power_kw()


def _summing(metric: str) -> Callable[[Readings], float]:
    def total(readings: Readings) -> float:
        values = (metrics.get(metric) for metrics in readings.values())
        return math.fsum(v for v in values if v is not None and not math.isnan(v))

    return total
