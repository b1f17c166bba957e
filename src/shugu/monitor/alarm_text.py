"""One line per alarm, the way an engineer reads it on a phone: what, where, how far from the
limit, since when ("织机 007 经停 1 小时内 9 次（上限 8 次）").

The words come from data: the templates per rule kind and language from ``alarm_text.yaml``,
metric and state labels from the device's profile, the rule's own label for expressions.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Literal

import yaml

from shugu.domain.profiles import MetricKind, MetricSpec, load_profiles
from shugu.domain.timeutil import CHINA_OFFSET_MS, CHINA_TZ
from shugu.monitor.rules import RuleKind, RuleSpec

Lang = Literal["zh", "en"]
_DAY_MS = 86_400_000


@functools.cache
def _templates() -> dict[str, dict[str, str]]:
    text = resources.files("shugu.monitor").joinpath("alarm_text.yaml").read_text("utf-8")
    loaded: dict[str, dict[str, str]] = yaml.safe_load(text)
    return loaded


def _t(lang: str, key: str) -> str:
    return _templates()["zh" if lang == "zh" else "en"][key]


def limit_line(rule: RuleSpec, lang: str) -> str:
    """The rule's limit as :meth:`RuleSpec.limit_text` gives it, with the words of anomaly and
    plant rules in ``lang`` (the others' limits are numbers and symbols)."""
    shown = number(rule.effective_sensitivity)
    if rule.kind is RuleKind.anomaly:
        key = "limit_anomaly" if rule.uses_pattern else "limit_anomaly_plain"
        text = _t(lang, key).format(sensitivity=shown)
    elif rule.kind is RuleKind.plant:
        if rule.fit_from is None:
            text = _t(lang, "limit_plant").format(sensitivity=shown, fit=rule.fit_points)
        else:
            since = rule.fit_from.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
            text = _t(lang, "limit_plant_from").format(
                sensitivity=shown, fit=rule.fit_points, since=since
            )
        if rule.conditions:
            names = ("、" if lang == "zh" else ", ").join(rule.conditions)
            text += _t(lang, "limit_given").format(conditions=names)
    else:
        return rule.limit_text()
    if rule.running_metric:
        text += _t(lang, "limit_while_running")
    return text


def number(value: float, like: float | None = None) -> str:
    """A reading as a person writes it: three figures at most below 100, none after the point
    above; ``like`` gives the decimals instead (a difference as precise as its reading)."""
    size = abs(value if like is None else like)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _with_unit(value: float, unit: str, like: float | None = None) -> str:
    shown = number(value, like)
    return f"{shown} {unit}" if unit else shown


def span(seconds: float, lang: str) -> str:
    """A duration in the largest unit that keeps it readable: 45 秒, 30 分钟, 1 小时."""
    if seconds < 120:
        return _t(lang, "seconds").format(n=number(round(seconds)))
    if seconds < 3600:
        return _t(lang, "minutes").format(n=number(round(seconds / 60)))
    return _t(lang, "hours").format(n=number(round(seconds / 3600, 1)))


def clock_time(ts_ms: int) -> str:
    """Local (China) time of day, HH:MM."""
    minute = ((ts_ms + CHINA_OFFSET_MS) % _DAY_MS) // 60_000
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _metric(profile: str | None, name: str | None) -> MetricSpec | None:
    if profile is None or name is None:
        return None
    found = load_profiles().get(profile)
    return found.metrics.get(name) if found is not None else None


def _what(rule: RuleSpec, metric: MetricSpec | None, lang: str) -> str:
    if metric is not None:
        return metric.label_zh if lang == "zh" else metric.label_en
    if rule.kind is RuleKind.expression or not rule.metric:
        return rule.label_zh if lang == "zh" else rule.label_en
    return rule.metric


def _state(metric: MetricSpec | None, code: float, lang: str) -> str | None:
    if metric is None or metric.kind is not MetricKind.STATE or not metric.states:
        return None
    if not math.isfinite(code) or code != int(code):
        return None
    state = metric.states.get(int(code))
    if state is None:
        return None
    return state.label_zh if lang == "zh" else state.label_en.lower()


def alarm_text(
    rule: RuleSpec,
    value: float | None,
    lang: str,
    *,
    device: str = "",
    profile: str | None = None,
    at_ms: int | None = None,
    driver: str | None = None,
) -> str:
    """The alarm's line in ``lang`` ("zh" or anything else for English); ``at_ms`` is when the
    rule fired, from which a held condition's start is told; ``driver`` is the metric that drove
    a plant alarm."""
    metric = _metric(profile, rule.metric)
    what = _what(rule, metric, lang)
    unit = rule.unit or (metric.unit if metric is not None else "")
    hold = span(rule.for_s, lang)
    fields: dict[str, str] = {"device": device, "what": what, "hold": hold}
    kind = rule.kind
    if kind is RuleKind.no_data:
        silent = span(value if value is not None else rule.for_s, lang)
        return _done(_t(lang, "no_data").format(silent=silent, **fields))
    if kind is RuleKind.counter_stalled:
        silent = span(value if value is not None else rule.for_s, lang)
        return _done(_t(lang, "stalled").format(silent=silent, **fields))
    if kind is RuleKind.burst:
        counted = _state(metric, rule.into[0], lang) if rule.into else None
        allowed = (rule.at_least or 1) - 1
        count = number(value) if value is not None else _t(lang, "unknown_value")
        line = _t(lang, "burst").format(
            count=count,
            allowed=allowed,
            window=span(rule.window_s, lang),
            **{**fields, "what": counted or what},
        )
        return _done(line)
    if kind is RuleKind.plant:
        # The value of a plant alarm is the driving sensor's distance from its fitted normal.
        sensor = _metric(profile, driver)
        driven = (sensor.label_zh if lang == "zh" else sensor.label_en) if sensor else driver
        sigma = f"{value:.1f}" if value is not None else _t(lang, "unknown_value")
        line = _t(lang, "plant").format(
            sensor=driven or what, sigma=sigma, fit=rule.fit_points, **fields
        )
        return _done(line)
    if kind is RuleKind.anomaly:
        # The value is the score; the driver, the statistic that drove it (anomaly.CAUSES).
        shown = number(value) if value is not None else _t(lang, "unknown_value")
        cause = _templates()["zh" if lang == "zh" else "en"].get(f"cause_{driver}")
        if cause is None:
            return _done(_t(lang, "anomaly").format(value=shown, **fields))
        return _done(_t(lang, "anomaly_cause").format(value=shown, cause=cause, **fields))
    if value is None:
        return _done(_t(lang, "holding").format(**fields))
    if kind is RuleKind.rate:
        rising = value >= 0
        limit = rule.max_rise_per_h if rising else rule.max_fall_per_h
        line = _t(lang, "rise" if rising else "fall").format(
            rate=_with_unit(abs(value), unit),
            limit=_with_unit(limit or 0.0, unit),
            **fields,
        )
        return _done(line)
    return _done(_level(rule, value, lang, fields, metric, unit) + _held(rule, lang, at_ms))


def _level(
    rule: RuleSpec,
    value: float,
    lang: str,
    fields: dict[str, str],
    metric: MetricSpec | None,
    unit: str,
) -> str:
    state = _state(metric, value, lang)
    if state is not None:
        return _t(lang, "state").format(state=state, **fields)
    if rule.kind is RuleKind.expression and not unit and value == 0:
        # A condition written as arithmetic (|stop_cause − 3| < 0.5): its value is no magnitude.
        return _t(lang, "holding").format(**fields)
    high = rule.above is not None and value > rule.above
    limit = rule.above if high else rule.below
    if limit is None:
        return _t(lang, "holding").format(**fields)
    return _t(lang, "above" if high else "below").format(
        value=_with_unit(value, unit),
        limit=_with_unit(limit, unit),
        excess=_with_unit(abs(value - limit), unit, like=value),
        **fields,
    )


def _held(rule: RuleSpec, lang: str, at_ms: int | None) -> str:
    if not rule.for_s or at_ms is None:
        return ""
    since = clock_time(at_ms - round(rule.for_s * 1000))
    return _t(lang, "hold").format(hold=span(rule.for_s, lang), since=since)


def _done(line: str) -> str:
    """Without a device name the line starts with its subject."""
    return line.lstrip(" :")
