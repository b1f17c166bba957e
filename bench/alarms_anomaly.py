"""Anomaly rules on the simulated week (``shugu bench alarms --anomaly``).

What an engineer gets who switches anomaly detection on for everything: one anomaly rule, as
the console's form makes it (the default detector with the pattern statistic, sensitivity 0.34),
on every gauge metric of every profile in the district. Counters and states are left out: a
counter only climbs, and a state's changes are what the default rules judge.

Each enterprise gets the rules for the profiles it has devices of, scoped to the profile. The
monitor names them ``custom.N``; the week's tally reads them by the name
``anomaly:<profile>.<metric>``, summed over enterprises.
"""

from __future__ import annotations

from collections.abc import Iterable

from shugu.domain.profiles import MetricKind, load_profiles
from shugu.monitor.rules import custom_rule_ref
from shugu.store.registry import Registry

PREFIX = "anomaly:"


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


def register_anomaly_rules(
    registry: Registry, profiles_by_enterprise: dict[int, set[str]], *, while_running: bool = False
) -> dict[str, str]:
    """Registers the rules; ``custom.N`` → the rule's name in the tally. With ``while_running``
    a rule on a profile with a running flag judges only while it reads running (decision 0069)."""
    known = load_profiles()
    names: dict[str, str] = {}
    for enterprise_id, profiles in sorted(profiles_by_enterprise.items()):
        for profile, metric in anomaly_metrics(profiles):
            spec = known[profile].metrics[metric]
            body = {
                "key": f"{metric}_anomaly",
                "kind": "anomaly",
                "metric": metric,
                "label_zh": f"{spec.label_zh}异常",
                "label_en": f"Unusual {spec.label_en.lower()}",
            }
            flag = running_flag(profile) if while_running else None
            if flag is not None:
                body["running_metric"] = flag
            record = registry.put_config(
                "rule", enterprise_id, {"rule": body, "scope": {"profile": profile}}
            )
            names[custom_rule_ref(record.id)] = rule_name(profile, metric)
    return names
