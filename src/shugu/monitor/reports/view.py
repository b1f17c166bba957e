"""What a report shows, worked out once for every output format.

The HTML, PDF and XLSX writers only lay out these values; the order of the checks, the China-time
texts, the value formatting and the day's tallies are decided here, so the three formats cannot
disagree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.monitor.model import CheckOutcome, CheckResult, RoundRecord
from shugu.monitor.reports.catalog import Lang, text

#: Shown wherever there is no value.
DASH = "—"

#: Failing checks are what a reader is looking for, then the ones that could not be judged.
OUTCOME_RANK: dict[CheckOutcome, int] = {
    CheckOutcome.failed: 0,
    CheckOutcome.no_data: 1,
    CheckOutcome.passed: 2,
}

_OUTCOME_KEY: dict[CheckOutcome, str] = {
    CheckOutcome.passed: "outcome_pass",
    CheckOutcome.failed: "outcome_fail",
    CheckOutcome.no_data: "outcome_no_data",
}

#: Decimals per unit: what a sensor of that kind resolves, not what the float happens to hold.
#: Units not listed get up to two decimals with trailing zeros dropped.
_DECIMALS: dict[str, int] = {
    "°C": 1,
    "℃": 1,
    "%": 1,
    "%RH": 1,
    "Pa": 1,
    "kPa": 2,
    "MPa": 3,
    "kW": 1,
    "kWh": 1,
    "A": 1,
    "V": 1,
    "Hz": 2,
    "m³/h": 1,
    "m": 2,
    "mm/s": 2,
    "rpm": 0,
    "µS/cm": 0,
}

_DIGITS = re.compile(r"(\d+)")
_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1)


def china_time(at_ms: int) -> datetime:
    """The instant as a naive wall-clock time in China (fixed UTC+8, no daylight saving)."""
    return _EPOCH + (at_ms + CHINA_OFFSET_MS) * _MS


def china_minute(at_ms: int) -> str:
    """``YYYY-MM-DD HH:MM (UTC+8)``: the form every report uses for a round's time."""
    return china_time(at_ms).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


def decimals_for(unit: str) -> int | None:
    """Fixed decimals for the unit, or None for "up to two, trailing zeros dropped"."""
    return _DECIMALS.get(unit.strip())


def format_number(value: float | None, unit: str) -> str:
    """The value as a person reads it, without the unit; ``—`` when there is none."""
    if value is None or not math.isfinite(value):
        return DASH
    places = decimals_for(unit)
    digits = 2 if places is None else places
    if abs(value) < 1e15:
        # Half up from the shortest repr, as a person rounds: 12.25 → 12.3 (format() would give
        # 12.2, since the binary double lies just below 12.25 or rounds half to even).
        exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        shown = f"{exact:f}"
    else:
        shown = f"{value:.{digits}f}"
    if places is None:
        shown = shown.rstrip("0").rstrip(".")
    # Rounding a small negative reading gives "-0.0", which reads like a sign error.
    if shown.startswith("-") and not shown.strip("-0."):
        shown = shown[1:]
    return shown


def format_value(value: float | None, unit: str) -> str:
    """The value with its unit, e.g. ``23.4 °C``; ``—`` when there is none."""
    shown = format_number(value, unit)
    if shown == DASH or not unit.strip():
        return shown
    return f"{shown} {unit.strip()}"


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts 机柜-2 before 机柜-10: digit runs compare as numbers."""
    return tuple(
        # Any script's decimal digits (fullwidth １ too) count; int() refuses runs past 4,300.
        (0, int(part)) if part.isdecimal() and len(part) <= 18 else (1, part.casefold())
        for part in _DIGITS.split(name)
        if part
    )


def trigger_text(trigger: str, lang: Lang) -> str:
    if trigger == "schedule":
        return text("trigger_schedule", lang)
    if trigger == "manual":
        return text("trigger_manual", lang)
    # A trigger added later still shows up as itself rather than breaking the report.
    return trigger


@dataclass(frozen=True, slots=True)
class Row:
    """One check of one device, ready to print."""

    device: str
    check: str
    subject: str
    unit: str
    #: A finite number, or None (no data, or a reading that was not a number).
    value: float | None
    #: Fixed decimals for the unit, None when the value is shown with up to two.
    decimals: int | None
    value_text: str
    limit: str
    outcome: CheckOutcome
    outcome_text: str
    observed_at_ms: int | None
    observed_text: str


@dataclass(frozen=True, slots=True)
class RoundView:
    """One round with its checks in report order and its labels in one language."""

    id: int
    plan: str
    enterprise: str
    at_ms: int
    at_text: str
    #: ``HH:MM`` only: used where the day is already shown.
    clock_text: str
    trigger_text: str
    by_text: str
    total: int
    passed: int
    failed: int
    no_data: int
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class CheckTally:
    """One check across a day's rounds."""

    device: str
    check: str
    failed: int
    no_data: int
    #: Rounds that contained this check.
    rounds: int
    last_failed_text: str


@dataclass(frozen=True, slots=True)
class DayView:
    enterprise: str
    day_text: str
    rounds: tuple[RoundView, ...]
    #: Checks that failed or had no data at least once, most failures first.
    tallies: tuple[CheckTally, ...]
    total: int
    passed: int
    failed: int
    no_data: int


