"""Every console route, fed drawn path ids, query parameters and form fields as a signed-in user:
no answer is a server error. Routes are found on the application, so a new page joins on its own.

Inputs are drawn per route from what FastAPI declares of it (path, query and form parameters),
plus fields it does not declare; values are text with control characters, huge and negative
numbers, and empty strings. Notification host names resolve from an empty table, instantly.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import World
from tests.fuzz.fuzzing import fuzz
from tests.web.conftest import sign_in

#: The live stream never ends when allowed; its input is its ``devices`` list, fuzzed below.
STREAMS = {"/live"}


def console_routes() -> list[tuple[str, str]]:
    from shugu.web.console import PAGE_MODULES

    found = []
    for module in PAGE_MODULES:
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.path not in STREAMS:
                found += [(m, route.path) for m in sorted(route.methods - {"HEAD"})]
    return sorted(found)


def _params(method: str, path: str) -> tuple[list[str], list[str], list[str]]:
    from shugu.web.console import PAGE_MODULES

    routes = [r for module in PAGE_MODULES for r in module.router.routes]
    for route in routes:
        if isinstance(route, APIRoute) and route.path == path and method in route.methods:
            dependant = route.dependant
            query = [p.alias for p in dependant.query_params]
            form = [p.alias for p in dependant.body_params]
            for sub in dependant.dependencies:
                query += [p.alias for p in sub.query_params]
            return re.findall(r"{(\w+)(?::\w+)?}", path), query, form
    raise AssertionError(f"no route {method} {path}")


#: Fields pages read from the query or the form without declaring them to FastAPI (filters,
#: report options, the rule, override and channel forms): drawn for every route too, as query
#: parameters of a GET and form fields of anything else.
UNDECLARED = (
    *("status", "severity", "device", "period", "from", "to", "plan", "date", "format"),
    *("outcome", "add", "kind", "name", "lang", "url", "headers", "secret", "secret_clear"),
    *("port", "timeout_s", "recipients", "first", "second", "repeat_every_min"),
    *("escalate_after_min", "metric", "above", "below", "deadband", "for_s", "applies"),
    *("label_zh", "label_en", "at_least", "enabled", "flap_window_s", "flap_start"),
    *("sensitivity", "pattern", "clear_after_s", "running_metric", "metrics", "fit_points"),
    *("conditions", "fit_from", "do"),
    # the shift calendar's form (web/calendar_form.py)
    *("start", "effective_from", "note", "rest_day", "holidays", "makeup_days", "shift_name"),
    *("shift_start", "shift_end", "break_name", "break_start", "break_end", "downtime_start"),
    *("downtime_end", "downtime_note"),
    # the accounts page and the operator's "register an enterprise" form
    *("username", "role", "disabled", "park_id", "uscc", "nbs_category"),
)

_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "9" * 30, "<script>", "../..", "%00", "1,2"]),
    st.sampled_from(["9999-12-31", "0001-01-01", "2024-02-30", "xlsx", "pdf", "email"]),
    st.sampled_from(["webhook", "dingtalk", "profile:loom", "asset:1", "device:1", "passed"]),
    st.sampled_from(["threshold", "duration", "anomaly", "plant", "yes", "no", "0.34", "backtest"]),
    st.sampled_from(["speed_rpm", "power_kw", "running", "2880"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _id_for(world: World, name: str) -> st.SearchStrategy[str]:
    real = {
        "enterprise_id": [world.ent_a, world.ent_b],
        "device_id": [world.device_a, world.device_b],
    }.get(name, [1])
    return st.one_of(
        st.sampled_from([str(v) for v in real]),
        st.integers(min_value=-(2**65), max_value=2**65).map(str),
        st.sampled_from(["x", "1.5", "", "0x10"]),
    )


@pytest.mark.parametrize(("method", "path"), console_routes(), ids=lambda v: str(v))
def test_no_console_input_is_a_server_error(world: World, method: str, path: str) -> None:
    path_names, query_names, form_names = _params(method, path)
    csrf = sign_in(world.client, "admin_a")

    @settings(
        fuzz(0.1),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        url = path
        for name in path_names:
            value = data.draw(_id_for(world, name), label=name)
            url = re.sub(r"{" + name + r"(?::\w+)?}", value or "0", url)
        names = [*query_names, *form_names, *UNDECLARED, "unexpected_field"]
        drawn = {
            n: data.draw(_TEXT, label=n) for n in dict.fromkeys(names) if data.draw(st.booleans())
        }
        in_query = query_names if method != "GET" else [n for n in drawn if n not in form_names]
        query = {k: v for k, v in drawn.items() if k in in_query}
        form = {k: v for k, v in drawn.items() if k not in in_query}
        answer = world.client.request(
            method,
            url,
            params=query,
            data=form if method != "GET" else None,
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
            follow_redirects=False,
        )
        assert answer.status_code < 500, f"{method} {url} {drawn}: {answer.status_code}"
        # Told on the console's page in the user's language (or, signed out, sent to sign in).
        if answer.status_code >= 400 and "hx-redirect" not in answer.headers:
            kind = answer.headers.get("content-type", "")
            assert kind.startswith("text/html"), f"{method} {url} {drawn}: {kind}"

    one()


def test_the_live_streams_device_list_is_checked_before_it_opens(world: World) -> None:
    sign_in(world.client, "admin_a")
    for devices in ("x", "1,,2", "-1", "9" * 40, ",".join(["1"] * 501), f"{world.device_b}"):
        answer = world.client.get("/live", params={"devices": devices})
        assert 400 <= answer.status_code < 500, (devices, answer.status_code)
