"""The form of an enterprise's own rule: a limit on one metric (threshold, or held for a time),
the anomaly detector on one metric (异常检测), or a plant model over several sensors (多传感器
设备模型, decision 0049), on every device of a profile, on an asset and all below it, or on one
device.

The form's fields become the body ``rule_service.save_rule`` takes (the API's rule body), and
the service's errors, which name the rule's field (``above``, ``rule.metric``,
``scope.device_id``), go back beside the form's field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from starlette.datastructures import FormData

from shugu.domain.errors import ValidationError
from shugu.domain.profiles import MetricKind, PlantRole, Profile, load_profiles
from shugu.domain.timeutil import CHINA_TZ
from shugu.monitor.model import Severity
from shugu.monitor.rules import MAX_FIT_POINTS, MIN_FIT_POINTS, RuleKind, RuleSpec, fit_instant
from shugu.store.registry import Registry
from shugu.web.i18n import N_, Translator

#: The kinds of rule the form makes; the API makes every kind.
FORM_KINDS: Final = (RuleKind.threshold, RuleKind.duration, RuleKind.anomaly, RuleKind.plant)
TEXT_FIELDS: Final = ("label_zh", "label_en", "metric")
NUMBER_FIELDS: Final = (
    "above", "below", "deadband", "for_s", "sensitivity", "clear_after_s", "fit_points",
)  # fmt: skip
#: The number fields each kind of rule reads; a value in another is refused, not dropped.
KIND_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    RuleKind.threshold.value: ("above", "below", "deadband"),
    RuleKind.duration.value: ("above", "below", "deadband", "for_s"),
    RuleKind.anomaly.value: ("sensitivity", "clear_after_s"),
    RuleKind.plant.value: ("sensitivity", "fit_points"),
}
#: The kinds that may be judged only while a running flag reads running.
JUDGED_WHILE_KINDS: Final = (RuleKind.anomaly.value, RuleKind.plant.value)
#: Whether an anomaly rule judges the series' pattern: ``yes`` (the default) or ``no``.
PATTERN_CHOICES: Final = ("yes", "no")
FIELDS: Final = (
    *TEXT_FIELDS, "kind", *NUMBER_FIELDS, "pattern", "running_metric", "severity", "applies",
    "metrics", "conditions", "fit_from",
)  # fmt: skip
#: The fields ticked as one checkbox per metric.
TICKED_FIELDS: Final = ("metrics", "conditions")
MAX_TEXT: Final = 200
SECONDS_PER_DAY: Final = 86_400
#: A plant rule's fit where no profile's interval proposes one.
DEFAULT_FIT_POINTS: Final = int(RuleSpec.model_fields["fit_points"].default)

#: An enterprise with more devices than this is offered its profiles and assets only (a select
#: of thousands of devices helps nobody); a rule for one device is made from the API then.
MAX_DEVICE_CHOICES: Final = 300
_METRIC: Final = re.compile(r"[^a-z0-9_]")


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    #: What the profile declares the gauge is to a plant rule, if anything: shown beside its
    #: tick.
    plant_role: PlantRole | None = None


@dataclass(frozen=True, slots=True)
class GaugeGroup:
    """A profile's gauges, offered to a plant model."""

    profile: str
    label: str
    gauges: list[Choice]
    #: A day of the profile's rows (its report interval), what a plant model of its devices is
    #: fitted on when the form leaves the fit empty; None when the profile states no interval.
    day_rows: int | None = None


@dataclass(frozen=True, slots=True)
class Choices:
    """Where a rule of the enterprise may apply, and the metrics its devices report."""

    profiles: list[Choice]
    assets: list[Choice]
    devices: list[Choice]
    #: The metrics of each profile the enterprise has devices of, by the profile's name.
    metrics: list[tuple[str, list[Choice]]]
    #: Their on/off metrics (a running flag), by the profile's name: what an anomaly rule may
    #: be judged only while (``running_metric``).
    flags: list[tuple[str, list[Choice]]] = field(default_factory=list)
    #: Their gauges, by profile: the sensors a plant model may cover.
    gauges: list[GaugeGroup] = field(default_factory=list)

    def allows(self, value: str) -> bool:
        return any(c.value == value for c in (*self.profiles, *self.assets, *self.devices))

    def fit_shown(self, values: Mapping[str, str]) -> int:
        """The fit a plant model of the form as it stands would get if left empty."""
        gauges = [g for name in TICKED_FIELDS for g in values.get(name, "").split(",") if g]
        # A new form's select sends its first choice.
        first = next(iter((*self.profiles, *self.assets, *self.devices)), None)
        applies = values.get("applies") or (first.value if first else "")
        proposed = proposed_fit(self, gauges, applies)
        return DEFAULT_FIT_POINTS if proposed is None else proposed


