"""Enterprise files (一企一档): one enterprise's file, yearly figures and certifications; the
district's table of files with tags and tier standings (XLSX on request); tier criteria and their
versions; imports of enterprises and yearly figures from XLSX.

Routes parse and shape; ``region/files/service.py`` authorises and decides.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.downloads import WORKBOOK_RESPONSES, download
from shugu.domain.errors import ValidationError
from shugu.region.files import imports
from shugu.region.files.service import EnterpriseFiles, FileFilters, FileRow, require_bureau
from shugu.region.files.tags import load_tags
from shugu.region.files.text import shortfall_text
from shugu.region.files.tiers import TierCriteria, TierStanding, tier_defs
from shugu.region.sheets import Column, template, write_table
from shugu.store.registry.region_files import (
    CertificationRecord,
    EnterpriseFileRecord,
    YearFiguresRecord,
)

router = APIRouter(tags=["enterprise files"])
Lang = Literal["zh", "en"]
LangQuery = Annotated[Lang, Query(description="language of explanations")]
#: An uploaded workbook larger than this is refused before it is opened.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _files(services: ServicesDep) -> EnterpriseFiles:
    return services.region.files


class FileOut(BaseModel):
    id: int
    park_id: int
    name: str
    uscc: str
    nbs_category: str | None
    industry_code: str | None
    division_code: str | None
    established_on: dt.date | None
    key_enterprise: bool
    listed: bool


def _file_out(r: EnterpriseFileRecord) -> FileOut:
    return FileOut(
        id=r.id,
        park_id=r.park_id,
        name=r.name,
        uscc=r.uscc,
        nbs_category=r.nbs_category,
        industry_code=r.industry_code,
        division_code=r.division_code,
        established_on=r.established_on,
        key_enterprise=r.key_enterprise,
        listed=r.listed,
    )


class ShortfallOut(BaseModel):
    fact: str
    op: str
    needed: Any
    actual: Any
    gap: float | None = Field(description="how far off, as a share of the needed value")
    text: str


class StandingOut(BaseModel):
    tier: str
    version: int = Field(description="the criteria version used (0: the seed)")
    standing: str = Field(description="held, qualifies, close or far")
    shortfalls: list[ShortfallOut]


def _standing_out(s: TierStanding, lang: Lang) -> StandingOut:
    return StandingOut(
        tier=s.tier,
        version=s.version,
        standing=s.standing,
        shortfalls=[
            ShortfallOut(
                fact=f.fact,
                op=f.op,
                needed=_plain(f.needed),
                actual=_plain(f.actual),
                gap=None if f.gap is None else round(f.gap, 4),
                text=shortfall_text(f, lang),
            )
            for f in s.shortfalls
        ],
    )


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class FigureYearOut(BaseModel):
    year: int
    values: dict[str, float | int | None]
    updated_by: str
    updated_at: dt.datetime


def _year_out(r: YearFiguresRecord) -> FigureYearOut:
    return FigureYearOut(
        year=r.year, values=r.values, updated_by=r.updated_by, updated_at=r.updated_at
    )


class CertificationOut(BaseModel):
    id: int
    kind: str
    granted_on: dt.date
    expires_on: dt.date | None
    number: str | None


def _cert_out(c: CertificationRecord) -> CertificationOut:
    return CertificationOut(
        id=c.id, kind=c.kind, granted_on=c.granted_on, expires_on=c.expires_on, number=c.number
    )


class FileViewOut(BaseModel):
    file: FileOut
    facts: dict[str, Any]
    tags: list[str]
    tiers: list[StandingOut]
    yearly_figures: list[FigureYearOut]
    certifications: list[CertificationOut]


def _facts_out(facts: dict[str, object]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in facts.items()}


@router.get("/api/enterprises/{enterprise_id}/file", response_model=FileViewOut)
def get_file(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    lang: LangQuery = "zh",
    year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
) -> FileViewOut:
    view = _files(services).view(access, enterprise_id, year)
    return FileViewOut(
        file=_file_out(view.row.file),
        facts=_facts_out(view.row.facts),
        tags=view.row.tags,
        tiers=[_standing_out(s, lang) for s in view.row.standings],
        yearly_figures=[_year_out(f) for f in view.figures],
        certifications=[_cert_out(c) for c in view.certifications],
    )


class FileIn(BaseModel):
    """The file's own fields; those left out keep their value."""

    industry_code: str | None = Field(default=None, description="GB/T 4754, four digits")
    division_code: str | None = Field(default=None, description="GB/T 2260")
    established_on: dt.date | None = None
    key_enterprise: bool | None = None
    listed: bool | None = None
    nbs_category: str | None = None


