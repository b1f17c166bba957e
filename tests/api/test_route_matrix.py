"""Every API route, every role, against enterprise B's objects: who gets what.

The table must name every route of the OpenAPI schema; a new route without a row fails
``test_every_route_has_a_row``. Rows run against a fresh world whose enterprise B has granted
the bureau no consent, so the bureau's machine-level reads of B must be refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from shugu.analytics.baseline import DAY_MS, fit_baseline
from shugu.api.services import Services
from shugu.domain.timeutil import parse_instant
from shugu.store.registry.capacity import NewCapacityRequest
from tests.api.conftest import PASSWORD, World
from tests.api.matrix_incidents import INCIDENT_ROWS
from tests.api.matrix_region import REGION_ROWS
from tests.api.matrix_rows import (
    AGGREGATES,
    ANY_USER,
    B_ACCOUNTS,
    B_CONFIGURE_ALARMS,
    B_CONSENT,
    B_MACHINE_READ,
    B_MANAGE,
    B_MANAGE_VALUES,
    B_REGISTRY_READ,
    B_VALUES,
    HIDDEN,
    OK,
    PARK_AGGREGATES,
    PARK_OFFICIALS,
    PLATFORM_WRITE,
    ROLES,
    Row,
)


def _b_token(w: World) -> dict[str, int]:
    return {"token": w.registry.issue_api_token(w.user_ids["admin_b"], "b").record.id}


def _b_consent(w: World) -> dict[str, int]:
    consent = w.registry.grant_consent(w.ent_b, w.user_ids["admin_b"], "for the test")
    return {"consent": consent.id}


def _b_account(w: World) -> dict[str, int]:
    """A viewer of B to change (the same one for every role: nobody in the matrix may)."""
    found = w.registry.user_by_username("b-spare")
    user = found or w.registry.create_user(
        "b-spare", "a long password", "enterprise_viewer", w.ent_b
    )
    return {"user": user.id}


def _b_rule(w: World) -> dict[str, int]:
    body = {
        "rule": {
            "key": "supply_warm",
            "kind": "threshold",
            "metric": "supply_air_c",
            "above": 25,
            "label_zh": "送风偏热",
            "label_en": "Supply air warm",
        },
        "scope": {"device_id": w.device_b},
    }
    return {"rule": w.registry.put_config("rule", w.ent_b, body).id}


def _b_alarm(w: World) -> dict[str, int]:
    alarm = w.registry.open_alarm(
        "crah.fan_stopped", w.device_b, w.ent_b, "critical", datetime.now(UTC), 0.0, {}
    )
    assert alarm is not None
    return {"alarm": alarm.id}


PLAN = {
    "name": "机房巡检",
    "times": ["08:00", "20:00"],
    "checks": [
        {
            "label_zh": "送风温度",
            "label_en": "Supply air",
            "devices": {"profile": "crah"},
            "metric": "supply_air_c",
            "below": 14,
            "above": 24,
        }
    ],
}


CALENDAR_BODY = {
    "effective_from": "2026-12-01",
    "shifts": [{"name": "白班", "start": "08:00", "end": "20:00"}],
}


def _b_plan(w: World) -> dict[str, int]:
    return {"plan": w.registry.put_config("plan", w.ent_b, PLAN).id}


def _b_round(w: World) -> dict[str, int]:
    plan = _b_plan(w)["plan"]
    row = w.registry.add_round(
        plan,
        w.ent_b,
        datetime.now(UTC),
        slot=None,
        trigger="manual",
        by="admin_b",
        failed=0,
        results=[],
    )
    assert row is not None
    return {"round": row.id}


def _b_override(w: World) -> dict[str, int]:
    w.registry.put_config(
        "override",
        w.ent_b,
        {"device_id": w.device_b, "rule_ref": "crah.chw_supply_high", "params": {"above": 13}},
        ref=f"{w.device_b}:crah.chw_supply_high",
    )
    return {}


RULE_BODY = {
    "rule": {
        "key": "return_hot",
        "kind": "threshold",
        "metric": "return_air_c",
        "above": 38,
        "label_zh": "回风过热",
        "label_en": "Return air hot",
    },
    "scope": {"profile": "crah"},
}

#: A plant model of B's air handlers fitted from a past instant: what a back-test tries.
PLANT_BODY = {
    "rule": {
        "key": "air_model",
        "kind": "plant",
        "metrics": ["supply_air_c", "return_air_c"],
        "fit_points": 50,
        "fit_from": "2026-01-01T00:00:00",
        "label_zh": "送回风模型",
        "label_en": "Air model",
    },
    "scope": {"profile": "crah"},
}


#: B's shared-capacity business (requests, matches, publishing): B's own people; consent lets
#: others read machine values, not trade for B.
B_CAPACITY = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}


def _capacity_request(w: World) -> NewCapacityRequest:
    deadline = datetime.now(UTC).date() + timedelta(days=10)
    return NewCapacityRequest("府绸", "air_jet", 180.0, 30.0, 500.0, deadline)


def _b_capacity_request(w: World) -> dict[str, int]:
    return {"request": w.registry.add_capacity_request(w.ent_b, _capacity_request(w), "b").id}


def _b_capacity_match(w: World) -> dict[str, int]:
    """B asks enterprise C (a third mill, not A) for fabric."""
    c = w.registry.create_enterprise(w.park_id, "丙织造", "91350100M0001TGQXM", "0502").id
    request = _b_capacity_request(w)["request"]
    match = w.registry.add_capacity_match(request, c, {"score": 50}, "admin_b")
    return {"request": request, "match": match.id, "c": c}


def _b_accepted_match(w: World) -> dict[str, int]:
    ids = _b_capacity_match(w)
    w.registry.decide_capacity_match(ids["match"], True, "c")
    return ids


#: Fitting or deleting B's energy baseline: B's administrators only (consent lets others read).
B_BASELINE = HIDDEN | {"bureau": 403, "operator": 403, "park_official": 403}
BASELINE_BODY = {"reference_start": "2026-10-01", "reference_end": "2026-10-22"}


def _b_baseline(w: World) -> dict[str, int]:
    """A baseline kept for B as fitted on 21 days. B's data hall makes no output the analytics
    measure, so the baseline relates energy to none (an empty output fact), as B's days do."""
    days = parse_instant("2026-10-01", "day") + DAY_MS * np.arange(21)
    output = 100.0 + 10.0 * (np.arange(21) % 7)
    model = fit_baseline(days, 50 + 2 * output + np.arange(21) % 3, output, use_weather=False)
    w.registry.save_energy_baseline(
        w.ent_b,
        reference_start=datetime(2026, 9, 30, 16, tzinfo=UTC),
        reference_end=datetime(2026, 10, 21, 16, tzinfo=UTC),
        output_fact="",
        output_unit="",
        use_weather=False,
        model=model.to_dict(),
        fitted_by="admin_b",
    )
    return {}


