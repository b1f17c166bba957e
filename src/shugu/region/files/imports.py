"""XLSX imports of enterprise files: enterprises (keyed by USCC), their yearly figures (keyed by
USCC and year) and their particulars (keyed by USCC; a blank cell keeps the value). Every row is
checked; a bad row is reported by its Excel row number and reason and every good row is kept.
Importing the same file again changes nothing and says so.

An enterprise new to the registry goes to the park the row names; one already there is updated.
"""

from __future__ import annotations

from typing import Literal
from xml.etree.ElementTree import ParseError

from shugu.domain.errors import ShuguError, ValidationError
from shugu.domain.uscc import check_uscc
from shugu.region.files.particulars import PARTICULARS, check_particulars
from shugu.region.files.service import check_figures, check_file_changes, check_year
from shugu.region.sheets import (
    Column,
    ImportReport,
    SheetRead,
    SheetRow,
    SheetSpec,
    read_sheet,
)
from shugu.store.registry import Registry
from shugu.store.registry.region_files import YEAR_FIGURES

Kind = Literal["enterprises", "yearly-figures", "particulars"]
KINDS: tuple[Kind, ...] = ("enterprises", "yearly-figures", "particulars")

_USCC = Column("uscc", "统一社会信用代码", "USCC", "text", required=True, max_length=18)

ENTERPRISES = SheetSpec(
    "enterprises",
    "企业名录",
    "Enterprises",
    (
        _USCC,
        Column("name", "企业名称", "name", "text", required=True),
        Column("park", "所属园区", "park", "text", required=True, note_zh="园区名称"),
        Column("nbs_category", "数字经济分类", "NBS category", "text", max_length=4),
        Column("industry_code", "国民经济行业代码", "industry class", "text", max_length=4),
        Column("division_code", "行政区划代码", "division code", "text", max_length=12),
        Column("established_on", "成立日期", "established on", "date"),
        Column("key_enterprise", "重点企业", "key enterprise", "bool"),
        Column("listed", "上市企业", "listed", "bool"),
    ),
    key=("uscc",),
)

_FIGURE_HEADERS: dict[str, tuple[str, str]] = {
    "revenue_wan": ("营业收入（万元）", "revenue (10k yuan)"),
    "main_business_revenue_wan": ("主营业务收入（万元）", "main business revenue (10k yuan)"),
    "high_tech_revenue_wan": ("高新技术产品收入（万元）", "high-tech revenue (10k yuan)"),
    "output_value_wan": ("工业总产值（万元）", "output value (10k yuan)"),
    "rd_spend_wan": ("研发费用（万元）", "R&D spend (10k yuan)"),
    "staff": ("从业人员（人）", "staff"),
    "tech_staff": ("科技人员（人）", "technical staff"),
    "energy_tce": ("综合能耗（吨标准煤）", "energy use (tce)"),
    "total_assets_wan": ("资产总额（万元）", "total assets (10k yuan)"),
    "total_liabilities_wan": ("负债总额（万元）", "total liabilities (10k yuan)"),
    "vc_raised_wan": ("获得股权投资（万元）", "venture capital raised (10k yuan)"),
    "new_equity_wan": ("新增股权融资（万元）", "new equity (10k yuan)"),
    "valuation_usd_yi": ("投后估值（亿美元）", "valuation (100M USD)"),
    "global_share_rank": ("全球市场占有率排名", "global market share rank"),
    "niche_years": ("从事细分市场年限（年）", "years in niche market"),
}

YEARLY_FIGURES = SheetSpec(
    "yearly-figures",
    "企业年度数据",
    "Yearly figures",
    (
        _USCC,
        Column("year", "年度", "year", "int", required=True, minimum=1949, maximum=2100),
        *(
            Column(
                name,
                *_FIGURE_HEADERS[name],
                "int" if kind is int else "decimal",
                minimum=0,
            )
            for name, kind in YEAR_FIGURES.items()
        ),
    ),
    key=("uscc", "year"),
)


def _header(zh: str, en: str, unit: str) -> tuple[str, str]:
    return (f"{zh}（{unit}）", f"{en} ({unit})") if unit else (zh, en)


PARTICULAR_SHEET = SheetSpec(
    "particulars",
    "企业特定事项",
    "Particulars",
    (
        _USCC,
        *(
            Column(
                p.name,
                *_header(p.label_zh, p.label_en, p.unit),
                "bool" if p.kind == "bool" else "int" if p.kind == "int" else "decimal",
                minimum=None if p.kind == "bool" else p.minimum,
                maximum=None if p.kind == "bool" else p.maximum,
            )
            for p in PARTICULARS
        ),
    ),
    key=("uscc",),
)

SPECS: dict[Kind, SheetSpec] = {
    "enterprises": ENTERPRISES,
    "yearly-figures": YEARLY_FIGURES,
    "particulars": PARTICULAR_SHEET,
}


