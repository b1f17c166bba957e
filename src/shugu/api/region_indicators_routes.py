"""Indicators and targets (指标与目标): the indicator register, values by month or year (computed
live or reported), reported values by XLSX, yearly targets, and targets against actuals as JSON
or XLSX.

Routes parse and shape; ``region/indicators/service.py`` decides, rights included: the bureau,
park officials and the operator read, the bureau alone changes anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.downloads import WORKBOOK_RESPONSES, download
from shugu.api.services import Services
from shugu.region.indicators.board import Board
from shugu.region.indicators.figures import Figure
from shugu.region.indicators.service import IndicatorService, board_xlsx
from shugu.store.registry.region_indicators import (
    IndicatorRecord,
    IndicatorValueRecord,
    TargetRecord,
)

router = APIRouter(tags=["region-indicators"])

Code = Annotated[str, Field(max_length=64)]
SheetLang = Literal["zh", "en"]


def _service(services: Services) -> IndicatorService:
    return services.region.indicators


class IndicatorOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    definition_zh: str
    definition_en: str
    source: str = Field(description="computed (by shugu) or reported (by the bureau)")
    direction: str = Field(description="higher or lower is better")
    computation: str | None
    aggregate: str = Field(description="a year from its months: sum, last or mean")
    decimals: int
    position: int
    active: bool
    updated_by: str
    updated_at: dt.datetime


def _indicator(record: IndicatorRecord) -> IndicatorOut:
    return IndicatorOut(
        code=record.code,
        name_zh=record.name_zh,
        name_en=record.name_en,
        unit_zh=record.unit_zh,
        unit_en=record.unit_en,
        definition_zh=record.definition_zh,
        definition_en=record.definition_en,
        source=record.source,
        direction=record.direction,
        computation=record.computation,
        aggregate=record.aggregate,
        decimals=record.decimals,
        position=record.position,
        active=record.active,
        updated_by=record.updated_by,
        updated_at=record.updated_at,
    )


class FigureOut(BaseModel):
    period: str = Field(description="2026-03 (a month) or 2026 (a year)")
    value: float | None
    kind: str = Field(description="reported, snapshot, live, computed or none")
    parts: dict[str, float | None] = Field(description="by park or category, where it has some")
    missing: str | None = Field(description="why there is no value")
    months: int | None = Field(description="months a year's figure is made of")


def _figure(figure: Figure) -> FigureOut:
    return FigureOut(
        period=figure.period,
        value=figure.value,
        kind=figure.kind,
        parts=figure.parts,
        missing=figure.missing,
        months=figure.months,
    )


class ValueOut(BaseModel):
    code: str
    period: str
    value: float | None
    note: str
    entered_by: str
    entered_at: dt.datetime


def _value(code: str, record: IndicatorValueRecord) -> ValueOut:
    return ValueOut(
        code=code,
        period=record.period,
        value=record.value,
        note=record.note,
        entered_by=record.entered_by,
        entered_at=record.entered_at,
    )


class TargetOut(BaseModel):
    code: str
    year: int
    target: float
    baseline: float | None
    note: str
    set_by: str
    set_at: dt.datetime


def _target(code: str, record: TargetRecord) -> TargetOut:
    return TargetOut(
        code=code,
        year=record.year,
        target=record.target,
        baseline=record.baseline,
        note=record.note,
        set_by=record.set_by,
        set_at=record.set_at,
    )


class BoardRowOut(BaseModel):
    indicator: IndicatorOut
    target: float | None
    baseline: float | None
    actual: FigureOut
    progress: float | None = Field(description="share of the way from baseline to target")
    expected: float | None = Field(description="share of the year passed (months reported)")
    met: bool | None
    on_track: bool | None
    trend: list[tuple[str, float | None]] = Field(description="the last twelve months")


class BoardOut(BaseModel):
    year: int
    as_of: dt.datetime
    elapsed: float = Field(description="share of the year passed")
    on_track: int
    behind: int
    rows: list[BoardRowOut]


def _board(board: Board) -> BoardOut:
    rows = []
    for r in board.rows:
        rows.append(
            BoardRowOut(
                indicator=_indicator(r.indicator),
                target=None if r.target is None else r.target.target,
                baseline=None if r.target is None else r.target.baseline,
                actual=_figure(r.actual),
                progress=None if r.progress is None else r.progress.share,
                expected=None if r.progress is None else r.progress.expected,
                met=None if r.progress is None else r.progress.met,
                on_track=None if r.progress is None else r.progress.on_track,
                trend=list(r.trend),
            )
        )
    return BoardOut(
        year=board.year,
        as_of=dt.datetime.fromtimestamp(board.as_of_ms / 1000, dt.UTC),
        elapsed=board.elapsed,
        on_track=board.on_track,
        behind=board.behind,
        rows=rows,
    )


# -- the register -----------------------------------------------------------------------------


@router.get("/api/region/indicators")
def list_indicators(
    access: AccessDep, services: ServicesDep, retired: bool = False
) -> list[IndicatorOut]:
    return [_indicator(i) for i in _service(services).register(access, retired=retired)]


@router.put("/api/region/indicators/{code}", status_code=200)
def put_indicator(
    code: str,
    access: AccessDep,
    services: ServicesDep,
    response: Response,
    body: Annotated[Any, Body()],
) -> IndicatorOut:
    """Define an indicator or replace its definition; the body's code must be the path's."""
    if isinstance(body, dict):
        body = {**body, "code": code}
    record, created = _service(services).define(access, body)
    if created:
        response.status_code = 201
    return _indicator(record)


@router.delete("/api/region/indicators/{code}", status_code=204)
def retire_indicator(code: str, access: AccessDep, services: ServicesDep) -> Response:
    """Retire an indicator: its values and targets stay; defining it again brings it back."""
    _service(services).retire(access, code)
    return Response(status_code=204)


# -- values -------------------------------------------------------------------------------


@router.get("/api/region/indicators/{code}/values")
def indicator_values(
    code: str,
    access: AccessDep,
    services: ServicesDep,
    first: Annotated[str | None, Query(alias="from", max_length=16)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=16)] = None,
) -> list[FigureOut]:
    """Stored values (reported, or month-end snapshots) between two periods, and a computed
    indicator's live figure for this month."""
    return [_figure(f) for f in _service(services).values(access, code, first, last)]


