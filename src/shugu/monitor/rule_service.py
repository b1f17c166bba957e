"""An enterprise's rules and a device's overrides: listed, and changed.

A change is validated, saved and the monitor reconfigured in one call, so that every caller
(an API route, a console page) leaves the registry and the running monitor agreeing. Callers
have already authorised the ids they pass.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from shugu.domain.errors import NotFoundError, ShuguError, ValidationError
from shugu.domain.profiles import get_profile
from shugu.monitor.config import CustomRule, check_custom_rule, device_infos, override_ref
from shugu.monitor.engine import RuleBinding, RuleEngine, applies
from shugu.monitor.evaluators import DeviceParams
from shugu.monitor.learning import Learning, device_learning
from shugu.monitor.plant_history import HistoryFits, fit_on_history
from shugu.monitor.rules import RuleKind, RuleSpec, custom_rule_ref, default_rules, validate_rule
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


@dataclass(frozen=True, slots=True)
class SavedRule:
    record: ConfigRecord
    #: What the stored readings gave a plant rule's fit (``fit_from``, decision 0076); None when
    #: the rule takes no fit from them, or keeps the fit it has.
    history: HistoryFits | None = None


def save_rule(
    registry: Registry,
    monitor: Monitor,
    enterprise_id: int,
    body: dict[str, Any],
    *,
    rule_id: int | None = None,
) -> SavedRule:
    """Create an enterprise's own rule, or replace rule ``rule_id``; errors name the field.

    A plant rule with ``fit_from`` is fitted on its devices' stored readings first, and the
    fitted states are saved before the monitor takes up the rule (decision 0076).
    """
    custom = check_custom_rule(registry, enterprise_id, body)
    ref = custom_rule_ref(rule_id) if rule_id is not None else None
    history = _history_fit(registry, monitor, enterprise_id, custom, ref)
    if history is None:
        record = registry.put_config(
            "rule", enterprise_id, custom.model_dump(mode="json"), config_id=rule_id
        )
        monitor.configure()
        return SavedRule(record, None)
    # The fitted states are in the registry before the monitor (and, told by it, a cluster's
    # monitor workers) takes the rule up, with no save of the rule's old model in between.
    with monitor.saves_held():
        if ref is not None:
            _keep_states(registry, ref, history)
        record = registry.put_config(
            "rule", enterprise_id, custom.model_dump(mode="json"), config_id=rule_id
        )
        ref = custom_rule_ref(record.id)
        if rule_id is None:
            _keep_states(registry, ref, history)
        monitor.configure()
        monitor.reread_states(ref, list(history.states))
    return SavedRule(record, history)


#: The most rows a save replays from stored readings (devices × fit rows): about 20 s at the
#: rate `shugu bench plant-history` measures, inside a web request.
MAX_HISTORY_ROWS = 2_000_000
#: The most values the replay holds (devices × fit rows × the model's columns), 128 MB of them.
MAX_HISTORY_CELLS = 16_000_000


def _keep_states(registry: Registry, ref: str, history: HistoryFits) -> None:
    registry.save_detector_states(
        [(ref, device, history.layout_key, blob) for device, blob in history.states.items()],
        model_at=history.made_at,
    )


def _history_fit(
    registry: Registry, monitor: Monitor, enterprise_id: int, custom: CustomRule, ref: str | None
) -> HistoryFits | None:
    """A plant rule's fit on its devices' stored readings from ``fit_from`` (None: the rule
    takes none, or is saved again with the model the monitor already runs)."""
    rule = validate_rule(custom.rule)
    if rule.kind is not RuleKind.plant or rule.fit_from is None:
        return None
    watched = _watched(registry, enterprise_id, custom, rule, ref)
    if ref is not None:
        # Devices with a state of this very model saved (the rule saved again, or its scope
        # widened) keep it.
        model = RuleEngine.new_evaluator(rule, DeviceParams(1))
        layout = model.state_layout() if model is not None else None
        devices = list(watched)
        kept = registry.detector_state_devices(ref, layout.key, devices) if layout else set()
        watched = {d: own for d, own in watched.items() if d not in kept}
        if kept and not watched:
            return None
    return _fit(monitor, rule, watched)


def backtest_rule(
    registry: Registry,
    monitor: Monitor,
    enterprise_id: int,
    body: dict[str, Any],
    *,
    rule_id: int | None = None,
) -> HistoryFits:
    """Fit a plant rule on its devices' stored readings from ``fit_from`` and back-test it on
    the rows after the fit (回测), saving nothing: what the model would have raised, to weigh
    before the rule is saved. ``rule_id``: the rule the body would replace, whose devices'
    overrides apply (their own sensitivity; those it is turned off for are left out), as they
    do once it is saved."""
    custom = check_custom_rule(registry, enterprise_id, body)
    rule = validate_rule(custom.rule)
    if rule.kind is not RuleKind.plant or rule.fit_from is None:
        raise ValidationError(
            "a back-test judges a plant model fitted on stored readings: give the plant rule "
            "a fit_from",
            code="backtest_needs_fit_from",
            field="rule.fit_from",
        )
    ref = custom_rule_ref(rule_id) if rule_id is not None else None
    return _fit(monitor, rule, _watched(registry, enterprise_id, custom, rule, ref))


def _watched(
    registry: Registry, enterprise_id: int, custom: CustomRule, rule: RuleSpec, ref: str | None
) -> dict[int, RuleSpec]:
    """The devices a rule watches, each with the rule as its overrides make it (as the monitor
    runs it), less those its overrides turn it off for (they learn nothing)."""
    binding = RuleBinding(ref or "", rule, custom.scope, enterprise_id)
    watched = {d.id: rule for d in device_infos(registry) if applies(binding, d)}
    if ref is None:
        return watched
    for record in registry.list_configs("override", [enterprise_id]):
        device = record.body.get("device_id")
        if record.body.get("rule_ref") != ref or device not in watched:
            continue
        params = dict(record.body.get("params", {}))
        own = rule
        # As the monitor applies it (engine.configure): an override the changed rule no
        # longer takes leaves the device on the rule itself.
        with contextlib.suppress(ShuguError):
            own = rule.with_overrides(params) if params else rule
        if rule.enabled and not own.enabled:
            del watched[device]  # the override turns the rule off for it
        else:
            watched[device] = own
    return watched


def _fit(monitor: Monitor, rule: RuleSpec, watched: dict[int, RuleSpec]) -> HistoryFits:
    """The rule fitted on the devices' stored readings up to now, and back-tested."""
    assert rule.fit_from is not None
    now = monitor.now_ms()
    if rule.fit_from.timestamp() * 1000 >= now:
        raise ValidationError(
            "fit_from must lie in the past: the fit is read from stored readings",
            code="rule_invalid",
            field="rule.fit_from",
        )
    devices = sorted(watched)
    columns = len(rule.metrics or ()) + len(rule.conditions or ())
    rows = len(devices) * rule.fit_points
    if rows > MAX_HISTORY_ROWS or rows * columns > MAX_HISTORY_CELLS:
        raise ValidationError(
            f"fitting {len(devices)} devices on {rule.fit_points} rows of {columns} columns "
            f"each from stored readings is more than a save replays ({MAX_HISTORY_ROWS:,} rows, "
            f"{MAX_HISTORY_CELLS:,} values): narrow the rule's scope, fit fewer rows, or "
            "leave fit_from empty",
            code="fit_too_long",
            field="rule.fit_from",
        )
    return fit_on_history(monitor.store, rule, devices, now, own=watched)


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