CORE_ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/api/auth/me"): Row(lambda w: "/api/auth/me", ANY_USER),
    ("GET", "/api/auth/tokens"): Row(lambda w: "/api/auth/tokens", ANY_USER),
    ("POST", "/api/auth/tokens"): Row(
        lambda w: "/api/auth/tokens", ANY_USER, lambda w: {"name": "t"}
    ),
    ("DELETE", "/api/auth/tokens/{token_id}"): Row(
        lambda w: "/api/auth/tokens/{token}",
        HIDDEN | {"bureau": 404, "park_official": 404},
        setup=_b_token,
    ),
    ("POST", "/api/auth/login"): Row(lambda w: "/api/auth/login", {}, not_user_scoped=True),
    # Each role changes its own password (every world token of it is revoked after its turn).
    ("POST", "/api/auth/password"): Row(
        lambda w: "/api/auth/password",
        ANY_USER,
        lambda w: {"current_password": PASSWORD, "new_password": "a new long password"},
    ),
    # Each role signs out the token it calls with; the world's tokens are not used again.
    ("POST", "/api/auth/logout"): Row(lambda w: "/api/auth/logout", ANY_USER),
    ("GET", "/api/regions"): Row(lambda w: "/api/regions", ANY_USER),
    ("POST", "/api/regions"): Row(
        lambda w: "/api/regions", PLATFORM_WRITE, lambda w: {"code": "210200", "name": "大连市"}
    ),
    ("GET", "/api/parks"): Row(lambda w: "/api/parks", ANY_USER),
    ("POST", "/api/parks"): Row(
        lambda w: "/api/parks", PLATFORM_WRITE, lambda w: {"region_id": w.region_id, "name": "新园"}
    ),
    ("GET", "/api/parks/{park_id}"): Row(lambda w: f"/api/parks/{w.park_id}", ANY_USER),
    ("GET", "/api/enterprises"): Row(lambda w: "/api/enterprises", ANY_USER),
    ("POST", "/api/enterprises"): Row(
        lambda w: "/api/enterprises",
        PLATFORM_WRITE,
        lambda w: {"park_id": w.park_id, "name": "丙", "uscc": "91350100M0001TGQXM"},
    ),
    ("GET", "/api/enterprises/{enterprise_id}"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}", B_REGISTRY_READ
    ),
    ("GET", "/api/enterprises/{enterprise_id}/assets"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/assets", B_MACHINE_READ
    ),
    ("POST", "/api/enterprises/{enterprise_id}/assets"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/assets",
        B_MANAGE,
        lambda w: {"level": "site", "name": "新厂区"},
    ),
    ("GET", "/api/enterprises/{enterprise_id}/devices"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/devices", B_MACHINE_READ
    ),
    ("POST", "/api/enterprises/{enterprise_id}/devices"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/devices",
        B_MANAGE,
        lambda w: {"name": "new", "profile": "generic"},
    ),
    ("GET", "/api/devices/{device_id}"): Row(
        lambda w: f"/api/devices/{w.device_b}", B_MACHINE_READ
    ),
    ("POST", "/api/devices/{device_id}/token"): Row(
        lambda w: f"/api/devices/{w.device_b}/token", B_MANAGE, lambda w: {}
    ),
    ("DELETE", "/api/devices/{device_id}"): Row(lambda w: f"/api/devices/{w.device_b}", B_MANAGE),
    ("GET", "/api/enterprises/{enterprise_id}/consents"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/consents", B_REGISTRY_READ
    ),
    ("POST", "/api/enterprises/{enterprise_id}/consents"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/consents", B_CONSENT, lambda w: {"note": "x"}
    ),
    ("DELETE", "/api/consents/{consent_id}"): Row(
        lambda w: "/api/consents/{consent}", B_CONSENT, setup=_b_consent
    ),
    ("POST", "/api/users"): Row(
        lambda w: "/api/users",
        B_ACCOUNTS,
        lambda w: {
            "username": "b-new",
            "password": "a long password",
            "role": "enterprise_viewer",
            "enterprise_id": w.ent_b,
        },
    ),
    ("PATCH", "/api/users/{user_id}"): Row(
        lambda w: "/api/users/{user}",
        B_ACCOUNTS,
        lambda w: {"role": "enterprise_admin", "disabled": True},
        setup=_b_account,
    ),
    ("GET", "/api/users"): Row(
        lambda w: "/api/users", {"anonymous": 401, "viewer_a": 403, "bureau": 403} | PARK_OFFICIALS
    ),
    ("GET", "/api/profiles"): Row(lambda w: "/api/profiles", ANY_USER),
    ("GET", "/api/profiles/{name}"): Row(lambda w: "/api/profiles/loom", ANY_USER),
    ("GET", "/api/summary"): Row(lambda w: "/api/summary", PARK_AGGREGATES),
    ("POST", "/api/v1/{token}/telemetry"): Row(
        lambda w: f"/api/v1/{w.device_token_b}/telemetry", {}, not_user_scoped=True
    ),
    ("POST", "/api/v1/{token}/attributes"): Row(
        lambda w: f"/api/v1/{w.device_token_b}/attributes", {}, not_user_scoped=True
    ),
    ("GET", "/api/v1/{token}/attributes"): Row(
        lambda w: f"/api/v1/{w.device_token_b}/attributes", {}, not_user_scoped=True
    ),
    ("GET", "/api/v1/{token}/attributes/updates"): Row(
        lambda w: f"/api/v1/{w.device_token_b}/attributes/updates", {}, not_user_scoped=True
    ),
    ("GET", "/api/v1/{token}/rpc"): Row(
        lambda w: f"/api/v1/{w.device_token_b}/rpc", {}, not_user_scoped=True
    ),
    ("POST", "/api/v1/{token}/rpc"): Row(
        lambda w: f"/api/v1/{w.device_token_b}/rpc", {}, not_user_scoped=True
    ),
    ("POST", "/api/v1/{token}/rpc/{request_id}"): Row(
        lambda w: f"/api/v1/{w.device_token_b}/rpc/1", {}, not_user_scoped=True
    ),
    ("POST", "/api/v1/batch"): Row(
        lambda w: f"/api/v1/batch?enterprise={w.ent_b}",
        PLATFORM_WRITE,
        lambda w: {"crah-01": {"supply_air_c": 18.0}},
    ),
    ("GET", "/api/devices/{device_id}/latest"): Row(
        lambda w: f"/api/devices/{w.device_b}/latest", B_VALUES
    ),
    ("GET", "/api/enterprises/{enterprise_id}/latest"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/latest", B_VALUES
    ),
    ("GET", "/api/devices/{device_id}/telemetry"): Row(
        lambda w: f"/api/devices/{w.device_b}/telemetry", B_VALUES
    ),
    ("GET", "/api/enterprises/{enterprise_id}/telemetry"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/telemetry", B_VALUES
    ),
    ("POST", "/api/devices/{device_id}/rpc"): Row(
        lambda w: f"/api/devices/{w.device_b}/rpc",
        # Commands act on B's machines: the operator needs B's consent (see below: then 409
        # device_offline, the device being offline).
        B_MANAGE_VALUES,
        lambda w: {"method": "ping", "timeout_ms": 100},
    ),
    ("GET", "/api/devices/{device_id}/attributes"): Row(
        lambda w: f"/api/devices/{w.device_b}/attributes", B_VALUES
    ),
    ("POST", "/api/devices/{device_id}/attributes/shared"): Row(
        lambda w: f"/api/devices/{w.device_b}/attributes/shared",
        B_MANAGE_VALUES,
        lambda w: {"report_period_s": 30},
    ),
    ("GET", "/api/rejects"): Row(lambda w: f"/api/rejects?enterprise={w.ent_b}", B_MANAGE_VALUES),
    ("GET", "/api/health"): Row(lambda w: "/api/health", {}, not_user_scoped=True),
    # -- monitor: rules, alarms, inspection rounds, notifications
    ("GET", "/api/enterprises/{enterprise_id}/rules"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/rules", B_MACHINE_READ
    ),
    ("POST", "/api/enterprises/{enterprise_id}/rules"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/rules", B_CONFIGURE_ALARMS, lambda w: RULE_BODY
    ),
    ("PUT", "/api/rules/{rule_id}"): Row(
        lambda w: "/api/rules/{rule}", B_CONFIGURE_ALARMS, lambda w: RULE_BODY, setup=_b_rule
    ),
    ("POST", "/api/enterprises/{enterprise_id}/rules/backtest"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/rules/backtest",
        B_CONFIGURE_ALARMS,
        lambda w: PLANT_BODY,
    ),
    ("POST", "/api/rules/{rule_id}/backtest"): Row(
        lambda w: "/api/rules/{rule}/backtest",
        B_CONFIGURE_ALARMS,
        lambda w: PLANT_BODY,
        setup=_b_rule,
    ),
    ("DELETE", "/api/rules/{rule_id}"): Row(
        lambda w: "/api/rules/{rule}", B_CONFIGURE_ALARMS, setup=_b_rule
    ),
    ("GET", "/api/devices/{device_id}/rules"): Row(
        lambda w: f"/api/devices/{w.device_b}/rules", B_MACHINE_READ
    ),
    ("PUT", "/api/devices/{device_id}/rules/{rule_ref}/override"): Row(
        lambda w: f"/api/devices/{w.device_b}/rules/crah.chw_supply_high/override",
        B_CONFIGURE_ALARMS,
        lambda w: {"above": 14},
    ),
    ("DELETE", "/api/devices/{device_id}/rules/{rule_ref}/override"): Row(
        lambda w: f"/api/devices/{w.device_b}/rules/crah.chw_supply_high/override",
        B_CONFIGURE_ALARMS,
        setup=_b_override,
    ),
    ("GET", "/api/alarms"): Row(lambda w: f"/api/alarms?enterprise={w.ent_b}", B_VALUES),
    ("GET", "/api/alarms/{alarm_id}"): Row(
        lambda w: "/api/alarms/{alarm}", B_VALUES, setup=_b_alarm
    ),
    ("POST", "/api/alarms/{alarm_id}/ack"): Row(
        lambda w: "/api/alarms/{alarm}/ack",
        B_MANAGE_VALUES,
        lambda w: {"note": "看到了"},
        setup=_b_alarm,
    ),
    ("POST", "/api/alarms/{alarm_id}/clear"): Row(
        lambda w: "/api/alarms/{alarm}/clear", B_MANAGE_VALUES, lambda w: {}, setup=_b_alarm
    ),
    ("POST", "/api/alarms/{alarm_id}/shelve"): Row(
        lambda w: "/api/alarms/{alarm}/shelve",
        B_MANAGE_VALUES,
        lambda w: {"minutes": 30},
        setup=_b_alarm,
    ),
    ("GET", "/api/alarms-summary"): Row(lambda w: "/api/alarms-summary", ANY_USER),
    ("GET", "/api/enterprises/{enterprise_id}/alarm-tree"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/alarm-tree", B_VALUES
    ),
    ("GET", "/api/enterprises/{enterprise_id}/inspection-plans"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/inspection-plans", B_MACHINE_READ
    ),
    ("POST", "/api/enterprises/{enterprise_id}/inspection-plans"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/inspection-plans", B_MANAGE, lambda w: PLAN
    ),
    ("PUT", "/api/inspection-plans/{plan_id}"): Row(
        lambda w: "/api/inspection-plans/{plan}", B_MANAGE, lambda w: PLAN, setup=_b_plan
    ),
    ("DELETE", "/api/inspection-plans/{plan_id}"): Row(
        lambda w: "/api/inspection-plans/{plan}", B_MANAGE, setup=_b_plan
    ),
    ("POST", "/api/inspection-plans/{plan_id}/run"): Row(
        lambda w: "/api/inspection-plans/{plan}/run", B_VALUES, setup=_b_plan
    ),
    ("GET", "/api/enterprises/{enterprise_id}/inspection-rounds"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/inspection-rounds", B_VALUES
    ),
    ("GET", "/api/inspection-rounds/{round_id}"): Row(
        lambda w: "/api/inspection-rounds/{round}", B_VALUES, setup=_b_round
    ),
    ("GET", "/api/inspection-rounds/{round_id}/report"): Row(
        lambda w: "/api/inspection-rounds/{round}/report?format=xlsx",
        B_VALUES,
        setup=_b_round,
    ),
    ("GET", "/api/enterprises/{enterprise_id}/inspection-report"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/inspection-report?date=2026-11-22",
        B_VALUES,
    ),
    ("GET", "/api/enterprises/{enterprise_id}/notify"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/notify", B_MANAGE
    ),
    ("PUT", "/api/enterprises/{enterprise_id}/notify"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/notify",
        B_CONFIGURE_ALARMS,
        lambda w: {"channels": [], "policy": None},
    ),
    ("POST", "/api/enterprises/{enterprise_id}/notify/test"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/notify/test",
        B_CONFIGURE_ALARMS,
        lambda w: {"channel": "ops"},
    ),
    ("GET", "/api/monitor/status"): Row(lambda w: "/api/monitor/status", PLATFORM_WRITE),
    # -- analytics: shift calendars (enterprise-level; changed as rules are)
    ("GET", "/api/enterprises/{enterprise_id}/calendar"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/calendar", B_REGISTRY_READ
    ),
    ("PUT", "/api/enterprises/{enterprise_id}/calendar"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/calendar",
        B_CONFIGURE_ALARMS,
        lambda w: CALENDAR_BODY,
    ),
    # -- shared capacity
    ("GET", "/api/enterprises/{enterprise_id}/capacity"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/capacity", B_VALUES
    ),
    ("PUT", "/api/enterprises/{enterprise_id}/capacity/publication"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/capacity/publication",
        B_CAPACITY,
        lambda w: {"days": 7, "hold_back": 0.2},
    ),
    ("DELETE", "/api/enterprises/{enterprise_id}/capacity/publication"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/capacity/publication", B_CAPACITY
    ),
    ("GET", "/api/capacity/board"): Row(lambda w: "/api/capacity/board", ANY_USER),
    ("GET", "/api/capacity/stats"): Row(lambda w: "/api/capacity/stats", AGGREGATES),
    ("GET", "/api/enterprises/{enterprise_id}/capacity-requests"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/capacity-requests", B_CAPACITY
    ),
    ("POST", "/api/enterprises/{enterprise_id}/capacity-requests"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/capacity-requests",
        B_CAPACITY,
        lambda w: {
            "fabric": "府绸",
            "loom_type": "air_jet",
            "min_width_cm": 180,
            "picks_per_cm": 30,
            "metres": 500,
            "deadline": _capacity_request(w).deadline.isoformat(),
        },
    ),
    ("GET", "/api/capacity-requests/{request_id}"): Row(
        lambda w: "/api/capacity-requests/{request}", B_CAPACITY, setup=_b_capacity_request
    ),
    ("POST", "/api/capacity-requests/{request_id}/close"): Row(
        lambda w: "/api/capacity-requests/{request}/close",
        B_CAPACITY,
        setup=_b_capacity_request,
    ),
    ("POST", "/api/capacity-requests/{request_id}/matches"): Row(
        lambda w: "/api/capacity-requests/{request}/matches",
        B_CAPACITY,
        lambda w: {"enterprise_id": w.ent_a, "note": "x"},
        setup=_b_capacity_request,
    ),
    ("GET", "/api/enterprises/{enterprise_id}/capacity-matches"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/capacity-matches", B_CAPACITY
    ),
    ("GET", "/api/capacity-matches/{match_id}"): Row(
        lambda w: "/api/capacity-matches/{match}", B_CAPACITY, setup=_b_capacity_match
    ),
    ("POST", "/api/capacity-matches/{match_id}/accept"): Row(
        lambda w: "/api/capacity-matches/{match}/accept", B_CAPACITY, setup=_b_capacity_match
    ),
    ("POST", "/api/capacity-matches/{match_id}/decline"): Row(
        lambda w: "/api/capacity-matches/{match}/decline", B_CAPACITY, setup=_b_capacity_match
    ),
    ("POST", "/api/capacity-matches/{match_id}/outcome"): Row(
        lambda w: "/api/capacity-matches/{match}/outcome",
        B_CAPACITY,
        lambda w: {"delivered_m": 480, "on_time": True},
        setup=_b_accepted_match,
    ),
    # -- analytics: KPI tables and energy. The bureau and the operator see enterprise-level and
    # coarser figures of every enterprise, machine and line figures only with consent.
    ("GET", "/api/kpis/profiles"): Row(lambda w: "/api/kpis/profiles", ANY_USER),
    ("GET", "/api/kpis"): Row(
        lambda w: f"/api/kpis?profile=crah&level=device&enterprise={w.ent_b}", B_VALUES
    ),
    ("GET", "/api/kpis/league"): Row(
        lambda w: f"/api/kpis/league?profile=crah&kpi=supply_air_c&enterprise={w.ent_b}",
        B_REGISTRY_READ,
    ),
    ("GET", "/api/kpis/compare"): Row(
        lambda w: f"/api/kpis/compare?profile=crah&level=line&enterprise={w.ent_b}", B_VALUES
    ),
    ("GET", "/api/energy"): Row(
        lambda w: f"/api/energy?level=device&device={w.device_b}", B_VALUES
    ),
    ("GET", "/api/enterprises/{enterprise_id}/energy-baseline"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/energy-baseline",
        B_REGISTRY_READ,
        setup=_b_baseline,
    ),
    ("PUT", "/api/enterprises/{enterprise_id}/energy-baseline"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/energy-baseline",
        B_BASELINE,
        lambda w: BASELINE_BODY,
    ),
    ("DELETE", "/api/enterprises/{enterprise_id}/energy-baseline"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/energy-baseline", B_BASELINE, setup=_b_baseline
    ),
    ("GET", "/api/enterprises/{enterprise_id}/energy-savings"): Row(
        lambda w: f"/api/enterprises/{w.ent_b}/energy-savings?start=2026-11-01&end=2026-12-01",
        B_REGISTRY_READ,
        setup=_b_baseline,
    ),
}