@router.put("/api/region/indicators/{code}/values/{period}")
def put_indicator_value(
    code: str,
    period: str,
    access: AccessDep,
    services: ServicesDep,
    response: Response,
    body: Annotated[Any, Body()],
) -> ValueOut:
    """A reported indicator's figure for a month (2026-03) or a year (2026)."""
    record, created = _service(services).put_value(access, code, period, body)
    if created:
        response.status_code = 201
    return _value(code, record)


@router.delete("/api/region/indicators/{code}/values/{period}", status_code=204)
def delete_indicator_value(
    code: str, period: str, access: AccessDep, services: ServicesDep
) -> Response:
    _service(services).delete_value(access, code, period)
    return Response(status_code=204)


@router.post("/api/region/indicator-snapshots/{period}")
def take_snapshot(
    period: str, access: AccessDep, services: ServicesDep, replace: bool = False
) -> dict[str, int]:
    """Snapshot an ended month's computed figures now (kept ones replaced when asked)."""
    return {"taken": _service(services).snapshot(access, period, replace=replace)}


@router.get("/api/region/indicator-values/template.xlsx", responses=WORKBOOK_RESPONSES)
def values_template(access: AccessDep, services: ServicesDep, lang: SheetLang = "zh") -> Response:
    data = _service(services).values_template(access, lang)
    return download(data, "indicator-values.xlsx")


@router.post("/api/region/indicator-values/import")
async def import_values(request: Request, access: AccessDep, services: ServicesDep) -> Any:
    """Reported values from an XLSX (the request body): how many rows were imported, updated
    or unchanged, and every bad row by its Excel row number, column and reason."""
    data = await request.body()
    return _service(services).import_values(access, data).as_dict()


# -- targets ------------------------------------------------------------------------------


@router.get("/api/region/targets")
def targets_board(
    access: AccessDep,
    services: ServicesDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> BoardOut:
    """Every indicator's target for the year against its actual (this year by default)."""
    return _board(_service(services).board(access, year))


@router.get("/api/region/targets.xlsx", responses=WORKBOOK_RESPONSES)
def targets_xlsx(
    access: AccessDep,
    services: ServicesDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    lang: SheetLang = "zh",
) -> Response:
    board = _service(services).board(access, year)
    return download(board_xlsx(board, lang), f"targets-{board.year}.xlsx")


@router.get("/api/region/targets/{year}")
def year_targets(year: int, access: AccessDep, services: ServicesDep) -> list[TargetOut]:
    return [_target(i.code, t) for i, t in _service(services).targets(access, year)]


@router.put("/api/region/targets/{year}/{code}")
def put_target(
    year: int,
    code: str,
    access: AccessDep,
    services: ServicesDep,
    response: Response,
    body: Annotated[Any, Body()],
) -> TargetOut:
    record, created = _service(services).put_target(access, code, year, body)
    if created:
        response.status_code = 201
    return _target(code, record)


@router.delete("/api/region/targets/{year}/{code}", status_code=204)
def delete_target(year: int, code: str, access: AccessDep, services: ServicesDep) -> Response:
    _service(services).delete_target(access, code, year)
    return Response(status_code=204)
