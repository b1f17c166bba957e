"""The tiers board's evaluation (梯度培育) as XLSX, beside ``GET /api/region/tiers/evaluation``.

The same service call and filters as the JSON route, so the same rights; the workbook is
written by ``region/files/exports.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.downloads import download
from shugu.api.kpi_params import XLSX_RESPONSES
from shugu.api.region_files_routes import LangQuery, filters_from
from shugu.region.files.exports import evaluation_xlsx

router = APIRouter(tags=["enterprise files"])


@router.get("/api/region/tiers/evaluation/export.xlsx", responses=XLSX_RESPONSES)
def evaluation_export(
    access: AccessDep,
    services: ServicesDep,
    lang: LangQuery = "zh",
    park: int | None = None,
    standing: Annotated[list[str] | None, Query(max_length=4)] = None,
) -> Response:
    """One row per enterprise and tier it qualifies for or is close to (``standing`` to
    choose), with what is missing and by how much."""
    filters = filters_from(park, None, None, None, None, standing, None, None)
    rows = services.region.files.rows(access, filters)
    parks = {p.id: p.name for p in services.registry.list_parks()}
    data = evaluation_xlsx(rows, parks, set(standing or ("qualifies", "close")), lang)
    return download(data, "tier-evaluation.xlsx")
