"""Route-matrix rows of indicators and targets (指标与目标): the bureau, park officials and the
operator read; the bureau alone changes the register, values and targets; enterprise accounts
are refused (these are the district's figures, not an enterprise's objects)."""

from __future__ import annotations

from tests.api.conftest import World
from tests.api.matrix_rows import Row

READ = {"anonymous": 401, "viewer_a": 403, "admin_a": 403}
BUREAU_ONLY = READ | {"park_official": 403, "park_other": 403, "operator": 403}
#: The matrix sends JSON, not a workbook: the bureau is answered 422 (xlsx_unreadable).
IMPORT = BUREAU_ONLY | {"bureau": 422}
#: The bureau is told the month has not ended (the matrix runs in the present).
SNAPSHOT = BUREAU_ONLY | {"bureau": 409}

INDICATOR = {
    "name_zh": "规上工业增加值",
    "name_en": "Value added of industry above designated size",
    "unit_zh": "万元",
    "unit_en": "10k yuan",
    "source": "reported",
    "direction": "higher",
    "aggregate": "sum",
}
BASE = "/api/region/indicators"

ROWS: dict[tuple[str, str], Row] = {
    ("GET", BASE): Row(lambda w: BASE, READ),
    ("PUT", BASE + "/{code}"): Row(
        lambda w: f"{BASE}/industrial_value_added", BUREAU_ONLY, body=lambda w: INDICATOR
    ),
    ("DELETE", BASE + "/{code}"): Row(lambda w: f"{BASE}/smart_factories", BUREAU_ONLY),
    ("GET", BASE + "/{code}/values"): Row(lambda w: f"{BASE}/devices_connected/values", READ),
    ("PUT", BASE + "/{code}/values/{period}"): Row(
        lambda w: f"{BASE}/industrial_output_value/values/2026-03",
        BUREAU_ONLY,
        body=lambda w: {"value": 1_020_000, "note": "统计局快报"},
    ),
    ("DELETE", BASE + "/{code}/values/{period}"): Row(
        lambda w: f"{BASE}/industrial_output_value/values/2026-04",
        BUREAU_ONLY,
        setup=lambda w: _value(w, "2026-04"),
    ),
    ("POST", "/api/region/indicator-snapshots/{period}"): Row(
        lambda w: "/api/region/indicator-snapshots/2100-01", SNAPSHOT
    ),
    ("GET", "/api/region/indicator-values/template.xlsx"): Row(
        lambda w: "/api/region/indicator-values/template.xlsx?lang=en", READ
    ),
    ("POST", "/api/region/indicator-values/import"): Row(
        lambda w: "/api/region/indicator-values/import", IMPORT, body=lambda w: {}
    ),
    ("GET", "/api/region/targets"): Row(lambda w: "/api/region/targets?year=2025", READ),
    ("GET", "/api/region/targets.xlsx"): Row(lambda w: "/api/region/targets.xlsx", READ),
    ("GET", "/api/region/targets/{year}"): Row(lambda w: "/api/region/targets/2025", READ),
    ("PUT", "/api/region/targets/{year}/{code}"): Row(
        lambda w: "/api/region/targets/2026/smart_factories",
        BUREAU_ONLY,
        body=lambda w: {"target": 40, "baseline": 30},
    ),
    ("DELETE", "/api/region/targets/{year}/{code}"): Row(
        lambda w: "/api/region/targets/2026/enterprises_on_cloud", BUREAU_ONLY
    ),
}


def _value(w: World, period: str) -> dict[str, int]:
    """A reported value for the bureau to delete (the other roles find it there too)."""
    bureau = w.as_("bureau")
    answer = w.client.put(
        f"{BASE}/industrial_output_value/values/{period}", json={"value": 1.0}, headers=bureau
    )
    assert answer.status_code in (200, 201), answer.text
    return {}
