"""Indicators and targets (指标与目标) in the console: targets against actuals for a year, with
progress, on-track marks and each indicator's last twelve months; the indicator register with
its definitions; reported values uploaded as XLSX and targets set by the bureau; the table as
XLSX.

The pages call the same service as ``/api/region/indicators…`` and ``/api/region/targets…``
(``region/indicators/service.py``), so who may do what is decided there: the bureau, park
officials and the operator read, the bureau changes.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from shugu.analytics.kpi_export import XLSX_MEDIA_TYPE
from shugu.domain.errors import ValidationError
from shugu.region.indicators.board import BoardRow
from shugu.region.indicators.service import IndicatorService, board_xlsx
from shugu.region.sheets import Lang
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

Year = Annotated[int | None, Query(ge=2000, le=2100)]
#: The sparkline's box, in SVG user units.
SPARK_W: Final = 120
SPARK_H: Final = 28
MISSING_LABELS: Final = {
    "live_only": N_("Live only: kept from month-end snapshots"),
    "no_figures": N_("No figures yet"),
    "no_key_enterprises": N_("No key enterprises marked"),
    "no_output": N_("No fabric woven in the period"),
    "not_reported": N_("Not reported"),
    "future": N_("Not begun"),
}


def _service(user: PageUser) -> IndicatorService:
    return user.services.region.indicators


def _sheet_lang(user: PageUser) -> Lang:
    return "zh" if user.tr.lang == "zh-CN" else "en"


def sparkline(trend: tuple[tuple[str, float | None], ...]) -> str:
    """The trend as SVG polyline points (months without a value left out)."""
    values = [v for _, v in trend if v is not None]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = high - low or 1.0
    step = SPARK_W / max(1, len(trend) - 1)
    points = []
    for i, (_, value) in enumerate(trend):
        if value is None:
            continue
        y = SPARK_H - 2 - (value - low) / span * (SPARK_H - 4)
        points.append(f"{i * step:.1f},{y:.1f}")
    return " ".join(points)


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


def pct(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f}%"


def status_of(row: BoardRow) -> str:
    """on-track, behind, met or none: the row's mark and its colour class."""
    if row.progress is None or row.progress.on_track is None:
        return "none"
    if row.progress.met:
        return "met"
    return "on-track" if row.progress.on_track else "behind"


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
