"""The KPI pages' query parameters (period, days, profile, sort, order) drawn near what they
mean, on a world with figures in it: no answer is a server error, a page is shown (200) or the
picker says what was wrong (422) over the default period, and never anything else for a caller
allowed to see the page. ``test_console_forms.py`` fuzzes every console route with text of any
kind; this draws the values these pages act on."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import World
from tests.api.kpi_world import KpiWorld, build
from tests.fuzz.fuzzing import fuzz
from tests.web.conftest import sign_in

PERIODS = ["today", "shift", "yesterday", "week", "month", "last_month", "custom", "", "Custom"]
PROFILES = ["loom", "power_meter", "cooling_tower", "rack_sensor", "crah", "toaster", ""]
SORTS = ["name", "efficiency", "oee", "stops_per_1e5", "kwh_per_m", "approach_k", "", "x" * 64]
ORDERS = ["asc", "desc", "", "up"]

_DAY = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-10", "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31"]),
    st.sampled_from(["", "2026-13-01", "2026-11-10T08:00", "１９９９-01-01", "1e309", "-1"]),
    st.text(max_size=20),
)


@pytest.fixture
def kw(world: World) -> KpiWorld:
    return build(world)


@pytest.mark.parametrize("who", ["admin_a", "bureau"])
def test_no_kpi_page_input_is_a_server_error(kw: KpiWorld, who: str) -> None:
    w = kw.w
    sign_in(w.client, who)
    if who == "bureau":
        w.registry.grant_consent(w.ent_a, w.user_ids["admin_a"], "fuzz", "bureau")
    pages = [
        f"/e/{w.ent_a}/kpi",
        f"/e/{w.ent_a}/kpi/lines/{kw.line_a}",
        f"/e/{w.ent_a}/kpi/devices/{kw.loom_002}",
        f"/e/{w.ent_a}/kpi/devices/{kw.meter}",
    ]
    if who == "bureau":
        pages.append("/region/kpi")

    @settings(
        fuzz(0.1),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        url=st.sampled_from(pages),
        period=st.sampled_from(PERIODS),
        start=_DAY,
        end=_DAY,
        profile=st.sampled_from(PROFILES),
        sort=st.sampled_from(SORTS),
        order=st.sampled_from(ORDERS),
    )
    def one(
        url: str, period: str, start: str, end: str, profile: str, sort: str, order: str
    ) -> None:
        params = {
            "period": period,
            "start": start,
            "end": end,
            "profile": profile,
            "sort": sort,
            "order": order,
        }
        answer = w.client.get(url, params=params)
        assert answer.status_code in (200, 422), f"{url} {params}: {answer.status_code}"
        assert answer.headers["content-type"].startswith("text/html")
        if answer.status_code == 422:
            assert 'data-testid="kpi-picker-errors"' in answer.text

    one()
