"""Indicators and targets (指标与目标) in the console: targets against actuals for a year, with
progress, on-track marks and each indicator's last twelve months; the indicator register with
its definitions; reported values uploaded as XLSX and targets set by the bureau; the table as
XLSX.

The pages call the same service as ``/api/region/indicators…`` and ``/api/region/targets…``
(``region/indicators/service.py``), so who may do what is decided there: the bureau, park
officials and the operator read, the bureau changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from shugu.analytics.kpi_export import XLSX_MEDIA_TYPE
from shugu.domain.errors import ValidationError
from shugu.region.indicators.service import IndicatorService, board_xlsx, require_reader
from shugu.region.sheets import Lang
from shugu.web import bureau_indicators_wall as wall
from shugu.web.bureau_indicators_view import (
    MISSING_LABELS,
    SPARK_H,
    SPARK_W,
    pct,
    sparkline,
    status_of,
)
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

Year = Annotated[int | None, Query(ge=2000, le=2100)]


def _service(user: PageUser) -> IndicatorService:
    return user.services.region.indicators


def _sheet_lang(user: PageUser) -> Lang:
    return "zh" if user.tr.lang == "zh-CN" else "en"


def board_context(user: PageUser, year: int | None) -> dict[str, Any]:
    board = _service(user).board(user.access, year)
    return {
        "board": board,
        "years": _service(user).target_years(user.access),
        "sparkline": sparkline,
        "spark_w": SPARK_W,
        "spark_h": SPARK_H,
        "missing_labels": MISSING_LABELS,
        "pct": pct,
        "status_of": status_of,
        "can_edit": user.access.is_bureau(),
    }


@router.get("/region/targets")
def targets_page(request: Request, user: PageUserDep, year: Year = None) -> Response:
    return render(request, user, "bureau/indicators/targets.html", board_context(user, year))


@router.get("/region/targets.xlsx")
def targets_xlsx(user: PageUserDep, year: Year = None) -> Response:
    board = _service(user).board(user.access, year)
    return Response(
        board_xlsx(board, _sheet_lang(user)),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="targets-{board.year}.xlsx"'},
    )


@router.post("/region/targets/{year}/{code}")
def set_target(
    year: int,
    code: str,
    user: PageUserDep,
    target: Annotated[str, Form()] = "",
    baseline: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    body: dict[str, object] = {
        "target": _number(target, "target"),
        "baseline": _number(baseline, "baseline") if baseline.strip() else None,
        "note": note,
    }
    _service(user).put_target(user.access, code, year, body)
    return RedirectResponse(f"/region/targets?year={year}#{code}", status_code=303)


def _number(text: str, field: str) -> float:
    try:
        return float(text.strip().replace(",", ""))
    except ValueError:
        raise ValidationError(
            f"{field} must be a number", code="target_invalid", field=field
        ) from None


@router.get("/region/indicators")
def register_page(request: Request, user: PageUserDep) -> Response:
    service = _service(user)
    return render(
        request,
        user,
        "bureau/indicators/register.html",
        {
            "indicators": service.register(user.access),
            "can_edit": user.access.is_bureau(),
            "report": None,
        },
    )


@router.get("/region/indicators/template.xlsx")
def template_xlsx(user: PageUserDep) -> Response:
    data = _service(user).values_template(user.access, _sheet_lang(user))
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": 'attachment; filename="indicator-values.xlsx"'},
    )


@router.post("/region/indicators/import")
async def import_values(
    request: Request, user: PageUserDep, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    """The upload read and imported; the register shown again with what happened, row by
    row."""
    data = await file.read() if file is not None else b""
    service = _service(user)
    report = service.import_values(user.access, data)
    return render(
        request,
        user,
        "bureau/indicators/register.html",
        {"indicators": service.register(user.access), "can_edit": True, "report": report},
    )


@router.get("/region/bureau-panels")
def bureau_panels(request: Request, user: PageUserDep) -> Response:
    """The bureau's panels of the wall display (targets, projects, key enterprises, appeals),
    refetched every minute; for those who open the wall."""
    require_reader(user.access)
    return render(
        request,
        user,
        "region/_bureau_panels.html",
        wall.panels_context(user),
        headers={"cache-control": "no-store"},
    )