#: Every row: the core's, then each area of the bureau's system from its own module.
ROWS: dict[tuple[str, str], Row] = {**CORE_ROWS, **INCIDENT_ROWS, **REGION_ROWS}


def test_every_route_has_a_row(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    routes = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}
    assert routes - set(ROWS) == set(), "add these routes to the matrix"
    assert set(ROWS) - routes == set(), "these rows name routes that no longer exist"


USER_SCOPED = sorted(key for key, row in ROWS.items() if not row.not_user_scoped)


@pytest.mark.parametrize(("method", "path"), USER_SCOPED, ids=lambda v: str(v))
def test_route_against_every_role(world: World, method: str, path: str) -> None:
    row = ROWS[(method, path)]
    ids = row.setup(world)
    url = row.url(world).format(**ids)
    got: dict[str, int] = {}
    for role in ROLES:
        headers = {} if role == "anonymous" else world.as_(role)
        body = row.body(world) if row.body else None
        answer = world.client.request(method, url, headers=headers, json=body)
        got[role] = answer.status_code
    wanted = {role: row.expect.get(role) for role in ROLES}
    for role in ROLES:
        if wanted[role] is None:
            assert got[role] in OK, (role, got)
        else:
            assert got[role] == wanted[role], (role, got)


def test_a_plan_cannot_name_another_enterprise_s_rule(world: World) -> None:
    """A's admin names B's custom rule in A's own plan: refused as a rule that does not exist,
    on create and on replace, so the plan neither shows the rule nor tells that it exists."""
    rule = _b_rule(world)["rule"]
    services = cast(Services, cast(FastAPI, world.client.app).state.services)
    services.monitor.configure()
    admin_a = world.as_("admin_a")
    plans = f"/api/enterprises/{world.ent_a}/inspection-plans"

    def naming(ref: str) -> dict[str, object]:
        check = {"label_zh": "送风", "label_en": "Supply", "devices": {"profile": "crah"}}
        return {**PLAN, "checks": [{**check, "rule": ref}]}

    def refusal(answer: httpx.Response, ref: str) -> dict[str, str]:
        assert answer.status_code == 422, answer.text
        error: dict[str, str] = answer.json()["error"]
        return {**error, "message": error["message"].replace(ref, "REF")}

    theirs, nobody = f"custom.{rule}", f"custom.{rule + 1000}"
    foreign = refusal(world.client.post(plans, json=naming(theirs), headers=admin_a), theirs)
    assert foreign == refusal(
        world.client.post(plans, json=naming(nobody), headers=admin_a), nobody
    )
    own = world.client.post(plans, json=PLAN, headers=admin_a)
    assert own.status_code == 201, own.text
    url = f"/api/inspection-plans/{own.json()['id']}"
    assert refusal(world.client.put(url, json=naming(theirs), headers=admin_a), theirs) == foreign


