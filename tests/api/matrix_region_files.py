"""Route-matrix rows of enterprise files (一企一档): B's file, figures and certifications; the
district's files, tags, tiers and imports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tests.api.conftest import World
from tests.api.matrix_rows import ANY_USER, HIDDEN, Row

#: B's file: B's people, its park's official and the bureau; not the operator.
B_FILE_READ = HIDDEN | {"operator": 403}
#: Changing B's file: the bureau only.
B_FILE_WRITE = HIDDEN | {"park_official": 403, "operator": 403}
#: The district's table of files: the bureau and park officials (narrowed to their park).
DISTRICT = {"anonymous": 401, "viewer_a": 403, "admin_a": 403, "operator": 403}
BUREAU_ONLY = DISTRICT | {"park_official": 403, "park_other": 403}
#: An import answers the bureau 422 here: the matrix sends JSON, not a workbook.
IMPORT = BUREAU_ONLY | {"bureau": 422}
CERT = {"kind": "高企", "granted_on": "2024-01-01", "expires_on": "2026-12-31"}
TIER = {
    "criteria": {"fact": "revenue_cagr_3y", "op": ">=", "value": 20},
    "effective_from": "2026-01-01",
}


def _b_figures(w: World) -> dict[str, int]:
    w.registry.put_year_figures(w.ent_b, 2024, {"revenue_wan": 1000.0}, "setup")
    return {"year": 2024}


def _b_certification(w: World) -> dict[str, int]:
    cert = w.registry.add_certification(w.ent_b, "高企", date(2024, 1, 1), None, None, "setup")
    return {"certification": cert.id}


def _b(tail: str) -> Callable[[World], str]:
    return lambda w: f"/api/enterprises/{w.ent_b}{tail}"


def _at(url: str) -> Callable[[World], str]:
    return lambda w: url


E = "/api/enterprises/{enterprise_id}"
ROWS: dict[tuple[str, str], Row] = {
    ("GET", f"{E}/file"): Row(_b("/file"), B_FILE_READ),
    ("PUT", f"{E}/file"): Row(_b("/file"), B_FILE_WRITE, lambda w: {"key_enterprise": True}),
    ("GET", f"{E}/yearly-figures"): Row(_b("/yearly-figures"), B_FILE_READ),
    ("GET", f"{E}/yearly-figures/{{year}}"): Row(
        _b("/yearly-figures/{year}"), B_FILE_READ, setup=_b_figures
    ),
    ("PUT", f"{E}/yearly-figures/{{year}}"): Row(
        _b("/yearly-figures/2025"), B_FILE_WRITE, lambda w: {"revenue_wan": 1200, "staff": 30}
    ),
    ("GET", f"{E}/particulars"): Row(_b("/particulars"), B_FILE_READ),
    ("PUT", f"{E}/particulars"): Row(
        _b("/particulars"),
        B_FILE_WRITE,
        lambda w: {"leased_area_m2": 300, "rent_yuan_m2_month": 50, "pre_ipo": True},
    ),
    ("GET", f"{E}/certifications"): Row(_b("/certifications"), B_FILE_READ),
    ("POST", f"{E}/certifications"): Row(_b("/certifications"), B_FILE_WRITE, lambda w: CERT),
    ("PUT", f"{E}/certifications/{{certification_id}}"): Row(
        _b("/certifications/{certification}"),
        B_FILE_WRITE,
        lambda w: CERT,
        setup=_b_certification,
    ),
    ("DELETE", f"{E}/certifications/{{certification_id}}"): Row(
        _b("/certifications/{certification}"), B_FILE_WRITE, setup=_b_certification
    ),
    ("GET", "/api/region/enterprise-files"): Row(_at("/api/region/enterprise-files"), DISTRICT),
    ("GET", "/api/region/tags"): Row(_at("/api/region/tags"), ANY_USER),
    ("GET", "/api/region/tiers"): Row(_at("/api/region/tiers"), ANY_USER),
    ("PUT", "/api/region/tiers/{tier}"): Row(
        _at("/api/region/tiers/dengling"), BUREAU_ONLY, lambda w: TIER
    ),
    ("GET", "/api/region/tiers/evaluation"): Row(_at("/api/region/tiers/evaluation"), DISTRICT),
    ("GET", "/api/region/tiers/evaluation/export.xlsx"): Row(
        _at("/api/region/tiers/evaluation/export.xlsx?lang=en"), DISTRICT
    ),
    ("GET", "/api/region/imports/{kind}/template"): Row(
        _at("/api/region/imports/enterprises/template"), BUREAU_ONLY
    ),
    ("POST", "/api/region/imports/{kind}"): Row(
        _at("/api/region/imports/yearly-figures"), IMPORT, lambda w: {}
    ),
}
