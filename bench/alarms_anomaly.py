"""Anomaly rules on the simulated week (``shugu bench alarms --anomaly``).

What an engineer gets who switches anomaly detection on for everything: one anomaly rule, as
the console's form makes it (the default detector with the pattern statistic, sensitivity 0.34),
on every gauge metric of every profile in the district. Counters and states are left out: a
counter only climbs, and a state's changes are what the default rules judge.

With ``--plant``, a plant rule (decision 0049's detector) over each profile's gauge metrics
instead of, or besides, the per-metric rules. With ``--plant-conditions`` as well, the gauges
a profile declares conditions (``plant_role: condition``: a tower's wet bulb, a meter's active
power) are the rule's conditions rather than its sensors (decisions 0072, 0073); with
``--plant-held-out`` those declared held at a set point (a tower's cold water) are left to their
limit rules.

Each enterprise gets the rules for the profiles it has devices of, scoped to the profile. The
monitor names them ``custom.N``; the week's tally reads them by the name
``anomaly:<profile>.<metric>``, summed over enterprises.
"""

from __future__ import annotations

from collections.abc import Iterable

from shugu.domain.profiles import MetricKind, PlantRole, load_profiles
from shugu.monitor.rules import custom_rule_ref
from shugu.store.registry import Registry

PREFIX = "anomaly:"
#: The tally's name for a profile's plant rule (``anomaly:<profile>.plant``).
PLANT = "plant"


def anomaly_metrics(profiles: Iterable[str]) -> list[tuple[str, str]]:
    """(profile, metric) of every gauge metric of the named profiles, in profile order."""
    known = load_profiles()
    return [
        (name, metric)
        for name in sorted(set(profiles))
        for metric, spec in known[name].metrics.items()
        if spec.kind is MetricKind.GAUGE
    ]


def rule_name(profile: str, metric: str) -> str:
    return f"{PREFIX}{profile}.{metric}"


def running_flag(profile: str) -> str | None:
    """The profile's on/off metric (a running flag), if it has one."""
    flags = [m for m, spec in load_profiles()[profile].metrics.items() if spec.bool_as_number]
    return flags[0] if flags else None


def plant_metrics(profiles: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(profile, its gauge metrics) of the named profiles with two gauges or more."""
    by_profile: dict[str, list[str]] = {}
    for profile, metric in anomaly_metrics(profiles):
        by_profile.setdefault(profile, []).append(metric)
    return [(p, tuple(ms)) for p, ms in by_profile.items() if len(ms) >= 2]


def tallied(profiles: Iterable[str], *, per_metric: bool, plant: bool) -> dict[str, str]:
    """The tally's name of every rule :func:`register_anomaly_rules` makes → its profile."""
    present = set(profiles)
    names = {rule_name(p, m): p for p, m in anomaly_metrics(present)} if per_metric else {}
    if plant:
        names |= {rule_name(p, PLANT): p for p, _ in plant_metrics(present)}
    return names


def register_anomaly_rules(
    registry: Registry,
    profiles_by_enterprise: dict[int, set[str]],
    *,
    while_running: bool = False,
    per_metric: bool = True,
    plant: bool = False,
    plant_fit_rows: int = 400,
    plant_conditions: bool = False,
    plant_held_out: bool = False,
) -> dict[str, str]:
    """Registers the rules; ``custom.N`` → the rule's name in the tally. ``per_metric``: an
    anomaly rule on every gauge; ``plant``: a plant rule over each profile's gauges, fitted on
    each device's first ``plant_fit_rows`` rows (named ``anomaly:<profile>.plant``). With
    ``while_running`` a rule on a profile with a running flag judges only while it reads
    running (decisions 0069, 0071); with ``plant_conditions`` a plant rule judges its profile's
    other gauges against the gauges its profile declares conditions (``plant_role``); with
    ``plant_held_out`` it leaves out those declared held at a set point."""
    known = load_profiles()
    names: dict[str, str] = {}
    for enterprise_id, profiles in sorted(profiles_by_enterprise.items()):
        bodies: list[tuple[str, str, dict[str, object]]] = []
        for profile, metric in anomaly_metrics(profiles) if per_metric else []:
            spec = known[profile].metrics[metric]
            body: dict[str, object] = {
                "key": f"{metric}_anomaly",
                "kind": "anomaly",
                "metric": metric,
                "label_zh": f"{spec.label_zh}异常",
                "label_en": f"Unusual {spec.label_en.lower()}",
            }
            bodies.append((profile, metric, body))
        for profile, metrics in plant_metrics(profiles) if plant else []:
            declared = known[profile]
            given = declared.plant_gauges(PlantRole.CONDITION) if plant_conditions else []
            held = declared.plant_gauges(PlantRole.SET_POINT) if plant_held_out else []
            body = {
                "key": "plant_model",
                "kind": "plant",
                "metrics": [m for m in metrics if m not in given and m not in held],
                "fit_points": plant_fit_rows,
                **({"conditions": list(given)} if given else {}),
                "label_zh": f"{known[profile].label_zh}运行异常",
                "label_en": f"{known[profile].label_en} off its normal running",
            }
            bodies.append((profile, PLANT, body))
        for profile, metric, body in bodies:
            flag = running_flag(profile) if while_running else None
            if flag is not None:
                body["running_metric"] = flag
            record = registry.put_config(
                "rule", enterprise_id, {"rule": body, "scope": {"profile": profile}}
            )
            names[custom_rule_ref(record.id)] = rule_name(profile, metric)
    return names
