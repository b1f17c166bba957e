"""Hostile query parameters of the KPI and energy routes, and hostile bodies of the energy
baseline's fit, over HTTP against machines with data (``tests/api/kpi_world.py``), as every role:
never a server error; a refusal is 4xx with a code and a message; an answer is JSON without NaN
(figures undefined are null) or a workbook that opens."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote

import pytest
from bench.fuzz_cases import hostile_numbers, hostile_text, json_scalars, mixture
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook  # type: ignore[import-untyped]

from shugu.analytics.model import GRAINS, LEVELS
from tests.api.conftest import World
from tests.api.kpi_world import END, REFERENCE, START, KpiWorld, build, build_baseline_days
from tests.fuzz.fuzzing import fuzz

ROLES = ("viewer_a", "admin_a", "bureau", "operator")
ROUTES = ("/api/kpis", "/api/kpis/league", "/api/kpis/compare", "/api/energy", "savings")
KPI_NAMES = ["efficiency", "kwh_per_m", "picks", "oee", "energy_kwh", "supply_air_c", "nope"]

#: Text an HTTP client can send in a query string (lone surrogates cannot be encoded).
sendable = hostile_text.map(lambda s: s.encode("utf-8", "replace").decode("utf-8")[:300])
instants = mixture(
    (4, st.sampled_from([START, END, "2026-11-10", "2026-11-01", "2026-12-01", "2025-11-10"])),
    (2, st.integers(-(2**66), 2**66).map(str)),
    (
        2,
        st.sampled_from(
            ["0", "-1", "253402300799999", "9999-12-31", "1970-01-01", "2026-02-30", "9" * 30]
        ),
    ),
    (1, st.sampled_from(["2026-11-10T08:00:00Z", "2026-11-10T08:00+14:00", "2026-W45"])),
    (1, sendable),
)
words = lambda pool: mixture((4, st.sampled_from(pool)), (1, sendable))  # noqa: E731
numbers = mixture(
    (3, st.integers(-3, 12).map(str)),
    (1, st.integers(-(2**70), 2**70).map(str)),
    (1, sendable),
)


def _ids(kw: KpiWorld) -> st.SearchStrategy[str]:
    w = kw.w
    real = [w.ent_a, w.ent_b, w.park_id, kw.line_a, kw.line_b, kw.loom_002, kw.loom_b1, w.device_b]
    return mixture((3, st.sampled_from([str(i) for i in real])), (2, numbers))


def _params(kw: KpiWorld) -> st.SearchStrategy[dict[str, str]]:
    ids = _ids(kw)
    return st.fixed_dictionaries(
        {},
        optional={
            "profile": words(["loom", "power_meter", "crah", "cooling_tower", "", "LOOM"]),
            "level": words([*LEVELS, "", "Device"]),
            "grain": words([*GRAINS, ""]),
            "start": instants,
            "end": instants,
            "kpi": mixture(
                (3, st.sampled_from(KPI_NAMES)),
                (1, st.lists(st.sampled_from(KPI_NAMES), max_size=4).map(",".join)),
                (1, sendable),
            ),
            "size": numbers,
            "enterprise": ids,
            "park": ids,
            "line": ids,
            "device": ids,
            "format": words(["json", "xlsx", "csv"]),
            "unexpected": sendable,
        },
    )


def _refuse_nan(token: str) -> float:
    raise AssertionError(f"the answer holds {token}, which JSON cannot carry")


def check_answer(answer: Any, context: object) -> None:
    assert answer.status_code < 500, (context, answer.status_code, answer.text[:500])
    kind = answer.headers.get("content-type", "")
    if answer.status_code >= 400:
        error = answer.json()["error"]
        assert error["code"] and error["message"].strip(), (context, error)
    elif kind.startswith("application/json"):
        json.loads(answer.text, parse_constant=_refuse_nan)
    elif answer.status_code == 200:
        assert kind.startswith("application/vnd.openxmlformats"), (context, kind)
        load_workbook(io.BytesIO(answer.content))


@pytest.fixture
def kw(world: World) -> KpiWorld:
    built = build(world)
    build_baseline_days(world)
    body = {"reference_start": REFERENCE[0], "reference_end": REFERENCE[1]}
    fitted = world.client.put(
        f"/api/enterprises/{world.ent_a}/energy-baseline", json=body, headers=world.as_("admin_a")
    )
    assert fitted.status_code == 200, fitted.text
    return built


@pytest.mark.parametrize("route", ROUTES)
def test_no_query_is_a_server_error(kw: KpiWorld, route: str) -> None:
    w = kw.w

    @settings(
        fuzz(0.2),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(params=_params(kw), who=st.sampled_from(ROLES), enterprise=_ids(kw))
    @example(params={"profile": "loom", "start": START, "end": END}, who="bureau", enterprise="1")
    @example(
        params={"profile": "loom", "level": "device", "grain": "hour", "format": "xlsx"},
        who="admin_a",
        enterprise="1",
    )
    def one(params: dict[str, str], who: str, enterprise: str) -> None:
        url = route
        if route == "savings":
            url = f"/api/enterprises/{quote(enterprise, safe='')}/energy-savings"
        answer = w.client.get(url, params=params, headers=w.as_(who))
        check_answer(answer, (url, who, params))

    one()


#: What a JSON parser hands over for a field: scalars with hostile parts, lists and objects.
anything = st.recursive(
    json_scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(sendable, kids, max_size=3)),
    max_leaves=8,
)
moments = mixture(
    (4, st.dates().map(str)),
    (2, st.sampled_from([*REFERENCE, "2026-10-01T00:00", "1970-01-01", "9999-12-31"])),
    (1, hostile_numbers.filter(lambda v: isinstance(v, int))),
    (1, anything),
)
fit_bodies = st.fixed_dictionaries(
    {},
    optional={
        "reference_start": moments,
        "reference_end": moments,
        "use_weather": mixture((4, st.booleans()), (1, anything)),
        "colour": anything,
    },
)


def test_no_baseline_body_is_a_server_error(kw: KpiWorld) -> None:
    w = kw.w

    @settings(
        fuzz(0.3),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=mixture((8, fit_bodies), (1, anything)))
    @example(body={"reference_start": "2026-10-01", "reference_end": "2026-10-22"})
    @example(body={"reference_start": 0, "reference_end": 2**80, "use_weather": "yes"})
    @example(body={"reference_start": "1970-01-01", "reference_end": "9999-12-31"})
    def one(body: Any) -> None:
        url = f"/api/enterprises/{w.ent_a}/energy-baseline"
        # Escaped, a lone surrogate or NaN still reaches the server, as a hostile client sends it.
        content = json.dumps(body, ensure_ascii=True)
        headers = {**w.as_("admin_a"), "Content-Type": "application/json"}
        answer = w.client.put(url, content=content, headers=headers)
        check_answer(answer, body)

    one()
