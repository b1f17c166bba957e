"""Alarms people trust: a simulated week of the demo district through the real store and
monitor (``bench/alarms_week.py``), with the week's faults injected at known hours.

Prints, per default rule, the alarms raised on healthy devices per device-week (the limit is
0.1), and per fault whether its intended alarm was raised on the faulty device, how long after
the fault began, and how many alarms and notices the fault caused.
"""

from __future__ import annotations

import sys
from typing import Any

from bench.alarms_week import WeekOptions, WeekResult, run_week, table
from bench.common import say

#: Alarms per device-week on healthy devices that a default rule may raise.
HEALTHY_LIMIT = 0.1


def summary(result: WeekResult, options: WeekOptions) -> dict[str, Any]:
    rules = {
        ref: {
            "healthy_alarms": result.healthy_alarms[ref],
            "device_weeks": round(result.device_weeks.get(ref, 0.0), 2),
            "per_device_week": round(result.per_device_week(ref), 4),
            **(
                {"healthy_drivers": result.healthy_drivers[ref]}
                if ref in result.healthy_drivers
                else {}
            ),
        }
        for ref in sorted(result.healthy_alarms)
    }
    faults = [
        {
            "fault": o.fault.kind,
            "device": o.fault.device,
            "intended_rule": o.intended_rule,
            "detected": o.detected,
            "delay_h": None if o.delay_h is None else round(o.delay_h, 3),
            "within_h": o.within_h,
            "alarms": o.alarms,
            "notices": o.notices,
            **(
                {
                    "anomaly_delay_h": None
                    if o.anomaly_delay_h is None
                    else round(o.anomaly_delay_h, 3),
                    "anomaly_rule": o.anomaly_rule,
                    "by_rule": o.by_rule,
                }
                if options.anomaly or options.plant
                else {}
            ),
        }
        for o in result.faults
    ]
    noisy = [ref for ref in rules if result.per_device_week(ref) > HEALTHY_LIMIT]
    missed = [o.fault.kind for o in result.faults if not o.in_time]
    return {
        "scale": options.scale,
        "mills": options.mills,
        "step_s": options.step_s,
        "days": options.days,
        "anomaly_rules": options.anomaly,
        "plant_rules": options.plant,
        "plant_fit_h": options.plant_fit_h,
        "plant_conditions": options.plant_conditions,
        "plant_held_out": options.plant_held_out,
        "anomaly_while_running": options.while_running,
        "devices": result.devices,
        "points": result.points,
        "seconds": round(result.seconds, 1),
        "healthy_limit_per_device_week": HEALTHY_LIMIT,
        "rules": rules,
        "faults": faults,
        "noisy_rules": noisy,
        "faults_missed": missed,
    }


def run(
    *,
    scale: float = 1.0,
    mills: int | None = None,
    step_s: float = 10.0,
    days: float = 7.0,
    anomaly: bool = False,
    plant: bool = False,
    plant_fit_h: float = 24.0,
    plant_conditions: bool = False,
    plant_held_out: bool = False,
    while_running: bool = False,
    log: bool = True,
) -> dict[str, Any]:
    options = WeekOptions(
        scale=scale, mills=mills, step_s=step_s, days=days, anomaly=anomaly, plant=plant,
        plant_fit_h=plant_fit_h, plant_conditions=plant_conditions,
        plant_held_out=plant_held_out, while_running=while_running,
    )  # fmt: skip
    say(log, f"a week of the district: scale {scale}, mills {mills or 'all'}, step {step_s} s")
    result = run_week(options, progress=lambda line: say(log, line))
    if log:
        print(table(result), file=sys.stderr)
    return summary(result, options)