@router.put("/api/enterprises/{enterprise_id}/file", response_model=FileOut)
def put_file(enterprise_id: int, body: FileIn, access: AccessDep, services: ServicesDep) -> FileOut:
    changes = body.model_dump(exclude_unset=True)
    for flag in ("key_enterprise", "listed"):
        if flag in changes and changes[flag] is None:
            raise ValidationError(f"{flag} is true or false", code="invalid", field=flag)
    return _file_out(_files(services).update_file(access, enterprise_id, changes))


@router.get("/api/enterprises/{enterprise_id}/yearly-figures", response_model=list[FigureYearOut])
def list_year_figures(
    enterprise_id: int, access: AccessDep, services: ServicesDep
) -> list[FigureYearOut]:
    return [_year_out(f) for f in _files(services).year_figures(access, enterprise_id)]


@router.get("/api/enterprises/{enterprise_id}/yearly-figures/{year}", response_model=FigureYearOut)
def get_year_figures(
    enterprise_id: int, year: int, access: AccessDep, services: ServicesDep
) -> FigureYearOut:
    for f in _files(services).year_figures(access, enterprise_id):
        if f.year == year:
            return _year_out(f)
    raise ValidationError(f"no figures for {year}", code="figures_missing", field="year")


class FiguresPutOut(BaseModel):
    figures: FigureYearOut
    status: str = Field(description="created, updated or unchanged")


@router.put("/api/enterprises/{enterprise_id}/yearly-figures/{year}", response_model=FiguresPutOut)
def put_year_figures(
    enterprise_id: int,
    year: int,
    body: dict[str, float | int | None],
    access: AccessDep,
    services: ServicesDep,
) -> FiguresPutOut:
    record, status = _files(services).put_year_figures(access, enterprise_id, year, body)
    return FiguresPutOut(figures=_year_out(record), status=status)


@router.get(
    "/api/enterprises/{enterprise_id}/certifications", response_model=list[CertificationOut]
)
def list_certifications(
    enterprise_id: int, access: AccessDep, services: ServicesDep
) -> list[CertificationOut]:
    return [_cert_out(c) for c in _files(services).certifications(access, enterprise_id)]


class CertificationIn(BaseModel):
    kind: str = Field(
        max_length=16, description="高企, 专精特新, 小巨人, 单项冠军, 瞪羚, 独角兽, 雏鹰, 科小"
    )
    granted_on: dt.date
    expires_on: dt.date | None = None
    number: str | None = Field(default=None, max_length=64)


@router.post(
    "/api/enterprises/{enterprise_id}/certifications",
    response_model=CertificationOut,
    status_code=201,
)
def add_certification(
    enterprise_id: int, body: CertificationIn, access: AccessDep, services: ServicesDep
) -> CertificationOut:
    return _cert_out(
        _files(services).add_certification(
            access, enterprise_id, body.kind, body.granted_on, body.expires_on, body.number
        )
    )


@router.put(
    "/api/enterprises/{enterprise_id}/certifications/{certification_id}",
    response_model=CertificationOut,
)
def update_certification(
    enterprise_id: int,
    certification_id: int,
    body: CertificationIn,
    access: AccessDep,
    services: ServicesDep,
) -> CertificationOut:
    return _cert_out(
        _files(services).update_certification(
            access,
            enterprise_id,
            certification_id,
            body.kind,
            body.granted_on,
            body.expires_on,
            body.number,
        )
    )


@router.delete(
    "/api/enterprises/{enterprise_id}/certifications/{certification_id}", status_code=204
)
def delete_certification(
    enterprise_id: int, certification_id: int, access: AccessDep, services: ServicesDep
) -> Response:
    _files(services).delete_certification(access, enterprise_id, certification_id)
    return Response(status_code=204)


