"""An inspection plan names only rules of its own enterprise (or the profile defaults).

Another enterprise's custom rule must be refused exactly as a rule that does not exist, when a
plan is created, when it is replaced, and when a plan kept from before that check runs, so that
neither its limits nor its existence can be read through a plan.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from fastapi import FastAPI

from shugu.api.services import Services
from shugu.domain.errors import ValidationError
from tests.api.conftest import World

Json = dict[str, Any]

SECRET_LIMIT = 31.25
SECRET_LABEL = "甲方专有规则"


def _services(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


@pytest.fixture
def foreign_rule(world: World) -> str:
    """Enterprise A's own rule on its loom, with a limit nobody outside A may learn."""
    r = world.client.post(
        f"/api/enterprises/{world.ent_a}/rules",
        json={
            "rule": {
                "key": "private_limit",
                "kind": "threshold",
                "metric": "speed_rpm",
                "above": SECRET_LIMIT,
                "unit": "rpm",
                "label_zh": SECRET_LABEL,
                "label_en": "A's private rule",
            },
            "scope": {"device_id": world.device_a},
        },
        headers=world.as_("admin_a"),
    )
    assert r.status_code == 201, r.text
    _services(world).monitor.configure()
    ref: str = r.json()["ref"]
    return ref


def _unknown_like(ref: str) -> str:
    """A rule reference of the same shape that names nothing."""
    return f"custom.{int(ref.removeprefix('custom.')) + 100_000}"


def _plan(rule: str) -> Json:
    return {
        "name": "空调巡检",
        "times": [],
        "checks": [
            {
                "label_zh": "送风温度",
                "label_en": "Supply air",
                "devices": {"profile": "crah"},
                "rule": rule,
            }
        ],
    }


def _error(r: Any, ref: str) -> Json:
    assert r.status_code == 422, r.text
    error: Json = r.json()["error"]
    assert SECRET_LABEL not in r.text and f"{SECRET_LIMIT:g}" not in r.text
    return {**error, "message": error["message"].replace(ref, "REF")}


def test_creating_a_plan_with_another_enterprise_s_rule_looks_like_an_unknown_rule(
    world: World, foreign_rule: str
) -> None:
    url = f"/api/enterprises/{world.ent_b}/inspection-plans"
    admin_b = world.as_("admin_b")
    foreign = _error(
        world.client.post(url, json=_plan(foreign_rule), headers=admin_b), foreign_rule
    )
    missing = _unknown_like(foreign_rule)
    unknown = _error(world.client.post(url, json=_plan(missing), headers=admin_b), missing)
    assert foreign == unknown
    assert foreign["code"] == "plan_invalid" and foreign["field"] == "checks.0.rule"
    # The owner names its own rule freely.
    own = world.client.post(
        f"/api/enterprises/{world.ent_a}/inspection-plans",
        json=_plan(foreign_rule),
        headers=world.as_("admin_a"),
    )
    assert own.status_code == 201, own.text


def test_replacing_a_plan_with_another_enterprise_s_rule_looks_like_an_unknown_rule(
    world: World, foreign_rule: str
) -> None:
    admin_b = world.as_("admin_b")
    r = world.client.post(
        f"/api/enterprises/{world.ent_b}/inspection-plans",
        json=_plan("crah.chw_supply_high"),
        headers=admin_b,
    )
    assert r.status_code == 201, r.text
    url = f"/api/inspection-plans/{r.json()['id']}"
    foreign = _error(world.client.put(url, json=_plan(foreign_rule), headers=admin_b), foreign_rule)
    missing = _unknown_like(foreign_rule)
    assert foreign == _error(world.client.put(url, json=_plan(missing), headers=admin_b), missing)
    kept = world.client.get(f"/api/enterprises/{world.ent_b}/inspection-plans", headers=admin_b)
    assert kept.json()[0]["plan"]["checks"][0]["rule"] == "crah.chw_supply_high"


def test_a_plan_kept_before_the_check_does_not_show_another_enterprise_s_rule(
    world: World, foreign_rule: str
) -> None:
    """A plan stored without the check (an older server) is refused when it runs."""
    missing = _unknown_like(foreign_rule)
    foreign_plan = world.registry.put_config("plan", world.ent_b, _plan(foreign_rule)).id
    missing_plan = world.registry.put_config("plan", world.ent_b, _plan(missing)).id
    admin_b = world.as_("admin_b")
    foreign = world.client.post(f"/api/inspection-plans/{foreign_plan}/run", headers=admin_b)
    unknown = world.client.post(f"/api/inspection-plans/{missing_plan}/run", headers=admin_b)
    assert _error(foreign, foreign_rule) == _error(unknown, missing)
    assert _error(foreign, foreign_rule)["code"] == "check_rule_unknown"
    # The schedule refuses it the same way: no round is kept with the rule's limits.
    with pytest.raises(ValidationError, match="does not apply"):
        _services(world).rounds.run(foreign_plan, trigger="schedule", slot="2026-12-05 08:00")
    assert world.registry.list_rounds([world.ent_b]) == []
