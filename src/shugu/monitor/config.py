"""Loading the monitor's configuration from the registry: devices, rules, overrides, channels.

Custom rules, overrides, channels and escalation policies are registry documents; this module
turns them into validated objects, and turns requests into documents after validating them.
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from shugu.domain.errors import ValidationError
from shugu.domain.profiles import Profile, get_profile
from shugu.monitor.engine import DeviceInfo, RuleBinding
from shugu.monitor.notify.channels import ChannelConfig, parse_channels
from shugu.monitor.notify.escalation import EscalationPolicy, parse_policy
from shugu.monitor.rules import (
    RuleScope,
    RuleSpec,
    custom_rule_ref,
    default_rule_ref,
    default_rules,
    describe_errors,
    input_problem,
    validate_rule,
)
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import ConfigRecord


class CustomRule(BaseModel):
    """An enterprise's own rule: the rule and where it applies."""

    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any]
    scope: RuleScope


def device_infos(registry: Registry) -> list[DeviceInfo]:
    """Every device with the chain of assets above it."""
    parents: dict[int, int | None] = {}
    for enterprise in registry.list_enterprises():
        for asset in registry.list_assets(enterprise.id):
            parents[asset.id] = asset.parent_id
    infos = []
    for device in registry.all_devices():
        path: list[int] = []
        asset_id = device.asset_id
        while asset_id is not None and asset_id not in path:
            path.append(asset_id)
            asset_id = parents.get(asset_id)
        infos.append(
            DeviceInfo(device.id, device.enterprise_id, device.name, device.profile, tuple(path))
        )
    return infos


def custom_binding(record: ConfigRecord) -> RuleBinding:
    custom = CustomRule.model_validate(record.body)
    return RuleBinding(
        custom_rule_ref(record.id),
        validate_rule(custom.rule),
        custom.scope,
        record.enterprise_id,
    )


def all_bindings(registry: Registry) -> list[RuleBinding]:
    bindings = [
        RuleBinding(ref, rule, RuleScope(profile=profile))
        for ref, (profile, rule) in default_rules().items()
    ]
    for record in registry.list_configs("rule"):
        bindings.append(custom_binding(record))
    return bindings


def override_ref(device_id: int, rule_ref: str) -> str:
    return f"{device_id}:{rule_ref}"


def all_overrides(registry: Registry) -> dict[tuple[str, int], dict[str, Any]]:
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for record in registry.list_configs("override"):
        body = record.body
        out[(str(body["rule_ref"]), int(body["device_id"]))] = dict(body["params"])
    return out


def check_custom_rule(registry: Registry, enterprise_id: int, body: dict[str, Any]) -> CustomRule:
    """Validate a custom rule against the enterprise it belongs to; errors name the field."""
    try:
        custom = CustomRule.model_validate(body)
    except pydantic.ValidationError as exc:
        raise describe_errors(exc, "rule") from exc
    rule = validate_rule(custom.rule)
    scope = custom.scope
    if scope.profile is not None:
        _check_inputs(get_profile(scope.profile), rule)
    elif scope.asset_id is not None:
        asset = registry.get_asset(scope.asset_id)
        if asset.enterprise_id != enterprise_id:
            raise ValidationError("no such asset", code="rule_invalid", field="scope.asset_id")
    elif scope.device_id is not None:
        device = registry.get_device(scope.device_id)
        if device.enterprise_id != enterprise_id:
            raise ValidationError("no such device", code="rule_invalid", field="scope.device_id")
        _check_inputs(get_profile(device.profile), rule)
    return custom


def _check_inputs(profile: Profile, rule: RuleSpec) -> None:
    """The metrics a rule reads exist on the profile, and its running flag is an on/off metric.

    A rule scoped to an asset may meet devices of several profiles; the monitor then skips the
    devices whose readings lack the rule's inputs, as it does for the ``generic`` profile.
    """
    problem = input_problem(profile, rule)
    if problem is not None:
        raise ValidationError(problem.message, code="rule_invalid", field=f"rule.{problem.field}")


def notify_settings(
    registry: Registry, enterprise_id: int
) -> tuple[dict[str, ChannelConfig], EscalationPolicy | None]:
    records = registry.list_configs("channel", [enterprise_id])
    channels = parse_channels([r.body for r in records]) if records else {}
    policy_records = [
        r for r in registry.list_configs("escalation", [enterprise_id]) if r.ref is not None
    ]
    policy = parse_policy(policy_records[0].body) if policy_records else None
    return channels, policy


__all__ = [
    "CustomRule",
    "all_bindings",
    "all_overrides",
    "check_custom_rule",
    "custom_binding",
    "default_rule_ref",
    "device_infos",
    "notify_settings",
    "override_ref",
]