# The district ----------------------------------------------------------------------------------


class FileRowOut(BaseModel):
    file: FileOut
    size_class: str | None
    tags: list[str]
    tiers: list[StandingOut]


def _row_out(row: FileRow, lang: Lang) -> FileRowOut:
    size = row.facts.get("size_class")
    return FileRowOut(
        file=_file_out(row.file),
        size_class=size if isinstance(size, str) else None,
        tags=row.tags,
        tiers=[_standing_out(s, lang) for s in row.standings],
    )


def filters_from(
    park: int | None,
    industry: str | None,
    nbs: str | None,
    tag: str | None,
    tier: str | None,
    standing: list[str] | None,
    key: bool | None,
    size: str | None,
) -> FileFilters:
    return FileFilters(
        park_id=park,
        industry=industry or None,
        nbs=nbs or None,
        tag=tag or None,
        tier=tier or None,
        standings=frozenset(standing) if standing else frozenset({"qualifies", "close"}),
        key_enterprise=key,
        size=size or None,
    )


_EXPORT_COLUMNS = (
    Column("name", "企业名称", "name"),
    Column("uscc", "统一社会信用代码", "USCC"),
    Column("park_id", "园区", "park"),
    Column("industry_code", "国民经济行业代码", "industry class"),
    Column("nbs_category", "数字经济分类", "NBS category"),
    Column("size_class", "企业规模", "size class"),
    Column("key_enterprise", "重点企业", "key enterprise"),
    Column("tags", "标签", "tags"),
    Column("qualifies", "符合条件的梯度", "tiers qualified for"),
    Column("close", "接近的梯度", "tiers close to"),
)