#: What the operator gets, once B consents, on rows that refuse it for want of consent.
OPERATOR_WITH_CONSENT = {
    ("POST", "/api/devices/{device_id}/rpc"): 409,
    # B has no channel "ops" to test.
    ("POST", "/api/enterprises/{enterprise_id}/notify/test"): 404,
}
OPERATOR_VALUE_ROWS = sorted(
    key
    for key, row in ROWS.items()
    if not row.not_user_scoped
    and any(row.expect is e for e in (B_VALUES, B_MANAGE_VALUES, B_CONFIGURE_ALARMS))
)


@pytest.mark.parametrize(("method", "path"), OPERATOR_VALUE_ROWS, ids=lambda v: str(v))
def test_the_operator_reads_machine_values_only_with_consent(
    world: World, method: str, path: str
) -> None:
    row = ROWS[(method, path)]
    url = row.url(world).format(**row.setup(world))

    def ask() -> tuple[int, str | None]:
        body = row.body(world) if row.body else None
        answer = world.client.request(method, url, headers=world.as_("operator"), json=body)
        error = answer.json().get("error") if answer.status_code >= 400 else None
        return answer.status_code, error["code"] if isinstance(error, dict) else None

    assert ask() == (403, "consent_required")
    # The bureau's consent is not the operator's.
    world.registry.grant_consent(world.ent_b, world.user_ids["admin_b"], "月度分析", "bureau")
    assert ask() == (403, "consent_required")
    granted = world.client.post(
        f"/api/enterprises/{world.ent_b}/consents",
        json={"note": "故障排查 #42", "grantee": "operator"},
        headers=world.as_("admin_b"),
    )
    assert granted.status_code == 201 and granted.json()["grantee"] == "operator"
    status, _ = ask()
    wanted = OPERATOR_WITH_CONSENT.get((method, path))
    assert status == wanted if wanted is not None else status in OK


