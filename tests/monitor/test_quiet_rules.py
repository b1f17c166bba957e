"""The default rules on a simulated week of the demo district (scaled down): quiet on healthy
machines, and each injected fault raises its intended alarm on the faulty device in time.

The week runs through the real DuckDB store and the real monitor (``bench/alarms_week.py``);
``shugu bench alarms`` runs the same at full scale.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.alarms_week import FAULT_PLAN, INTENDED_RULE, WeekOptions, WeekResult, run_week

from shugu.monitor.rules import default_rules
from shugu.store.duckdb_store import DuckDBTelemetryStore

#: Alarms per device-week a default rule may raise on healthy devices (issue 15).
HEALTHY_LIMIT = 0.1
#: Two mills of ten looms, two towers a site, two air handlers and forty racks; 30 s steps.
OPTIONS = WeekOptions(scale=0.2, mills=2, step_s=30.0, days=7.0)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> WeekResult:
    folder: Path = tmp_path_factory.mktemp("week")
    return run_week(OPTIONS, folder)


def test_every_fault_kind_names_an_intended_default_rule() -> None:
    rules = default_rules()
    assert {f.kind for f in FAULT_PLAN} == set(INTENDED_RULE)
    assert set(INTENDED_RULE.values()) <= set(rules)


def test_default_rules_stay_quiet_on_healthy_devices(week: WeekResult) -> None:
    assert set(week.healthy_alarms) == set(default_rules())
    noisy = {
        ref: (count, round(week.device_weeks[ref], 2))
        for ref, count in week.healthy_alarms.items()
        if count > HEALTHY_LIMIT * week.device_weeks[ref]
    }
    assert not noisy, f"alarms on healthy devices (count, device-weeks): {noisy}"
    # Every profile was watched for a good part of the week.
    assert all(weeks >= 1.0 for weeks in week.device_weeks.values())


def test_each_fault_raises_its_intended_alarm_in_time(week: WeekResult) -> None:
    late = {
        o.fault.kind: (o.intended_rule, o.delay_h, o.within_h) for o in week.faults if not o.in_time
    }
    assert not late, f"faults not found in time (rule, delay h, limit h): {late}"


def test_each_fault_is_noticed(week: WeekResult) -> None:
    for outcome in week.faults:
        assert outcome.alarms >= 1, outcome.fault.kind
        assert 1 <= outcome.notices <= outcome.alarms, outcome.fault.kind


def test_the_weeks_racks_report_the_crahs_that_cool_them(tmp_path: Path) -> None:
    """As they do in the demo: what groups a CRAH trip's alarms into one incident."""
    run_week(WeekOptions(scale=0.2, mills=2, step_s=60.0, days=0.5, faults=()), tmp_path)
    store = DuckDBTelemetryStore(tmp_path / "telemetry.duckdb")
    try:
        links = {a.device: json.loads(a.value_json) for a in store.attributes_named(["cooled_by"])}
    finally:
        store.close()
    assert len(links) == 40  # every rack of the hall at scale 0.2
    assert {name for names in links.values() for name in names} == {"精密空调 01", "精密空调 02"}
    assert {len(names) for names in links.values()} == {1, 2}