@router.get("/api/region/enterprise-files", response_model=list[FileRowOut])
def list_files(
    access: AccessDep,
    services: ServicesDep,
    lang: LangQuery = "zh",
    park: int | None = None,
    industry: Annotated[str | None, Query(max_length=4)] = None,
    nbs: Annotated[str | None, Query(max_length=4)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    tier: Annotated[str | None, Query(max_length=32)] = None,
    standing: Annotated[list[str] | None, Query(max_length=4)] = None,
    key: bool | None = None,
    size: Annotated[str | None, Query(max_length=16)] = None,
    format: Literal["json", "xlsx"] = "json",
) -> Any:
    filters = filters_from(park, industry, nbs, tag, tier, standing, key, size)
    rows = _files(services).rows(access, filters)
    if format == "json":
        return [_row_out(r, lang) for r in rows]
    tag_names = {t.key: t.label(lang) for t in load_tags()}
    tier_names = {d.key: d.label(lang) for d in tier_defs()}

    def tiers_in(row: FileRow, standing: str) -> str:
        return "、".join(tier_names[s.tier] for s in row.standings if s.standing == standing)

    table = [
        {
            "name": r.file.name,
            "uscc": r.file.uscc,
            "park_id": r.file.park_id,
            "industry_code": r.file.industry_code,
            "nbs_category": r.file.nbs_category,
            "size_class": str(r.facts.get("size_class") or ""),
            "key_enterprise": r.file.key_enterprise,
            "tags": "、".join(tag_names.get(t, t) for t in r.tags),
            "qualifies": tiers_in(r, "qualifies"),
            "close": tiers_in(r, "close"),
        }
        for r in rows
    ]
    title = "企业档案" if lang == "zh" else "Enterprise files"
    data = write_table(title, _EXPORT_COLUMNS, table, lang)
    return download(data, "enterprise-files.xlsx")


class TagOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    condition: Any


@router.get("/api/region/tags", response_model=list[TagOut])
def list_tags(access: AccessDep) -> list[TagOut]:
    return [
        TagOut(key=t.key, label_zh=t.label_zh, label_en=t.label_en, condition=t.source)
        for t in load_tags()
    ]


class TierVersionOut(BaseModel):
    version: int
    criteria: Any
    effective_from: dt.date | None
    note: str
    saved_by: str | None


class TierOut(BaseModel):
    key: str
    certification: str
    label_zh: str
    label_en: str
    in_force: TierVersionOut
    versions: list[TierVersionOut]


def _version_out(c: TierCriteria) -> TierVersionOut:
    return TierVersionOut(
        version=c.version,
        criteria=c.source,
        effective_from=c.effective_from,
        note=c.note,
        saved_by=c.saved_by,
    )


@router.get("/api/region/tiers", response_model=list[TierOut])
def list_tiers(access: AccessDep, services: ServicesDep) -> list[TierOut]:
    files = _files(services)
    in_force = files.criteria_in_force()
    return [
        TierOut(
            key=d.key,
            certification=d.certification,
            label_zh=d.label_zh,
            label_en=d.label_en,
            in_force=_version_out(in_force[d.key]),
            versions=[_version_out(v) for v in files.tier_versions(d.key)],
        )
        for d in tier_defs()
    ]


class TierIn(BaseModel):
    criteria: Any = Field(description="a condition over the enterprise's facts")
    effective_from: dt.date
    note: str = Field(default="", max_length=2000)


@router.put("/api/region/tiers/{tier}", response_model=TierVersionOut)
def save_tier(tier: str, body: TierIn, access: AccessDep, services: ServicesDep) -> TierVersionOut:
    saved = _files(services).save_tier(access, tier, body.criteria, body.effective_from, body.note)
    return _version_out(saved)


class EvaluationEntry(BaseModel):
    enterprise_id: int
    name: str
    standing: StandingOut


class TierEvaluationOut(BaseModel):
    tier: str
    version: int
    counts: dict[str, int]
    enterprises: list[EvaluationEntry]


@router.get("/api/region/tiers/evaluation", response_model=list[TierEvaluationOut])
def evaluate_tiers(
    access: AccessDep,
    services: ServicesDep,
    lang: LangQuery = "zh",
    park: int | None = None,
    standing: Annotated[list[str] | None, Query(max_length=4)] = None,
) -> list[TierEvaluationOut]:
    """Every tier with who holds it, qualifies or is close (``standing`` to choose)."""
    files = _files(services)
    wanted = set(standing or ("qualifies", "close"))
    rows = files.rows(access, filters_from(park, None, None, None, None, standing, None, None))
    in_force = files.criteria_in_force()
    out: list[TierEvaluationOut] = []
    for i, d in enumerate(tier_defs()):
        counts = {"held": 0, "qualifies": 0, "close": 0, "far": 0}
        entries: list[EvaluationEntry] = []
        for r in rows:
            s = r.standings[i]
            counts[s.standing] += 1
            if s.standing in wanted:
                entries.append(
                    EvaluationEntry(
                        enterprise_id=r.file.id, name=r.file.name, standing=_standing_out(s, lang)
                    )
                )
        out.append(
            TierEvaluationOut(
                tier=d.key, version=in_force[d.key].version, counts=counts, enterprises=entries
            )
        )
    return out


# Imports ---------------------------------------------------------------------------------------


ImportKind = Literal["enterprises", "yearly-figures", "particulars"]


@router.get("/api/region/imports/{kind}/template", responses=WORKBOOK_RESPONSES)
def import_template(kind: ImportKind, access: AccessDep, lang: LangQuery = "zh") -> Response:
    require_bureau(access)
    data = template(imports.SPECS[kind], lang)
    return download(data, f"{kind}-template.xlsx")


class RowErrorOut(BaseModel):
    row: int
    column: str
    code: str
    message_zh: str
    message_en: str


class ImportOut(BaseModel):
    imported: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]
    ignored_headers: list[str]


@router.post("/api/region/imports/{kind}", response_model=ImportOut)
async def import_file(
    kind: ImportKind, request: Request, access: AccessDep, services: ServicesDep
) -> ImportOut:
    """The XLSX file as the request body; every bad row reported, every good row kept."""
    require_bureau(access)
    data = await request.body()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"an upload has at most {MAX_UPLOAD_BYTES} bytes", code="files_upload_too_large"
        )
    report = await run_in_threadpool(
        imports.import_sheet, services.region.registry, kind, data, access.principal.username
    )
    return ImportOut.model_validate(report.as_dict())
