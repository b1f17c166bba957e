"""Reported beside measured (decision 0037): power use against the enterprise's meters, and
output value against machine throughput, each judged against a tolerance from
``operation.yaml``. A check the platform cannot make says so ("not measured", "no basis")
rather than passing or failing.

Output value is money and throughput is metres or MWh, so they are not compared directly: this
month's output value per unit of throughput is set against the same ratio in the enterprise's
previous accepted month. Prices and product mix move that ratio slowly; a jump beyond the
tolerance means one of the two figures needs a second look.
"""

from __future__ import annotations

from typing import Any, Final

from shugu.region.operation import months
from shugu.region.operation.measured import Meters
from shugu.store.registry import Registry
from shugu.store.registry.region_operation import ReportFigures

#: Outcomes of one check.
WITHIN: Final = "within"
BEYOND: Final = "beyond"
NOT_MEASURED: Final = "not_measured"
NO_BASIS: Final = "no_basis"
#: How far back a previous accepted month is looked for.
LOOKBACK_MONTHS: Final = 12


def _deviation(reported: float, expected: float) -> float:
    return (reported - expected) / expected


def power_check(
    meters: Meters, enterprise_id: int, month: str, reported_kwh: float | None, tolerance: float
) -> dict[str, Any]:
    metered = meters.month_kwh(enterprise_id, month)
    check: dict[str, Any] = {
        "check": "power",
        "reported": reported_kwh,
        "measured": None if metered is None else round(metered, 1),
        "unit": "kWh",
        "tolerance": tolerance,
        "deviation": None,
    }
    if metered is None or metered <= 0:
        return check | {"outcome": NOT_MEASURED}
    if reported_kwh is None:
        return check | {"outcome": NO_BASIS}
    deviation = _deviation(reported_kwh, metered)
    return check | {
        "deviation": round(deviation, 4),
        "outcome": BEYOND if abs(deviation) > tolerance else WITHIN,
    }


def output_check(
    registry: Registry,
    meters: Meters,
    enterprise_id: int,
    month: str,
    reported_wan: float | None,
    tolerance: float,
) -> dict[str, Any]:
    throughput = meters.month_output(enterprise_id, month)
    check: dict[str, Any] = {
        "check": "output",
        "reported": reported_wan,
        "measured": None if throughput is None else round(throughput.amount, 2),
        "unit": None if throughput is None else throughput.unit,
        "tolerance": tolerance,
        "deviation": None,
        "basis_month": None,
        "expected": None,
    }
    if throughput is None:
        return check | {"outcome": NOT_MEASURED}
    basis = _previous_accepted(registry, enterprise_id, month)
    if reported_wan is None or basis is None:
        return check | {"outcome": NO_BASIS}
    basis_month, basis_value = basis
    basis_output = meters.month_output(enterprise_id, basis_month)
    if basis_output is None or basis_output.unit != throughput.unit or basis_value <= 0:
        return check | {"outcome": NO_BASIS, "basis_month": basis_month}
    # The output value the throughput would have fetched at the basis month's ratio.
    expected = basis_value * throughput.amount / basis_output.amount
    deviation = _deviation(reported_wan, expected)
    return check | {
        "basis_month": basis_month,
        "expected": round(expected, 2),
        "deviation": round(deviation, 4),
        "outcome": BEYOND if abs(deviation) > tolerance else WITHIN,
    }


def _previous_accepted(
    registry: Registry, enterprise_id: int, month: str
) -> tuple[str, float] | None:
    earlier = [months.shift(month, -k) for k in range(1, LOOKBACK_MONTHS + 1)]
    reports = registry.list_monthly_reports(
        months=earlier, enterprise_ids=[enterprise_id], states=["accepted"]
    )
    for report in reports:  # newest first
        if report.figures.output_value_wan is not None:
            return report.month, report.figures.output_value_wan
    return None


def checks_for(
    registry: Registry,
    meters: Meters,
    tolerances: dict[str, float],
    enterprise_id: int,
    month: str,
    figures: ReportFigures,
) -> list[dict[str, Any]]:
    return [
        power_check(meters, enterprise_id, month, figures.power_kwh, tolerances["power"]),
        output_check(
            registry, meters, enterprise_id, month, figures.output_value_wan, tolerances["output"]
        ),
    ]


def flagged(checks: list[dict[str, Any]]) -> bool:
    return any(c.get("outcome") == BEYOND for c in checks)
