"""The demo's bureau data on a small district: every area gets its records through its own
service, and seeding again adds nothing."""

from __future__ import annotations

import logging
from typing import cast

import pytest
from fastapi import FastAPI

from shugu.api.services import Services
from shugu.region.demo_seed import seed_bureau
from shugu.sim.district import generated_uscc
from tests.api.conftest import World

MILLS = 5


def test_the_demo_seed_fills_every_area_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    services = cast(Services, cast(FastAPI, world.client.app).state.services)
    registry = world.registry
    for n in range(1, MILLS + 1):
        uscc = generated_uscc("350182", 900 + n)
        registry.create_enterprise(world.park_id, f"长乐0{n}号织造有限公司", uscc, "0502")
    with caplog.at_level(logging.ERROR):
        first = seed_bureau(services.region)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    steps = first.steps
    assert steps["yearly figures"] == (MILLS + 2) * 3  # every enterprise, three years
    assert steps["certifications"] >= 3
    assert steps["indicator values"] > 20
    assert steps["monthly reports"] > 0
    # The mill's, the data centre's and the park's own; the other owners are not in this district.
    assert steps["projects"] == 3
    assert steps["appeals"] == 5  # open, assigned, answered, and two confirmed with a rating
    appeals = registry.list_appeals()
    assert sorted(a.status for a in appeals).count("answered") == 1
    assert len([a for a in appeals if a.status not in ("open", "assigned", "answered")]) == 2
    assert steps["policy batches"] == 1
    assert steps["targets"] == 3  # this year's platform targets at the district's own scale
    files = {f.name: f for f in registry.enterprise_files()}
    assert files["长乐01号织造有限公司"].key_enterprise
    assert files["长乐01号织造有限公司"].industry_code == "1751"
    reports = registry.list_monthly_reports()
    states = {r.state for r in reports}
    assert {"accepted", "park_accepted", "submitted"} <= states
    assert registry.project_by_code("CL-2025-002") is not None
    again = seed_bureau(services.region)
    assert not any(again.steps.values()), again.steps
