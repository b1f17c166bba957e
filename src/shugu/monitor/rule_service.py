"""Changing an enterprise's rules and a device's overrides: validate, save, reconfigure.

One call does all three, so that every caller (an API route, a console page) leaves the
registry and the running monitor agreeing. Callers have already authorised the ids they pass.
"""

from __future__ import annotations

from typing import Any

from shugu.domain.errors import NotFoundError
from shugu.monitor.config import check_custom_rule, override_ref
from shugu.monitor.rules import RuleSpec
from shugu.monitor.service import Monitor
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import ConfigRecord


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