def choices(registry: Registry, enterprise_id: int, tr: Translator) -> Choices:
    en = tr.lang == "en"
    devices = registry.device_refs_of_enterprise(enterprise_id)
    known = load_profiles()
    names = sorted({d.profile for d in devices if d.profile in known})
    profiles = [known[n] for n in names]
    return Choices(
        profiles=[
            Choice(
                f"profile:{p.name}", tr("Every {profile}", profile=p.label_en if en else p.label_zh)
            )
            for p in profiles
        ],
        assets=[
            Choice(f"asset:{a.id}", tr("{asset} and all below it", asset=a.name))
            for a in registry.list_assets(enterprise_id)
        ],
        devices=[Choice(f"device:{d.id}", d.name) for d in devices]
        if len(devices) <= MAX_DEVICE_CHOICES
        else [],
        metrics=[
            (
                p.label_en if en else p.label_zh,
                [
                    Choice(name, f"{spec.label_en if en else spec.label_zh} ({name})")
                    for name, spec in p.metrics.items()
                ],
            )
            for p in profiles
        ],
        flags=[
            (
                p.label_en if en else p.label_zh,
                [
                    Choice(name, f"{spec.label_en if en else spec.label_zh} ({name})")
                    for name, spec in p.metrics.items()
                    if spec.bool_as_number
                ],
            )
            for p in profiles
            if any(spec.bool_as_number for spec in p.metrics.values())
        ],
        gauges=[
            GaugeGroup(
                p.name,
                p.label_en if en else p.label_zh,
                [
                    Choice(
                        name,
                        f"{spec.label_en if en else spec.label_zh} ({name})",
                        spec.plant_role,
                    )
                    for name, spec in p.metrics.items()
                    if spec.kind is MetricKind.GAUGE
                ],
                _day_rows(p),
            )
            for p in profiles
            if any(spec.kind is MetricKind.GAUGE for spec in p.metrics.values())
        ],
    )


def _day_rows(profile: Profile) -> int | None:
    rows = profile.rows_in(SECONDS_PER_DAY)
    return None if rows is None else min(max(rows, MIN_FIT_POINTS), MAX_FIT_POINTS)


@dataclass
class RuleForm:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    form_error: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def form_of(body: Mapping[str, Any]) -> RuleForm:
    """The form of a saved rule, to change it."""
    rule: Mapping[str, Any] = body.get("rule", {})
    scope: Mapping[str, Any] = body.get("scope", {})
    values = {name: _text(rule.get(name)) for name in (*TEXT_FIELDS, *NUMBER_FIELDS)}
    values["kind"] = str(rule.get("kind", RuleKind.threshold.value))
    if values["kind"] == RuleKind.plant.value and not values["fit_points"]:
        # Saved without a fit, the rule runs on the rule's own default: shown, so that saving
        # the form again keeps it (a proposed day would refit every device).
        values["fit_points"] = str(DEFAULT_FIT_POINTS)
    values["pattern"] = "no" if rule.get("pattern") is False else "yes"
    values["fit_from"] = _local_time(rule.get("fit_from"))
    values["running_metric"] = str(rule.get("running_metric") or "")
    for name in TICKED_FIELDS:
        values[name] = ",".join(str(m) for m in rule.get(name) or ())
    values["severity"] = str(rule.get("severity", Severity.major.value))
    for key in ("profile", "asset_id", "device_id"):
        if scope.get(key) is not None:
            values["applies"] = f"{key.removesuffix('_id')}:{scope[key]}"
    return RuleForm(values=values)