def _refuse(read: SheetRead, row: SheetRow, error: ShuguError) -> None:
    column = str(error.details.get("field") or "")
    read.reject(row, column, error.code, f"数据无效：{error.message}", error.message)


def import_sheet(registry: Registry, kind: Kind, data: bytes, by: str) -> ImportReport:
    """Read and import one uploaded file; ``xlsx_unreadable`` if it is no workbook."""
    try:
        read = read_sheet(data, SPECS[kind])
    except ParseError as exc:
        # A workbook whose XML names characters XML forbids is as unreadable as any other.
        raise ValidationError(
            "the file is not a readable XLSX workbook", code="xlsx_unreadable"
        ) from exc
    report = ImportReport(ignored_headers=list(read.ignored_headers))
    if kind == "enterprises":
        _enterprises(registry, read, report)
    elif kind == "particulars":
        _particulars(registry, read, report, by)
    else:
        _figures(registry, read, report, by)
    report.errors = list(read.errors)
    return report


def _count(report: ImportReport, status: str) -> None:
    if status == "created":
        report.imported += 1
    elif status == "updated":
        report.updated += 1
    else:
        report.unchanged += 1


def _enterprises(registry: Registry, read: SheetRead, report: ImportReport) -> None:
    parks = {p.name: p.id for p in registry.list_parks()}
    for row in read.rows:
        v = row.values
        park_id = parks.get(str(v["park"]).strip())
        if park_id is None:
            read.reject(
                row,
                "park",
                "import_park_unknown",
                f"没有名为“{v['park']}”的园区",
                f"no park is named {v['park']!r}",
            )
            continue
        try:
            uscc = check_uscc(str(v["uscc"])).code
            changes = check_file_changes(
                {
                    "name": v["name"],
                    "park_id": park_id,
                    **{
                        k: v[k]
                        for k in (
                            "nbs_category",
                            "industry_code",
                            "division_code",
                            "established_on",
                        )
                        if v[k] is not None
                    },
                    **{k: bool(v[k]) for k in ("key_enterprise", "listed") if v[k] is not None},
                }
            )
            existing = registry.enterprise_id_by_uscc(uscc)
            if existing is None:
                created = registry.create_enterprise(park_id, str(changes["name"]), uscc)
                registry.update_enterprise_file(created.id, changes)
                _count(report, "created")
            else:
                _, changed = registry.update_enterprise_file(existing, changes)
                _count(report, "updated" if changed else "unchanged")
        except ShuguError as error:
            _refuse(read, row, error)


def _figures(registry: Registry, read: SheetRead, report: ImportReport, by: str) -> None:
    for row in read.rows:
        v = row.values
        try:
            uscc = check_uscc(str(v["uscc"])).code
            enterprise_id = registry.enterprise_id_by_uscc(uscc)
            if enterprise_id is None:
                read.reject(
                    row,
                    "uscc",
                    "import_enterprise_unknown",
                    f"没有统一社会信用代码为 {uscc} 的企业",
                    f"no enterprise has the code {uscc}",
                )
                continue
            values = check_figures(
                {name: _number(v[name]) for name in YEAR_FIGURES if v[name] is not None}
            )
            _, status = registry.put_year_figures(
                enterprise_id, check_year(int(v["year"])), values, by
            )
            _count(report, status)
        except ShuguError as error:
            _refuse(read, row, error)


def _particulars(registry: Registry, read: SheetRead, report: ImportReport, by: str) -> None:
    for row in read.rows:
        v = row.values
        try:
            enterprise_id = _enterprise_of(registry, read, row)
            if enterprise_id is None:
                continue
            given = {p.name: v[p.name] for p in PARTICULARS if v[p.name] is not None}
            values = check_particulars(
                {
                    k: value if isinstance(value, bool) else _number(value)
                    for k, value in given.items()
                }
            )
            made = registry.record_particulars(enterprise_id, values, by)
            _count(report, "updated" if made else "unchanged")
        except ShuguError as error:
            _refuse(read, row, error)


def _enterprise_of(registry: Registry, read: SheetRead, row: SheetRow) -> int | None:
    """The enterprise the row's USCC names; None (the row rejected) if none has it."""
    uscc = check_uscc(str(row.values["uscc"])).code
    enterprise_id = registry.enterprise_id_by_uscc(uscc)
    if enterprise_id is None:
        read.reject(
            row,
            "uscc",
            "import_enterprise_unknown",
            f"没有统一社会信用代码为 {uscc} 的企业",
            f"no enterprise has the code {uscc}",
        )
    return enterprise_id


def _number(value: object) -> object:
    """Decimals as floats (the registry keeps figures as floats)."""
    if isinstance(value, int | float) or value is None:
        return value
    try:
        return float(str(value))
    except ValueError:
        return value