def test_the_operator_creates_only_an_enterprise_s_first_administrator(world: World) -> None:
    """The operator hands a new enterprise over by creating its first administrator; once the
    enterprise has one, its accounts (which read its values) are its administrators' to make."""
    operator = world.as_("operator")
    new = world.registry.create_enterprise(world.park_id, "丙", "91350100M0001TGQXM", "0502").id

    def account(name: str, role: str) -> dict[str, object]:
        return {"username": name, "password": "a long password", "role": role, "enterprise_id": new}

    viewer_first = world.client.post(
        "/api/users", json=account("c-viewer", "enterprise_viewer"), headers=operator
    )
    assert viewer_first.status_code == 403, viewer_first.text
    assert viewer_first.json()["error"]["code"] == "enterprise_accounts_are_its_own"
    first = world.client.post(
        "/api/users", json=account("c-admin", "enterprise_admin"), headers=operator
    )
    assert first.status_code == 201, first.text
    second = world.client.post(
        "/api/users", json=account("c-admin-2", "enterprise_admin"), headers=operator
    )
    assert second.status_code == 403, second.text
    assert second.json()["error"]["code"] == "enterprise_accounts_are_its_own"
    signed_in = world.client.post(
        "/api/auth/login", json={"username": "c-admin", "password": "a long password"}
    )
    c_admin = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    own = world.client.post(
        "/api/users", json=account("c-viewer", "enterprise_viewer"), headers=c_admin
    )
    assert own.status_code == 201, own.text
    assert first.json()["made_by_operator"] and not own.json()["made_by_operator"]