def rule_body(
    submitted: FormData, allowed: Choices, tr: Translator
) -> tuple[dict[str, Any], RuleForm]:
    """The API's rule body from the form, and the form as sent with what could not be read."""
    form = RuleForm()
    for name in FIELDS:
        raw = submitted.get(name, "")
        form.values[name] = raw.strip() if isinstance(raw, str) else ""
    # The plant model's sensors and conditions come as one checkbox each; kept joined to show
    # the form again.
    ticked = {
        name: [s.strip() for s in submitted.getlist(name) if isinstance(s, str) and s.strip()]
        for name in TICKED_FIELDS
    }
    for name, metrics in ticked.items():
        form.values[name] = ",".join(metrics)
    sensors = ticked["metrics"]
    values = form.values
    rule: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if len(values[name]) > MAX_TEXT:
            form.errors[name] = tr("At most {n} characters.", n=MAX_TEXT)
        elif values[name]:
            rule[name] = values[name]
    kind = values["kind"]
    if kind in KIND_FIELDS:
        rule["kind"] = kind
    else:
        form.errors["kind"] = tr("Choose a kind of rule.")
    used = KIND_FIELDS.get(kind, NUMBER_FIELDS)
    for name in NUMBER_FIELDS:
        if not values[name]:
            continue
        if name not in used:
            form.errors[name] = tr("This kind of rule does not use it; leave it empty.")
            continue
        try:
            number = float(values[name])
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            rule[name] = number
        else:
            form.errors[name] = tr("Enter a number.")
    if kind == RuleKind.anomaly.value:
        values["pattern"] = values["pattern"] or "yes"
        if values["pattern"] not in PATTERN_CHOICES:
            form.errors["pattern"] = tr("Choose whether the pattern is judged.")
        elif values["pattern"] == "no":
            rule["pattern"] = False
    _plant_sensors(kind, sensors, allowed, rule, form, tr)
    _plant_conditions(kind, sensors, ticked["conditions"], allowed, rule, form, tr)
    if kind == RuleKind.plant.value and "fit_points" not in rule and "metrics" in rule:
        fit = proposed_fit(allowed, [*sensors, *ticked["conditions"]], values["applies"])
        if fit is not None:
            rule["fit_points"] = fit
    _fit_from(kind, values["fit_from"], rule, form, tr)
    if values["running_metric"]:
        flags = {c.value for _profile, group in allowed.flags for c in group}
        if kind not in JUDGED_WHILE_KINDS:
            form.errors["running_metric"] = tr("This kind of rule does not use it; leave it empty.")
        elif values["running_metric"] not in flags:
            form.errors["running_metric"] = tr("Choose an on/off metric of the devices.")
        else:
            rule["running_metric"] = values["running_metric"]
    if values["severity"] in Severity.__members__:
        rule["severity"] = values["severity"]
    else:
        form.errors["severity"] = tr("Choose a severity.")
    # A rule's key names it in notices and reports; the form derives it from the metric.
    named = sensors[0] if kind == RuleKind.plant.value and sensors else values["metric"]
    metric_key = _METRIC.sub("_", named.lower()).strip("_")
    suffix = {RuleKind.anomaly.value: "anomaly", RuleKind.plant.value: "plant"}.get(kind, "limit")
    key = f"{metric_key}_{suffix}" if metric_key[:1].isalpha() else f"own_{suffix}"
    rule["key"] = key[:64]
    scope: dict[str, Any] = {}
    kind, _, ident = values["applies"].partition(":")
    if not allowed.allows(values["applies"]):
        form.errors["applies"] = tr("Choose where the rule applies.")
    elif kind == "profile":
        scope["profile"] = ident
    else:
        scope[f"{kind}_id"] = int(ident)
    return {"rule": rule, "scope": scope}, form


def _local_time(saved: Any) -> str:
    """A saved instant as the form's date-and-time field shows it (China time), to the
    millisecond it was given, so that saving the form again keeps the same model."""
    if saved is None or saved == "":
        return ""
    try:
        # Kept as the API's client gave it: an ISO time or milliseconds.
        at = fit_instant(saved)
    except (TypeError, ValueError):
        return str(saved)
    if at.microsecond:
        return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
    return at.strftime("%Y-%m-%dT%H:%M:%S" if at.second else "%Y-%m-%dT%H:%M")


def _fit_from(kind: str, value: str, rule: dict[str, Any], form: RuleForm, tr: Translator) -> None:
    """A plant model's fit from stored readings (decision 0076): a date, or a date and time,
    in China time."""
    if not value:
        return
    if kind != RuleKind.plant.value:
        form.errors["fit_from"] = tr("This kind of rule does not use it; leave it empty.")
        return
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        form.errors["fit_from"] = tr("Enter a date, or a date and time.")
        return
    if at.tzinfo is None:
        at = at.replace(tzinfo=CHINA_TZ)
    rule["fit_from"] = at.isoformat()


