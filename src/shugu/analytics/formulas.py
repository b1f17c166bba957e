"""KPI formulas evaluated on summed facts, and facts derived per device before summing.

Everything here is vectorised: a fact's sums are a numpy array of any shape (one element per
group, or groups × periods), and a KPI comes back in the shape the formula's inputs broadcast
to. A KPI is NaN where it is undefined (a division by zero: no planned time, no stops), never an
error, so one empty group does not spoil a league table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from shugu.analytics.model import KpiSpec, ParameterSpec, ProfileKpis
from shugu.domain.errors import ValidationError

Array = npt.NDArray[np.float64]


def evaluate(
    kpis: ProfileKpis, sums: Mapping[str, npt.ArrayLike], names: Iterable[str] | None = None
) -> dict[str, Array]:
    """The KPIs ``names`` (all of the profile's when None) from a group's summed facts.

    ``sums`` holds the facts and derived facts the formulas name, summed over the group and
    span, and ``planned_s`` where a formula needs planned time. A parameter a KPI formula names
    takes its value from ``sums`` when given there, else its default. The values come scaled
    for display (a percentage as 96.15, not 0.9615).
    """
    specs = kpis.kpis if names is None else tuple(_spec(kpis, name) for name in names)
    defaults = {p.name: p for p in kpis.parameters}
    out: dict[str, Array] = {}
    for spec in specs:
        values: dict[str, Array] = {}
        for name in spec.formula.names:
            if name in sums:
                values[name] = np.asarray(sums[name], dtype=np.float64)
            elif name in defaults:
                values[name] = np.asarray(defaults[name].default, dtype=np.float64)
            else:
                raise KeyError(f"KPI {kpis.profile}.{spec.name} needs {name!r}, not in the sums")
        # Multiplying makes a new array, so no result is one of the caller's own sums.
        out[spec.name] = spec.formula.evaluate(values) * spec.scale
    return out


def derive(
    kpis: ProfileKpis,
    per_device_sums: Mapping[str, npt.ArrayLike],
    parameters: Mapping[str, npt.ArrayLike],
) -> dict[str, Array]:
    """The per-device sums with the profile's derived facts added (ideal output = the machine's
    rated rate × its own running time), ready to be summed over devices.

    ``parameters`` holds each device's value of a parameter, broadcastable against the sums
    (shape ``(devices, 1)`` against ``(devices, hours)``); a missing parameter, or NaN for a
    device without the attribute, takes the parameter's default.
    """
    out: dict[str, Array] = {
        name: np.asarray(value, dtype=np.float64) for name, value in per_device_sums.items()
    }
    if not kpis.derived:
        return out
    values: dict[str, Array] = dict(out)
    for spec in kpis.parameters:
        values[spec.name] = _parameter(spec, parameters.get(spec.name))
    for derived in kpis.derived:
        missing = [name for name in derived.formula.names if name not in values]
        if missing:
            raise KeyError(f"derived fact {kpis.profile}.{derived.name} needs {missing[0]!r}")
        out[derived.name] = derived.formula.evaluate(values)
    return out


def _parameter(spec: ParameterSpec, given: npt.ArrayLike | None) -> Array:
    if given is None:
        return np.asarray(spec.default, dtype=np.float64)
    value = np.asarray(given, dtype=np.float64)
    return np.where(np.isnan(value), spec.default, value)


def _spec(kpis: ProfileKpis, name: str) -> KpiSpec:
    spec = kpis.kpi_index.get(name)
    if spec is None:
        known = ", ".join(k.name for k in kpis.kpis)
        raise ValidationError(
            f"profile {kpis.profile} has no KPI {name!r}; its KPIs: {known}",
            code="unknown_kpi",
            field="kpi",
        )
    return spec