def test_an_account_the_operator_made_does_not_consent_to_the_operator(world: World) -> None:
    """Else the operator would make an enterprise's first administrator, sign in as it and
    consent to itself, with a record saying the enterprise decided."""
    operator = world.as_("operator")
    new = world.registry.create_enterprise(world.park_id, "丙", "91350100M0001TGQXM", "0502").id

    def admin_made_by(headers: dict[str, str], name: str) -> dict[str, str]:
        body = {"username": name, "password": "a long password", "role": "enterprise_admin"}
        made = world.client.post("/api/users", json={**body, "enterprise_id": new}, headers=headers)
        assert made.status_code == 201, made.text
        signed_in = world.client.post(
            "/api/auth/login", json={"username": name, "password": "a long password"}
        )
        return {"Authorization": f"Bearer {signed_in.json()['token']}"}

    consents = f"/api/enterprises/{new}/consents"
    bootstrap = admin_made_by(operator, "c-admin")
    to_operator = {"note": "排查", "grantee": "operator"}
    refused = world.client.post(consents, json=to_operator, headers=bootstrap)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "consent_from_operator_account"
    assert not world.registry.has_consent(new, "operator")
    # The bureau's consent is the enterprise's to give from any of its administrators.
    bureau = world.client.post(consents, json={"note": "月报"}, headers=bootstrap)
    assert bureau.status_code == 201, bureau.text
    own_admin = admin_made_by(bootstrap, "c-own-admin")
    granted = world.client.post(consents, json=to_operator, headers=own_admin)
    assert granted.status_code == 201, granted.text
    # Any administrator withdraws it, the operator-made one too.
    revoked = world.client.delete(f"/api/consents/{granted.json()['id']}", headers=bootstrap)
    assert revoked.status_code == 200, revoked.text
    assert not world.registry.has_consent(new, "operator")


def test_the_operator_counts_alarms_only_of_enterprises_that_consent(world: World) -> None:
    """Open-alarm counts under limits the operator could have chosen answer "is the value above
    X?": the operator's summary leaves out enterprises that have not granted it consent."""
    _b_alarm(world)

    def counted(who: str) -> dict[int, int]:
        answer = world.client.get("/api/alarms-summary", headers=world.as_(who))
        assert answer.status_code == 200, answer.text
        return {e["id"]: e["open"] for e in answer.json()["enterprises"]}

    assert world.ent_b not in counted("operator")
    assert counted("bureau")[world.ent_b] == 1  # the bureau sets no limits
    world.registry.grant_consent(world.ent_b, world.user_ids["admin_b"], "排查", "operator")
    assert counted("operator")[world.ent_b] == 1