def proposed_fit(allowed: Choices, gauges: list[str], applies: str) -> int | None:
    """The fit a plant model over ``gauges`` is given when the form leaves it empty: a day of
    rows of the profile they belong to (the scoped one, when the rule applies to a profile).
    Where several profiles report them all, the longest, so every device's fit spans a day;
    None where none states its interval (the rule's own default then holds)."""
    kind, _, ident = applies.partition(":")
    days = [
        group.day_rows
        for group in allowed.gauges
        if group.day_rows is not None
        and (kind != "profile" or group.profile == ident)
        and set(gauges) <= {c.value for c in group.gauges}
    ]
    return max(days) if days else None


def _plant_sensors(
    kind: str,
    sensors: list[str],
    allowed: Choices,
    rule: dict[str, Any],
    form: RuleForm,
    tr: Translator,
) -> None:
    """A plant model covers the sensors ticked, and no single metric; other kinds tick none."""
    if kind != RuleKind.plant.value:
        if sensors:
            form.errors["metrics"] = tr("This kind of rule does not use it; leave it empty.")
        return
    if form.values["metric"]:
        form.errors["metric"] = tr("This kind of rule does not use it; leave it empty.")
        rule.pop("metric", None)
    gauges = {c.value for group in allowed.gauges for c in group.gauges}
    if not sensors:
        form.errors["metrics"] = tr("Tick the sensors the model covers.")
    elif any(s not in gauges for s in sensors) or len(set(sensors)) != len(sensors):
        form.errors["metrics"] = tr("Tick sensors the devices report.")
    else:
        rule["metrics"] = sensors


def _plant_conditions(
    kind: str,
    sensors: list[str],
    conditions: list[str],
    allowed: Choices,
    rule: dict[str, Any],
    form: RuleForm,
    tr: Translator,
) -> None:
    """A plant model may be judged against conditions: gauges of the devices that are not
    among its sensors. Other kinds have none."""
    if not conditions:
        return
    if kind != RuleKind.plant.value:
        form.errors["conditions"] = tr("This kind of rule does not use it; leave it empty.")
        return
    gauges = {c.value for group in allowed.gauges for c in group.gauges}
    if any(c not in gauges for c in conditions) or len(set(conditions)) != len(conditions):
        form.errors["conditions"] = tr("Tick conditions the devices report.")
    elif set(conditions) & set(sensors):
        form.errors["conditions"] = tr("A sensor the model covers cannot be its condition too.")
    else:
        rule["conditions"] = conditions


#: The service names a rule's field as ``above`` or ``rule.above``, its scope as ``scope.x``.
def form_field(service_field: str) -> str:
    if service_field.startswith("scope"):
        return "applies"
    name = service_field.removeprefix("rule.")
    return name if name in FIELDS else ""


def hint_for(name: str, value: str) -> str:
    """What the field accepts, told beside it when the service refused the value (a message
    id; empty when there is nothing to add)."""
    if not value:
        return (
            N_("Give an upper limit, a lower limit or both.")
            if name == "above"
            else N_("Required.")
        )
    return HINTS.get(name, "")


#: What each field accepts.
HINTS: Final = {
    "above": N_("Must be above the lower limit."),
    "below": N_("Must be below the upper limit."),
    "deadband": N_("0 or more."),
    "for_s": N_("From 0 to 604,800 s; more than 0 for this kind of rule."),
    "metric": N_("A metric the devices it applies to report."),
    "sensitivity": N_("From 0 to 1; a higher sensitivity raises more alarms."),
    "clear_after_s": N_("More than 0 s."),
    "running_metric": N_("An on/off metric of the devices, other than the rule's metric."),
    "fit_points": N_("A whole number of rows from 8 to 100,000."),
    "fit_from": N_("A date and time before now, from which readings are stored."),
    "metrics": N_("Sensors the devices it applies to report, each once."),
    "conditions": N_("Metrics the devices report, each once, none of them a sensor of the model."),
    "label_zh": N_("Required, at most 200 characters."),
    "label_en": N_("Required, at most 200 characters."),
}


def refuse(form: RuleForm, exc: ValidationError, tr: Translator) -> RuleForm:
    """The form with a service's refusal beside the field it names (or above the form)."""
    message = tr.error(exc.code, exc.message)
    name = form_field(str(exc.details.get("field") or ""))
    if name:
        # The hint says what a field accepts: beside a refusal of its value, not of its cost.
        refused = exc.code == "rule_invalid"
        hint = hint_for(name, form.values.get(name, "")) if refused else ""
        form.errors[name] = tr("{error} {hint}", error=message, hint=tr(hint)) if hint else message
    else:
        form.form_error = message
    return form
