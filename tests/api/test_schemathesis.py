"""Schemathesis against shugu's own OpenAPI schema: no 5xx for any generated request.

Every operation of the app's schema is exercised in process with two of schemathesis's phases:
*coverage* (deterministic boundary and type-violating values of every parameter and body field)
and *fuzzing* (random schema-valid and schema-violating requests). Requests are authenticated as
the platform operator or as an enterprise administrator, and their path and query ids often name
real objects of a small district (enterprises, devices, rules, alarms, inspection plans and
rounds, consents), so that they reach the services behind the routes rather than stopping at 401
or 404. Ingest operations get a valid device token in their path; batches get real Arrow streams.

Each answer must not be a server error, and must match what the schema declares: its status
code, media type, headers and body schema.

``SHUGU_SCHEMATHESIS_EXAMPLES`` sets the fuzzing cases per operation and mode (default 10,
derandomised so that ``make test`` sees the same cases every run); setting it also draws fresh
random cases each run: ``SHUGU_SCHEMATHESIS_EXAMPLES=500 pytest tests/api/test_schemathesis.py``.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import core as hypothesis_core
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.vendor import pretty
from pydantic import BaseModel
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.generation.hypothesis import setup as setup_hypothesis
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shugu.api.services import Services
from shugu.domain.tenancy import Role
from shugu.domain.timeutil import utc_now_ms
from shugu.ingest.arrow_codec import ARROW_STREAM, write_stream
from shugu.store.registry import Registry
from tests.api.conftest import PASSWORD, build_app

_ENV_EXAMPLES = os.environ.get("SHUGU_SCHEMATHESIS_EXAMPLES")
EXAMPLES = int(_ENV_EXAMPLES) if _ENV_EXAMPLES else 10

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]

#: How long one request may take before the run fails as hung. The in-process transport's
#: default (10 s) is a timing assertion: on a loaded 2-core CI machine a plain refusal once
#: took longer. A handler that never answers still fails the run.
READ_TIMEOUT_S = 150.0
#: Requests slower than this are listed in the run's summary.
SLOW_S = 2.0

#: Who the generated requests are sent as.
CALLERS = ("operator", "admin_a")
#: Operations that revoke the credential they are called with: each case gets a fresh token.
SPENDS_CREDENTIAL = frozenset({"POST /api/auth/logout"})


@st.composite
def arrow_streams(draw: st.DrawFn) -> bytes:
    """Arrow IPC streams for ``POST /api/v1/batch``: well-formed tables with awkward contents
    (unknown devices and metrics, extreme times, NaN, nulls, ids as floats, a missing column),
    and now and then a stream cut short or plain garbage."""
    n = draw(st.integers(0, 8))

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.none() | values, min_size=n, max_size=n))

    int64 = st.integers(-(2**63), 2**63 - 1)
    device_type = draw(st.sampled_from([pa.string(), pa.int64(), pa.float64()]))
    if pa.types.is_string(device_type):
        device = column(st.sampled_from(["loom-001", "loom-002", "rack-A01", "nope"]) | st.text())
    elif pa.types.is_integer(device_type):
        device = column(st.integers(0, 10) | int64)
    else:
        device = column(st.floats())
    metrics = st.sampled_from(["speed_rpm", "running", "inlet_c", "bogus"]) | st.text()
    columns: dict[str, pa.Array] = {
        "device": pa.array(device, device_type),
        "metric": pa.array(column(metrics), pa.string()),
        "ts": pa.array(column(st.just(utc_now_ms()) | int64), pa.int64()),
        "value": pa.array(column(st.floats()), pa.float64()),
    }
    dropped = draw(st.sets(st.sampled_from(sorted(columns)), max_size=1))
    if draw(st.booleans()):
        for name in ("device", "metric"):
            columns[name] = columns[name].dictionary_encode()
    table = pa.table({k: v for k, v in columns.items() if k not in dropped})
    stream = write_stream(table)
    damage = draw(st.sampled_from(["none", "none", "cut", "garbage"]))
    if damage == "cut":
        return stream[: draw(st.integers(0, max(len(stream) - 1, 0)))]
    if damage == "garbage":
        return draw(st.binary(max_size=256))
    return stream


schemathesis.openapi.media_type(ARROW_STREAM, arrow_streams())


class Thing(BaseModel):
    name: str


@dataclass
class District:
    """The app under test, its schema, and the real values path and query parameters may take."""

    schema: Any
    services: Services
    registry: Registry
    tokens: dict[str, str]
    user_ids: dict[str, int]
    #: Parameter name → real values (ids of existing objects, profile names, device tokens).
    real: dict[str, list[Any]]
    #: Operation label → (parameter, values it must not take, a sacrificial value instead).
    protected: dict[str, tuple[str, frozenset[Any], Any]]
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    #: Requests that took longer than SLOW_S: (seconds, operation, status).
    slow: list[tuple[float, str, int]] = field(default_factory=list)
    not_negatable: list[str] = field(default_factory=list)


def _seed(client: Any, registry: Registry, services: Services) -> District:
    """A park with a textile mill (A) and a data centre (B), an account of each role, devices
    with telemetry, an alarm, custom rules, inspection plans with a round, consents; and spare
    objects for the operations that delete or revoke."""
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    ent_a = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
    ent_b = registry.create_enterprise(park.id, "乙数据中心", "91110108551385082Q", "0405")
    site_a = registry.create_asset(ent_a.id, "site", "甲厂区")
    site_b = registry.create_asset(ent_b.id, "site", "乙机房")
    loom, loom_token = registry.create_device(ent_a.id, "loom-001", "loom", asset_id=site_a.id)
    loom2, _ = registry.create_device(ent_a.id, "loom-002", "loom", asset_id=site_a.id)
    spare_device, _ = registry.create_device(ent_a.id, "loom-spare", "loom")
    rack, rack_token = registry.create_device(
        ent_b.id, "rack-A01", "rack_sensor", asset_id=site_b.id
    )
    crah, crah_token = registry.create_device(ent_b.id, "crah-01", "crah", asset_id=site_b.id)
    accounts = {
        "operator": (Role.OPERATOR, None),
        "bureau": (Role.BUREAU, None),
        "admin_a": (Role.ENTERPRISE_ADMIN, ent_a.id),
        "viewer_a": (Role.ENTERPRISE_VIEWER, ent_a.id),
        "admin_b": (Role.ENTERPRISE_ADMIN, ent_b.id),
    }
    tokens: dict[str, str] = {}
    user_ids: dict[str, int] = {}
    for username, (role, enterprise_id) in accounts.items():
        user = registry.create_user(username, PASSWORD, role, enterprise_id)
        user_ids[username] = user.id
        tokens[username] = registry.create_api_token(user.id, "tests")
    in_use = {t.id for who in CALLERS for t in registry.list_api_tokens(user_ids[who])}
    registry.create_api_token(user_ids["admin_a"], "spare")
    spare_tokens = [
        t.id for t in registry.list_api_tokens(user_ids["admin_a"]) if t.id not in in_use
    ]

    def ok(r: Any, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return r.json()

    now = utc_now_ms() - 60_000
    for token, values in (
        (loom_token, {"speed_rpm": 600.0, "running": 1.0}),
        (rack_token, {"inlet_c": 29.0}),
        (crah_token, {"supply_air_c": 15.0, "chw_supply_c": 7.0, "chw_return_c": 12.0}),
    ):
        ok(client.post(f"/api/v1/{token}/telemetry", json={"ts": now, "values": values}))
    services.monitor.process_pending()
    admin_a = {"Authorization": f"Bearer {tokens['admin_a']}"}
    admin_b = {"Authorization": f"Bearer {tokens['admin_b']}"}
    alarms = ok(client.get("/api/alarms", params={"enterprise": ent_b.id}, headers=admin_b))
    assert alarms, "the hot rack should have raised an alarm"

    def rule(key: str) -> dict[str, Any]:
        body = {
            "rule": {
                "key": key,
                "kind": "expression",
                "expr": "chw_return_c - chw_supply_c",
                "below": 3,
                "unit": "K",
                "severity": "minor",
                "label_zh": "冷冻水温差过小",
                "label_en": "Chilled-water ΔT low",
            },
            "scope": {"profile": "crah"},
        }
        url = f"/api/enterprises/{ent_b.id}/rules"
        return dict(ok(client.post(url, json=body, headers=admin_b), 201))

    def plan(name: str) -> int:
        body = {
            "name": name,
            "times": ["03:00"],
            "checks": [
                {
                    "label_zh": "机柜进风温度",
                    "label_en": "Rack inlet temperature",
                    "devices": {"profile": "rack_sensor"},
                    "rule": "rack_sensor.inlet_high",
                    "below": 18,
                }
            ],
        }
        url = f"/api/enterprises/{ent_b.id}/inspection-plans"
        return int(ok(client.post(url, json=body, headers=admin_b), 201)["id"])

    def consent(enterprise_id: int, headers: dict[str, str]) -> int:
        url = f"/api/enterprises/{enterprise_id}/consents"
        return int(ok(client.post(url, json={"note": "月度分析"}, headers=headers), 201)["id"])

    kept_rule, spare_rule = rule("chw_dt_low"), rule("chw_dt_spare")
    kept_plan, spare_plan = plan("机房日常巡检"), plan("备用巡检")
    round_id = ok(client.post(f"/api/inspection-plans/{kept_plan}/run", headers=admin_b), 201)["id"]
    kept_consent, spare_consent = consent(ent_a.id, admin_a), consent(ent_b.id, admin_b)
    enterprises = [ent_a.id, ent_b.id]
    devices = [loom.id, loom2.id, rack.id, crah.id]
    real: dict[str, list[Any]] = {
        "region_id": [region.id],
        "park_id": [park.id],
        "enterprise_id": enterprises,
        "enterprise": enterprises,
        "device_id": devices,
        "device": devices,
        "devices": [f"{loom.id},{loom2.id}", str(rack.id)],
        "token": [loom_token, rack_token, crah_token],
        "name": [p["name"] for p in ok(client.get("/api/profiles", headers=admin_a))],
        "rule_id": [kept_rule["id"]],
        "rule_ref": ["rack_sensor.inlet_high", kept_rule["ref"]],
        "alarm_id": [a["id"] for a in alarms],
        "plan_id": [kept_plan],
        "round_id": [round_id],
        "consent_id": [kept_consent],
        "token_id": spare_tokens,
        "profile": ["loom", "crah", "rack_sensor"],
        "kpi": ["efficiency", "availability", "oee"],
        "level": ["enterprise", "device", "line", "park"],
    }
    seeded = frozenset(devices)
    protected = {
        # Revoking the callers' own tokens would turn the rest of the run into 401s.
        "DELETE /api/auth/tokens/{token_id}": ("token_id", frozenset(in_use), spare_tokens[0]),
        # Rotating the ingest devices' tokens would make the ingest cases' tokens unknown.
        "POST /api/devices/{device_id}/token": ("device_id", seeded - {loom2.id}, loom2.id),
        # Deleting the seeded objects would turn later operations into 404s.
        "DELETE /api/devices/{device_id}": ("device_id", seeded, spare_device.id),
        "DELETE /api/rules/{rule_id}": ("rule_id", frozenset({kept_rule["id"]}), spare_rule["id"]),
        "DELETE /api/inspection-plans/{plan_id}": ("plan_id", frozenset({kept_plan}), spare_plan),
        "DELETE /api/consents/{consent_id}": (
            "consent_id",
            frozenset({kept_consent}),
            spare_consent,
        ),
    }
    return District(None, services, registry, tokens, user_ids, real, protected)


def _readable_hypothesis_output() -> None:
    """schemathesis, once it generates, swaps Hypothesis's example printer for one that prints
    nothing, in the whole process (faster on huge cases). Apply its patches now and put the
    printer back, so that falsifying examples stay readable here and in every later module.
    (pyproject.toml keeps its pytest plugin, which would patch at start-up, from loading.)"""
    setup_hypothesis()
    hypothesis_core.RepresentationPrinter = pretty.RepresentationPrinter  # type: ignore[misc]


@pytest.fixture(scope="module")
def district(
    tmp_path_factory: pytest.TempPathFactory, password_hasher: PasswordHasher
) -> Iterator[District]:
    _readable_hypothesis_output()
    tmp = tmp_path_factory.mktemp("schemathesis")
    registry = Registry(f"sqlite:///{tmp / 'registry.sqlite'}", password_hasher=password_hasher)
    app, services = build_app(registry, Path(tmp) / "data")
    # The device API's long polls wait at most this long here, whatever timeout is generated.
    services.settings = replace(services.settings, device_poll_default_ms=20, device_poll_max_ms=20)
    # A device that polled for commands would make later commands wait for its answer.
    services.rpc.polled_recently_s = 0.0
    try:
        # Loading the schema starts the app's lifespan in schemathesis's event loop; every
        # request of this module goes through that loop.
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=schemathesis.Config())
        services.monitor.stop()  # the test evaluates queued points itself, between operations
        with asgi.get_client(app) as client:
            world = _seed(client, registry, services)
        world.schema = schema
        yield world
    finally:
        asgi.shutdown_lifespans()
        services.close()
        registry.close()


Choose = Callable[[str, list[Any]], Any]


def _send(district: District, case: schemathesis.Case, choose: Choose) -> None:
    """Point the case at real objects where ``choose`` says so, authenticate it, send it and
    check the answer."""
    operation = case.operation
    label = operation.label
    positive = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
    for parameter in operation.iter_parameters():
        pool = district.real.get(parameter.name)
        if pool is None or parameter.location not in ("path", "query"):
            continue
        value = choose(parameter.name, pool)
        if value is None:
            continue
        if parameter.location == "path":
            case.path_parameters = {**(case.path_parameters or {}), parameter.name: value}
        elif positive:
            case.query = {**(case.query or {}), parameter.name: value}
    guard = district.protected.get(label)
    if guard is not None and case.path_parameters:
        name, forbidden, instead = guard
        if case.path_parameters.get(name) in forbidden:
            case.path_parameters = {**case.path_parameters, name: instead}
    caller = choose("caller", list(CALLERS))
    token = district.tokens[caller]
    if label in SPENDS_CREDENTIAL:
        token = district.registry.create_api_token(district.user_ids[caller], "disposable")
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    started = time.monotonic()
    response = case.call(timeout=READ_TIMEOUT_S)
    took = time.monotonic() - started
    if took > SLOW_S:
        district.slow.append((round(took, 1), label, response.status_code))
    district.cases[label] += 1
    district.statuses[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)


def _mostly_real(pool: list[Any]) -> st.SearchStrategy[Any]:
    """A real value three times in four; otherwise None (keep what schemathesis generated)."""
    return st.integers(0, 3).flatmap(lambda k: st.sampled_from(pool) if k else st.none())


def _fuzz(district: District, operation: Any, mode: GenerationMode) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=_ENV_EXAMPLES is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        def choose(name: str, pool: list[Any]) -> Any:
            if name == "caller":
                return data.draw(st.sampled_from(pool), label=name)
            return data.draw(_mostly_real(pool), label=name)

        _send(district, case, choose)

    try:
        run()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (no parameter, no declared body).
        if mode is not GenerationMode.NEGATIVE:
            raise
        district.not_negatable.append(operation.label)


def _coverage(district: District, operation: Any) -> None:
    schema = district.schema
    config = schema.config.generation_for(operation=operation, phase="coverage")
    cases = schema.iter_coverage_cases(operation, generation_modes=MODES, generation_config=config)
    for i, case in enumerate(cases):
        rng = random.Random(f"{operation.label} {i}")

        def choose(name: str, pool: list[Any], rng: random.Random = rng) -> Any:
            if name == "caller" or rng.random() < 0.5:
                return rng.choice(pool)
            return None

        _send(district, case, choose)


def _operations(district: District) -> list[Any]:
    return [result.ok() for result in district.schema.get_all_operations()]


@pytest.mark.parametrize("phase", ["coverage", "fuzzing"])
def test_every_operation_answers_within_its_schema(
    district: District, phase: str, subtests: pytest.Subtests
) -> None:
    operations = _operations(district)
    assert len(operations) >= 60
    for operation in operations:
        with subtests.test(msg=operation.label):
            if phase == "coverage":
                _coverage(district, operation)
            else:
                for mode in MODES:
                    _fuzz(district, operation, mode)
        # Points ingested by the cases go through the alarm rules too.
        district.services.monitor.process_pending()
    print(
        f"\nschemathesis {phase}: {len(operations)} operations; "
        f"{sum(district.cases.values())} cases so far; "
        f"statuses {dict(sorted(district.statuses.items()))}; "
        f"nothing to negate: {', '.join(district.not_negatable) or '-'}; "
        f"slower than {SLOW_S:g} s: {sorted(district.slow, reverse=True)[:10] or '-'}"
    )


def test_the_checks_would_catch_a_server_error() -> None:
    """The run above is not vacuous: the same checks fail on a 500 and on a body that is not
    what the schema declares (shown on a tiny app of its own)."""
    app = FastAPI()

    @app.get("/thing/{n}", response_model=None, responses={200: {"model": Thing}})
    def thing(n: int) -> JSONResponse:
        if n == 1:
            raise RuntimeError("a bug")
        return JSONResponse({"name": 2})

    schema = schemathesis.openapi.from_dict(app.openapi(), config=schemathesis.Config())
    operation = schema["/thing/{n}"]["GET"]
    with TestClient(app, raise_server_exceptions=False) as client:
        for n, failure in ((1, ServerError), (2, JsonSchemaError)):
            response = client.get(f"/thing/{n}")
            with pytest.raises(FailureGroup) as caught:
                operation.Case(path_parameters={"n": n}).validate_response(response, checks=CHECKS)
            assert any(isinstance(f, failure) for f in caught.value.exceptions)
