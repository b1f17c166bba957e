"""The contract every simulated plant keeps.

A plant is a group of machines stepped together because they influence each other (the CRAHs
and racks of one data hall, the looms of a shed and the meter on their line, the towers of one
site under one sky). Plants are deterministic given their random generator, and advance in
simulated time: ``step`` moves the plant forward by ``dt_s`` seconds to ``t_ms`` and returns what
each device would report at that moment, keyed by device name and then by metric name of the
device's profile (``src/shugu/domain/profiles/*.yaml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: device name → metric name → value (booleans as 0.0 / 1.0 for on/off states)
Readings = dict[str, dict[str, float]]
#: A client attribute's value: a JSON scalar, or a list of names (a rack's ``cooled_by``).
AttributeValue = str | int | float | list[str]
#: device name → client attribute → value: what a device says about itself (a loom's type and
#: rated speed, a meter's role, the CRAHs that cool a rack), posted once a connection stands,
#: as ThingsBoard devices do.
Attributes = dict[str, dict[str, AttributeValue]]


@dataclass(frozen=True, slots=True)
class SimDevice:
    name: str
    profile: str


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault to inject: its kind (per plant), the device it hits (None: the plant picks), and
    how hard (0 = none, 1 = the worst the model knows)."""

    kind: str
    target: str | None = None
    severity: float = 1.0


class Plant(Protocol):
    def devices(self) -> list[SimDevice]: ...

    def step(self, t_ms: int, dt_s: float) -> Readings: ...

    def inject(self, fault: Fault) -> None:
        """Start a fault; raises ValueError naming the fault kinds the plant knows."""
        ...

    def clear(self, kind: str) -> None:
        """End a fault (repair)."""
        ...


@runtime_checkable
class ReportsAttributes(Protocol):
    """A plant whose devices report client attributes about themselves."""

    def attributes(self) -> Attributes: ...


@runtime_checkable
class KeepsCounters(Protocol):
    """A plant whose devices report counters (picks, energy): a restarted simulator resumes
    them where they stood, as a real machine's registers do, instead of starting again at zero."""

    def counters(self) -> Readings:
        """Device name → counter metric → value, enough for ``resume_counters`` to go on."""
        ...

    def resume_counters(self, counters: Readings) -> None:
        """Set the counters of the devices named; names and metrics the plant lacks are ignored,
        and a value that is negative or not finite is refused with ValueError."""
        ...


def checked_counter(device: str, metric: str, value: float) -> float:
    """A counter value to resume from: finite and not negative, or ValueError naming it."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"counter {metric} of {device!r} cannot resume from {value!r}")
    return float(value)
