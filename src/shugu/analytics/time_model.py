"""The ISO 22400-2 time model (docs/domain.md, manufacturing KPIs) as a shorthand in a KPI file.

``time_model:`` names a state metric and its running states, and optionally the states that are
failures, the states not allocated to production (a loom waiting for an order), the counters of
produced, good or scrap quantity and the parameter that holds the machine's ideal rate. It expands
into the facts, derived facts and KPIs an author would otherwise write out, in the same shape as
the YAML, so that they pass the same checks as hand-written ones (``analytics/definitions.py``).

Every fact of the time model counts within planned time only (``planned_only``): ISO 22400's times
are parts of the planned busy time (PBT, the calendar's ``planned_s``), and each ratio compares
quantities measured over the same span::

    availability           = APT / PBT
    performance            = PQ / (ideal rate × APT)    ISO's effectiveness, PRI × PQ / APT
    quality ratio          = GQ / PQ                     or (PQ − scrap) / PQ
    OEE                    = availability × performance × quality ratio
    utilisation efficiency = APT / AUBT                  AUBT: time with data, less not allocated
    MTBF                   = APT / failures
    MTTR                   = failure down time / failures
    throughput             = PQ per planned hour

Without a good or scrap counter there is no quality ratio and OEE is availability × performance
(its label says so); without a produced counter and an ideal rate there is no performance and no
OEE. The ideal output is a derived fact, rate × APT per machine, because each machine has its own
rated speed and a group's ideal output is the sum of its machines'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shugu.analytics.model import PLANNED_FACT
from shugu.domain.profiles import Profile

#: The names the expansion gives its facts; a KPI file may not use them for its own.
APT_FACT = "apt_s"
DATA_FACT = "planned_data_s"
NOT_ALLOCATED_FACT = "not_allocated_s"
FAILURES_FACT = "failures"
FAILURE_DOWN_FACT = "failure_down_s"
PRODUCED_FACT = "produced_q"
GOOD_FACT = "good_q"
SCRAP_FACT = "scrap_q"
IDEAL_FACT = "ideal_q"

_SECONDS_PER: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600}

YamlEntries = dict[str, dict[str, Any]]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class StatesIn(_Strict):
    """States of a state metric: the time model's own metric unless ``metric`` names another."""

    metric: str | None = None
    states: list[int] = Field(min_length=1)


class IdealRateIn(_Strict):
    """The parameter holding a machine's ideal rate, in produced units per ``per``."""

    parameter: str
    per: Literal["second", "minute", "hour"]


class TimeModelIn(_Strict):
    metric: str
    running: list[int] = Field(min_length=1)
    failures: StatesIn | None = None
    not_allocated: StatesIn | None = None
    produced: str | None = None
    good: str | None = None
    scrap: str | None = None
    ideal_rate: IdealRateIn | None = None


@dataclass(frozen=True, slots=True)
class Expansion:
    """What a time model adds to a KPI file, in the file's own shape."""

    facts: YamlEntries
    derived: YamlEntries
    kpis: YamlEntries


def _state_fact(kind: str, metric: str, states: list[int]) -> dict[str, Any]:
    unit = "s" if kind == "state_time" else ""
    return {"kind": kind, "metric": metric, "states": states, "planned_only": True, "unit": unit}


def _kpi(formula: str, unit: str, zh: str, en: str, **more: Any) -> dict[str, Any]:
    return {"formula": formula, "unit": unit, "label_zh": zh, "label_en": en, **more}


def expand(model: TimeModelIn, profile: Profile) -> Expansion:
    """The facts and KPIs of a time model (already checked against ``profile``)."""
    facts: YamlEntries = {
        APT_FACT: _state_fact("state_time", model.metric, model.running),
        DATA_FACT: {"kind": "data_time", "expr": model.metric, "planned_only": True, "unit": "s"},
    }
    derived: YamlEntries = {}
    kpis: YamlEntries = {
        "availability": _kpi(
            f"{APT_FACT} / {PLANNED_FACT}", "%", "时间开动率", "Availability", scale=100
        )
    }
    busy = DATA_FACT
    if model.not_allocated is not None:
        metric = model.not_allocated.metric or model.metric
        facts[NOT_ALLOCATED_FACT] = _state_fact("state_time", metric, model.not_allocated.states)
        busy = f"({DATA_FACT} - {NOT_ALLOCATED_FACT})"
    performance = None
    if model.produced is not None:
        unit = profile.metrics[model.produced].unit
        facts[PRODUCED_FACT] = _counter(model.produced, unit)
        if model.ideal_rate is not None:
            seconds = _SECONDS_PER[model.ideal_rate.per]
            per = "" if seconds == 1 else f" / {seconds}"
            derived[IDEAL_FACT] = {
                "formula": f"{model.ideal_rate.parameter} * {APT_FACT}{per}",
                "unit": unit,
            }
            performance = f"{PRODUCED_FACT} / {IDEAL_FACT}"
            kpis["performance"] = _kpi(performance, "%", "性能开动率", "Performance", scale=100)
    quality = None
    if model.produced is not None and model.good is not None:
        facts[GOOD_FACT] = _counter(model.good, profile.metrics[model.good].unit)
        quality = f"{GOOD_FACT} / {PRODUCED_FACT}"
    elif model.produced is not None and model.scrap is not None:
        facts[SCRAP_FACT] = _counter(model.scrap, profile.metrics[model.scrap].unit)
        quality = f"({PRODUCED_FACT} - {SCRAP_FACT}) / {PRODUCED_FACT}"
    if quality is not None:
        kpis["quality"] = _kpi(quality, "%", "合格品率", "Quality ratio", scale=100)
    if performance is not None:
        availability = f"{APT_FACT} / {PLANNED_FACT}"
        if quality is not None:
            kpis["oee"] = _kpi(
                f"{availability} * {performance} * {quality}", "%", "设备综合效率", "OEE", scale=100
            )
        else:
            kpis["oee"] = _kpi(
                f"{availability} * {performance}",
                "%",
                "设备综合效率（可用率×性能，无合格品计数）",
                "OEE (availability × performance; no good-quantity counter)",
                scale=100,
            )
    kpis["utilisation"] = _kpi(
        f"{APT_FACT} / {busy}", "%", "利用效率", "Utilisation efficiency", scale=100
    )
    if model.failures is not None:
        metric = model.failures.metric or model.metric
        facts[FAILURES_FACT] = _state_fact("state_entries", metric, model.failures.states)
        facts[FAILURE_DOWN_FACT] = _state_fact("state_time", metric, model.failures.states)
        kpis["mtbf"] = _kpi(
            f"{APT_FACT} / {FAILURES_FACT} / 3600",
            "h",
            "平均故障间隔时间",
            "Mean time between failures",
        )
        kpis["mttr"] = _kpi(
            f"{FAILURE_DOWN_FACT} / {FAILURES_FACT} / 60",
            "min",
            "平均修复时间",
            "Mean time to repair",
            better="lower",
        )
    if model.produced is not None:
        unit = profile.metrics[model.produced].unit
        kpis["throughput"] = _kpi(
            f"3600 * {PRODUCED_FACT} / {PLANNED_FACT}",
            f"{unit}/h",
            "计划小时产出",
            "Throughput per planned hour",
        )
    for kpi in kpis.values():
        kpi.setdefault("better", "higher")
    return Expansion(facts, derived, kpis)


def _counter(metric: str, unit: str) -> dict[str, Any]:
    return {"kind": "counter", "metric": metric, "planned_only": True, "unit": unit}
