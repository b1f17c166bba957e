"""An enterprise's rules and a device's overrides: listed, and changed.

A change is validated, saved and the monitor reconfigured in one call, so that every caller
(an API route, a console page) leaves the registry and the running monitor agreeing. Callers
have already authorised the ids they pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shugu.domain.errors import NotFoundError, ValidationError
from shugu.domain.profiles import get_profile
from shugu.monitor.config import check_custom_rule, override_ref
from shugu.monitor.learning import Learning, device_learning
from shugu.monitor.rules import RuleSpec, custom_rule_ref, default_rules
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import ConfigRecord


@dataclass(frozen=True, slots=True)
class ListedRule:
    ref: str
    #: The id of an enterprise's own rule; None for a profile's defaults.
    id: int | None
    scope: dict[str, Any]
    rule: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeviceRule:
    ref: str
    #: The rule as it watches the device, its overrides applied.
    rule: RuleSpec
    overridden: dict[str, Any]
    #: The rule as it watches the device's profile, asset or the device, before the device's
    #: own overrides: what an override's parameter falls back to.
    base: RuleSpec | None = None
    #: How far the rule has learned the device, for a rule that learns before it judges.
    learning: Learning | None = None


def _custom_rule_profile(registry: Registry, scope: dict[str, Any]) -> str | None:
    """The one profile a custom rule watches, or None when its scope is an asset (whatever
    devices are under it)."""
    if scope.get("profile") is not None:
        return str(scope["profile"])
    if scope.get("device_id") is not None:
        ref = registry.get_device_ref(int(scope["device_id"]))
        return ref.profile if ref is not None else None
    return None


def enterprise_rules(
    registry: Registry, enterprise_id: int, *, profile: str | None, every_profile: bool
) -> list[ListedRule]:
    """The defaults of the profiles the enterprise has devices of (of ``profile`` only, or of
    every profile), then its own rules (leaving out those watching another ``profile``)."""
    registry.get_enterprise(enterprise_id)
    if profile is not None and every_profile:
        raise ValidationError(
            "give either profile or all=true, not both", code="conflicting_query", field="all"
        )
    if profile is not None:
        profiles: set[str] | None = {get_profile(profile).name}
    elif every_profile:
        profiles = None
    else:
        profiles = {d.profile for d in registry.device_refs_of_enterprise(enterprise_id)}
    out = [
        ListedRule(ref=ref, id=None, scope={"profile": owner}, rule=rule.model_dump(mode="json"))
        for ref, (owner, rule) in default_rules().items()
        if profiles is None or owner in profiles
    ]
    for record in registry.list_configs("rule", [enterprise_id]):
        watched = _custom_rule_profile(registry, record.body["scope"])
        if profile is not None and watched is not None and watched != profile:
            continue
        out.append(
            ListedRule(
                ref=custom_rule_ref(record.id),
                id=record.id,
                scope=record.body["scope"],
                rule=record.body["rule"],
            )
        )
    return out


def device_rules(
    registry: Registry, monitor: Monitor, enterprise_id: int, device_id: int
) -> list[DeviceRule]:
    """The rules that watch a device of the enterprise, with its own limits where overridden."""
    monitor.ensure_device(device_id)
    overrides = {
        str(r.body["rule_ref"]): dict(r.body["params"])
        for r in registry.list_configs("override", [enterprise_id])
        if r.body.get("device_id") == device_id
    }
    rules = monitor.engine.rules()
    learning = device_learning(registry, rules, device_id)
    out = []
    for rule_ref, compiled in rules.items():
        rule = compiled.effective.get(device_id)
        if rule is not None:
            base = compiled.binding.rule
            out.append(
                DeviceRule(
                    rule_ref, rule, overrides.get(rule_ref, {}), base, learning.get(rule_ref)
                )
            )
    return out


def save_rule(
    registry: Registry,
    monitor: Monitor,
    enterprise_id: int,
    body: dict[str, Any],
    *,
    rule_id: int | None = None,
) -> ConfigRecord:
    """Create an enterprise's own rule, or replace rule ``rule_id``; errors name the field."""
    custom = check_custom_rule(registry, enterprise_id, body)
    record = registry.put_config(
        "rule", enterprise_id, custom.model_dump(mode="json"), config_id=rule_id
    )
    monitor.configure()
    return record


def delete_rule(registry: Registry, monitor: Monitor, rule_id: int) -> None:
    registry.delete_config(rule_id, "rule")
    monitor.configure()


def save_override(
    registry: Registry,
    monitor: Monitor,
    enterprise_id: int,
    device_id: int,
    rule_ref: str,
    params: dict[str, Any],
) -> RuleSpec:
    """Give a device its own limits for a rule (e.g. ``{"above": 29}``); the rule as it now
    watches that device."""
    monitor.ensure_device(device_id)
    compiled = monitor.engine.rules().get(rule_ref)
    if compiled is None or device_id not in compiled.effective:
        raise NotFoundError("no such rule on this device", field="rule_ref")
    rule = compiled.binding.rule.with_overrides(params)
    registry.put_config(
        "override",
        enterprise_id,
        {"device_id": device_id, "rule_ref": rule_ref, "params": params},
        ref=override_ref(device_id, rule_ref),
    )
    monitor.configure()
    return rule


def delete_override(registry: Registry, monitor: Monitor, device_id: int, rule_ref: str) -> None:
    if not registry.delete_config_ref("override", override_ref(device_id, rule_ref)):
        raise NotFoundError("this device has no override of that rule", field="rule_ref")
    monitor.configure()