def _observed_text(observed_at_ms: int | None, round_day: date) -> str:
    if observed_at_ms is None:
        return DASH
    seen = china_time(observed_at_ms)
    # A reading from an earlier day is stale data; the full date makes that visible.
    if seen.date() == round_day:
        return seen.strftime("%H:%M")
    return seen.strftime("%Y-%m-%d %H:%M")


def _check_label(result: CheckResult, lang: Lang) -> str:
    label = result.check_zh if lang == "zh" else result.check_en
    # A plan written in one language only still gets a readable label in the other.
    return label or result.check_zh or result.check_en or result.subject


def sort_results(results: Sequence[CheckResult], lang: Lang) -> list[CheckResult]:
    """Failing first, then no data, then passing; by device name, then check, inside each."""
    return sorted(
        results,
        key=lambda r: (
            OUTCOME_RANK[r.outcome],
            natural_key(r.device_name),
            natural_key(_check_label(r, lang)),
        ),
    )


def _row(result: CheckResult, lang: Lang, round_day: date) -> Row:
    value = result.value if result.value is not None and math.isfinite(result.value) else None
    return Row(
        device=result.device_name,
        check=_check_label(result, lang),
        subject=result.subject,
        unit=result.unit.strip(),
        value=value,
        decimals=decimals_for(result.unit),
        value_text=format_value(value, result.unit),
        limit=result.limit or DASH,
        outcome=result.outcome,
        outcome_text=text(_OUTCOME_KEY[result.outcome], lang),
        observed_at_ms=result.observed_at_ms,
        observed_text=_observed_text(result.observed_at_ms, round_day),
    )


def round_view(record: RoundRecord, lang: Lang) -> RoundView:
    local = china_time(record.at_ms)
    return RoundView(
        id=record.id,
        plan=record.plan_name,
        enterprise=record.enterprise_name,
        at_ms=record.at_ms,
        at_text=china_minute(record.at_ms),
        clock_text=local.strftime("%H:%M"),
        trigger_text=trigger_text(record.trigger, lang),
        by_text=record.by or text("by_system", lang),
        total=len(record.results),
        passed=record.count(CheckOutcome.passed),
        failed=record.count(CheckOutcome.failed),
        no_data=record.count(CheckOutcome.no_data),
        rows=tuple(_row(r, lang, local.date()) for r in sort_results(record.results, lang)),
    )


@dataclass(slots=True)
class _Tally:
    device: str
    check: str
    failed: int = 0
    no_data: int = 0
    rounds: int = 0
    last_failed_ms: int | None = None


def _tallies(records: Sequence[RoundRecord], lang: Lang) -> tuple[CheckTally, ...]:
    tallies: dict[tuple[int, str, str, str], _Tally] = {}
    for record in records:
        for result in record.results:
            # The device id, not its name, identifies the device (names can be edited); the
            # labels are part of the key because one subject may carry a low and a high check.
            key = (result.device_id, result.subject, result.check_zh, result.check_en)
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = _Tally(result.device_name, _check_label(result, lang))
            # Records are in time order, so the last name seen is the current one.
            tally.device = result.device_name
            tally.rounds += 1
            if result.outcome is CheckOutcome.failed:
                tally.failed += 1
                tally.last_failed_ms = record.at_ms
            elif result.outcome is CheckOutcome.no_data:
                tally.no_data += 1
    shown = [t for t in tallies.values() if t.failed or t.no_data]
    shown.sort(key=lambda t: (-t.failed, -t.no_data, natural_key(t.device), natural_key(t.check)))
    return tuple(
        CheckTally(
            device=t.device,
            check=t.check,
            failed=t.failed,
            no_data=t.no_data,
            rounds=t.rounds,
            last_failed_text=(
                DASH if t.last_failed_ms is None else china_time(t.last_failed_ms).strftime("%H:%M")
            ),
        )
        for t in shown
    )


def day_view(
    records: Sequence[RoundRecord], day: date, enterprise_name: str, lang: Lang
) -> DayView:
    """The day's rounds in time order with their tallies.

    Raises ValueError when a round lies outside ``day`` (China time) or the rounds belong to more
    than one enterprise: a day report must not mix in another day's or another tenant's data.
    """
    ordered = sorted(records, key=lambda r: (r.at_ms, r.id))
    for record in ordered:
        if china_time(record.at_ms).date() != day:
            raise ValueError(
                f"round {record.id} ran at {china_minute(record.at_ms)}, not on {day.isoformat()}"
            )
    enterprises = {r.enterprise_id for r in ordered}
    if len(enterprises) > 1:
        raise ValueError(
            f"a day report covers one enterprise; the rounds belong to {sorted(enterprises)}"
        )
    rounds = tuple(round_view(r, lang) for r in ordered)
    return DayView(
        enterprise=enterprise_name,
        day_text=day.isoformat(),
        rounds=rounds,
        tallies=_tallies(ordered, lang),
        total=sum(r.total for r in rounds),
        passed=sum(r.passed for r in rounds),
        failed=sum(r.failed for r in rounds),
        no_data=sum(r.no_data for r in rounds),
    )
