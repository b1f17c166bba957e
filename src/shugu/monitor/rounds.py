"""Inspection rounds (巡检): a plan's checks evaluated on the latest data at set times.

A plan lists checks (a metric, an expression or an alarm rule, over a group of devices) and the
times of day (China time) at which a round runs. A round records, per device and check, pass,
fail or no data with the value and the limit, so that the printed round reads like the paper
one an engineer used to fill in.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shugu.domain.errors import ValidationError
from shugu.domain.expr import parse_expression
from shugu.domain.timeutil import CHINA_OFFSET_MS
from shugu.monitor.engine import DeviceInfo
from shugu.monitor.model import CheckOutcome, CheckResult, RoundRecord
from shugu.monitor.rules import MAX_ID, RuleKind, RuleSpec, describe_errors

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
CHINA = timedelta(milliseconds=CHINA_OFFSET_MS)

#: (device, metric name) → (timestamp ms, value) of the newest point.
Latest = Mapping[tuple[int, str], tuple[int, float]]


class DeviceGroup(BaseModel):
    """The devices a check covers: by profile, under an asset, or listed. Exactly one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str | None = None
    asset_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    device_ids: tuple[Annotated[int, Field(ge=1, le=MAX_ID)], ...] | None = Field(
        default=None, min_length=1, max_length=5000
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        given = [v for v in (self.profile, self.asset_id, self.device_ids) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of profile, asset_id or device_ids")
        return self

    def members(self, devices: Iterable[DeviceInfo], enterprise_id: int) -> list[DeviceInfo]:
        mine = [d for d in devices if d.enterprise_id == enterprise_id]
        if self.profile is not None:
            return [d for d in mine if d.profile == self.profile]
        if self.asset_id is not None:
            return [d for d in mine if self.asset_id in d.asset_path]
        wanted = set(self.device_ids or ())
        return [d for d in mine if d.id in wanted]


class CheckSpec(BaseModel):
    # A NaN limit would pass or fail every value without saying why.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    label_zh: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)
    devices: DeviceGroup
    metric: str | None = None
    expr: str | None = None
    #: An alarm rule's reference (e.g. ``rack_sensor.inlet_high``): its subject and limits,
    #: with each device's overrides.
    rule: str | None = None
    above: float | None = None
    below: float | None = None
    unit: str = ""
    #: A value older than this counts as no data.
    max_age_s: float = Field(default=900.0, gt=0, le=86400)

    @model_validator(mode="after")
    def _subject(self) -> Self:
        given = [v for v in (self.metric, self.expr, self.rule) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of metric, expr or rule")
        if self.expr is not None:
            parse_expression(self.expr, field="expr")
        if self.rule is None and self.above is None and self.below is None:
            raise ValueError("a metric or expr check needs above, below or both")
        if self.above is not None and self.below is not None and self.below > self.above:
            raise ValueError("below must not be greater than above")
        return self


class InspectionPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    #: Times of day in China time, "HH:MM".
    times: tuple[str, ...] = Field(default=(), max_length=48)
    checks: tuple[CheckSpec, ...] = Field(min_length=1, max_length=200)

    @field_validator("times")
    @classmethod
    def _times(cls, times: tuple[str, ...]) -> tuple[str, ...]:
        for value in times:
            if not _TIME.match(value):
                raise ValueError(f"{value!r} is not a time of day as HH:MM")
        if len(set(times)) != len(times):
            raise ValueError("a time is listed twice")
        return tuple(sorted(times))


def validate_plan(raw: Any) -> InspectionPlan:
    try:
        return InspectionPlan.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise describe_errors(exc, "inspection plan") from exc


def _within(value: float, above: float | None, below: float | None) -> bool:
    return (above is None or value <= above) and (below is None or value >= below)


def _limit_text(above: float | None, below: float | None) -> str:
    if above is not None and below is not None:
        return f"{below:g}–{above:g}"
    if above is not None:
        return f"≤ {above:g}"
    return f"≥ {below:g}"


#: A plan repeats the same few expressions for every device of a group: parse each once.
_parsed = functools.lru_cache(maxsize=256)(parse_expression)


def _value(
    device: int, subject: str, is_expr: bool, latest: Latest, oldest_ms: int
) -> tuple[float | None, int | None]:
    names = _parsed(subject).names if is_expr else (subject,)
    values: dict[str, Any] = {}
    observed: list[int] = []
    for name in names:
        point = latest.get((device, name))
        if point is None or point[0] < oldest_ms or math.isnan(point[1]):
            return None, point[0] if point else None
        values[name] = point[1]
        observed.append(point[0])
    if not is_expr:
        return float(values[subject]), observed[0]
    result = _parsed(subject).evaluate({k: np.asarray([v]) for k, v in values.items()})
    value = float(result[0])
    return (None if math.isnan(value) else value), min(observed)


def evaluate_check(
    check: CheckSpec,
    device: DeviceInfo,
    latest: Latest,
    now_ms: int,
    rule_of: Callable[[str, int], RuleSpec | None],
    newest_by_device: Mapping[int, int],
) -> CheckResult:
    oldest = now_ms - int(check.max_age_s * 1000)
    above, below, unit = check.above, check.below, check.unit
    subject = check.metric or check.expr or ""
    is_expr = check.expr is not None
    if check.rule is not None:
        rule = rule_of(check.rule, device.id)
        if rule is None:
            raise ValidationError(
                f"rule {check.rule} does not apply to device {device.name}",
                code="check_rule_unknown",
                field="rule",
            )
        if rule.kind is RuleKind.no_data:
            newest = newest_by_device.get(device.id, 0)
            silent_s = (now_ms - newest) / 1000.0 if newest else None
            passed = silent_s is not None and silent_s < rule.for_s
            return CheckResult(
                device.id,
                device.name,
                check.label_zh,
                check.label_en,
                "last point age",
                "s",
                silent_s,
                f"< {rule.for_s:g}",
                CheckOutcome.passed if passed else CheckOutcome.failed,
                newest or None,
            )
        above = check.above if check.above is not None else rule.above
        below = check.below if check.below is not None else rule.below
        unit = unit or rule.unit
        subject = rule.expr or rule.metric or ""
        is_expr = rule.expr is not None
    value, observed = _value(device.id, subject, is_expr, latest, oldest)
    if value is None:
        outcome = CheckOutcome.no_data
    elif _within(value, above, below):
        outcome = CheckOutcome.passed
    else:
        outcome = CheckOutcome.failed
    return CheckResult(
        device.id,
        device.name,
        check.label_zh,
        check.label_en,
        subject,
        unit,
        value,
        _limit_text(above, below),
        outcome,
        observed,
    )


def run_round(
    plan: InspectionPlan,
    enterprise_id: int,
    devices: Sequence[DeviceInfo],
    latest: Latest,
    now_ms: int,
    rule_of: Callable[[str, int], RuleSpec | None],
) -> list[CheckResult]:
    newest_by_device: dict[int, int] = {}
    for (device_id, _metric), (ts, _value) in latest.items():
        newest_by_device[device_id] = max(ts, newest_by_device.get(device_id, ts))
    results = []
    for check in plan.checks:
        for device in sorted(check.devices.members(devices, enterprise_id), key=lambda d: d.name):
            results.append(evaluate_check(check, device, latest, now_ms, rule_of, newest_by_device))
    return results


def result_to_json(result: CheckResult) -> dict[str, Any]:
    body = asdict(result)
    body["outcome"] = result.outcome.value
    return body


def result_from_json(body: Mapping[str, Any]) -> CheckResult:
    return CheckResult(**{**body, "outcome": CheckOutcome(body["outcome"])})


def round_record(
    row_id: int,
    plan_id: int,
    plan_name: str,
    enterprise_id: int,
    enterprise_name: str,
    at: datetime,
    trigger: str,
    by: str | None,
    results: Iterable[Mapping[str, Any]],
) -> RoundRecord:
    return RoundRecord(
        id=row_id,
        plan_id=plan_id,
        plan_name=plan_name,
        enterprise_id=enterprise_id,
        enterprise_name=enterprise_name,
        at_ms=int(at.timestamp() * 1000),
        trigger=trigger,
        by=by,
        results=tuple(result_from_json(r) for r in results),
    )


def due_slots(plan: InspectionPlan, after_ms: int, until_ms: int) -> list[tuple[str, int]]:
    """Scheduled times in (after, until] as ("YYYY-MM-DD HH:MM" China time, UTC ms)."""
    out: list[tuple[str, int]] = []
    start = datetime.fromtimestamp(after_ms / 1000, UTC) + CHINA
    end = datetime.fromtimestamp(until_ms / 1000, UTC) + CHINA
    day = start.date()
    while day <= end.date():
        for hhmm in plan.times:
            hour, minute = int(hhmm[:2]), int(hhmm[3:])
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
            utc_ms = int((local - CHINA).timestamp() * 1000)
            if after_ms < utc_ms <= until_ms:
                out.append((f"{day.isoformat()} {hhmm}", utc_ms))
        day += timedelta(days=1)
    return out
