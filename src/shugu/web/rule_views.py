"""An enterprise's rules as its rules page lists them: name, kind, what they watch, limit,
and where they apply, in the user's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from shugu.domain.profiles import load_profiles
from shugu.monitor.alarm_text import limit_line
from shugu.monitor.rules import RuleKind, RuleSpec
from shugu.web.i18n import N_

KIND_LABELS: Final = {
    RuleKind.threshold: N_("Threshold"),
    RuleKind.duration: N_("Threshold held for a time"),
    RuleKind.rate: N_("Rate of change"),
    RuleKind.no_data: N_("No data"),
    RuleKind.expression: N_("Expression"),
    RuleKind.counter_stalled: N_("Counter stalled"),
    RuleKind.burst: N_("Repeated entries"),
    RuleKind.anomaly: N_("Anomaly"),
    RuleKind.plant: N_("Plant model (several sensors)"),
}


@dataclass(frozen=True, slots=True)
class RuleRow:
    ref: str
    #: The id of an enterprise's own rule; None for a profile's.
    rule_id: int | None
    label: str
    kind_label: str
    subject: str
    #: The watched metrics' names in the user's language ("" when no profile knows them).
    subject_label: str
    limit: str
    severity: str
    enabled: bool
    #: What the rule watches: every device of a profile, an asset and all below it, a device.
    scope_kind: Literal["profile", "asset", "device"]
    scope_id: int | None
    scope_name: str


@dataclass(frozen=True, slots=True)
class Names:
    """The names a rule's scope is shown by, in the user's language."""

    en: bool
    devices: Mapping[int, str]
    assets: Mapping[int, str]

    def profile(self, name: str) -> str:
        profile = load_profiles().get(name)
        if profile is None:
            return name
        return profile.label_en if self.en else profile.label_zh


def metric_label(metric: str, profile: str | None, en: bool) -> str:
    """A metric's name in the user's language: as the rule's profile names it, else as the
    first profile (by name) that has a metric of that key names it; "" when none does."""
    known = load_profiles()
    first = [known[profile]] if profile in known else []
    for candidate in (*first, *(known[name] for name in sorted(known))):
        spec = candidate.metrics.get(metric)
        if spec is not None:
            return spec.label_en if en else spec.label_zh
    return ""


def subject_label(rule: RuleSpec, profile: str | None, en: bool) -> str:
    """What the rule watches, named: one metric, or a plant rule's sensors."""
    watched = rule.metrics or ((rule.metric,) if rule.metric and not rule.expr else ())
    labels = [metric_label(m, profile, en) for m in watched]
    if not labels or not all(labels):
        return ""
    return (", " if en else "、").join(labels)


def rule_row(
    ref: str, rule_id: int | None, scope: dict[str, Any], body: dict[str, Any], names: Names
) -> RuleRow:
    try:
        rule: RuleSpec | None = RuleSpec.model_validate(body)
    except ValueError:
        rule = None
    scope_kind: Literal["profile", "asset", "device"] = "profile"
    scope_id: int | None = None
    if scope.get("device_id") is not None:
        scope_kind, scope_id = "device", int(scope["device_id"])
        scope_name = names.devices.get(scope_id, f"#{scope_id}")
    elif scope.get("asset_id") is not None:
        scope_kind, scope_id = "asset", int(scope["asset_id"])
        scope_name = names.assets.get(scope_id, f"#{scope_id}")
    else:
        scope_name = names.profile(str(scope.get("profile", "")))
    if rule is None:
        return RuleRow(
            ref, rule_id, ref, "", "", "", "", "", True, scope_kind, scope_id, scope_name
        )
    return RuleRow(
        ref=ref,
        rule_id=rule_id,
        label=rule.label_en if names.en else rule.label_zh,
        kind_label=KIND_LABELS.get(rule.kind, rule.kind.value),
        subject=rule.subject(),
        subject_label=subject_label(rule, scope.get("profile"), names.en),
        limit=limit_line(rule, "en" if names.en else "zh"),
        severity=rule.severity.value,
        enabled=rule.enabled,
        scope_kind=scope_kind,
        scope_id=scope_id,
        scope_name=scope_name,
    )
