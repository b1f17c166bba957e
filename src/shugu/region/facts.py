"""The fact vocabulary (事实项) of an enterprise: every name a tag, tier criterion, policy condition
or warning rule may test, with its label and unit, and how one enterprise's facts are gathered.

Facts come from five places: the registry's enterprise file (park, industry, flags, age), its
yearly figures (the given or newest year, and ratios and growth over several years), the
certifications it holds on the day asked about, its particulars as they stand (the facts policies
ask about: ``region/files/particulars.py``), and what the platform measures (devices connected
and online, metered energy, KPIs). Shares and growth rates are percentages (17.2 for
17.2 %), so criteria read as the bureau writes them ("≥ 20"). A fact that cannot be known is left
out, never set to zero: conditions report it as missing data.

Tags are computed from the other facts and added last, under ``tags``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from shugu.store.registry import Registry
from shugu.store.registry.region_files import (
    CertificationRecord,
    EnterpriseFileRecord,
    YearFiguresRecord,
)
from shugu.store.registry.region_particulars import ParticularRecord

FactKind = Literal["number", "percent", "int", "bool", "text", "date", "list"]


@dataclass(frozen=True, slots=True)
class FactDef:
    name: str
    label_zh: str
    label_en: str
    #: The unit a value is written with ("万元", "%", "人"); empty for none.
    unit: str
    kind: FactKind

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en


def _defs(*rows: tuple[str, str, str, str, FactKind]) -> dict[str, FactDef]:
    return {name: FactDef(name, zh, en, unit, kind) for name, zh, en, unit, kind in rows}


FACT_DEFS: dict[str, FactDef] = _defs(
    # The enterprise file (registry)
    ("park_id", "所属园区", "park", "", "int"),
    ("industry_code", "国民经济行业代码", "industry class (GB/T 4754)", "", "text"),
    ("nbs_category", "数字经济分类", "NBS digital-economy category", "", "text"),
    ("nbs_top", "数字经济大类", "NBS top category", "", "text"),
    ("core_digital", "数字经济核心产业", "digital-economy core industry", "", "bool"),
    ("key_enterprise", "重点企业", "key enterprise", "", "bool"),
    ("listed", "上市企业", "listed", "", "bool"),
    ("years_since_established", "成立年限", "years since established", "年", "number"),
    ("size_class", "企业规模", "size class", "", "text"),
    # The year's figures
    ("figures_year", "数据年度", "year of the figures", "", "int"),
    ("revenue_wan", "营业收入", "revenue", "万元", "number"),
    ("output_value_wan", "工业总产值", "output value", "万元", "number"),
    ("rd_spend_wan", "研发费用", "R&D spend", "万元", "number"),
    ("rd_share", "研发费用占营收比重", "R&D share of revenue", "%", "percent"),
    ("staff", "从业人员", "staff", "人", "int"),
    ("tech_staff", "科技人员", "technical staff", "人", "int"),
    ("tech_staff_share", "科技人员占比", "technical staff share", "%", "percent"),
    ("energy_tce", "综合能耗", "energy use", "吨标准煤", "number"),
    ("total_assets_wan", "资产总额", "total assets", "万元", "number"),
    ("debt_ratio", "资产负债率", "debt ratio", "%", "percent"),
    ("high_tech_revenue_share", "高新技术产品收入占比", "high-tech revenue share", "%", "percent"),
    ("main_business_share", "主营业务收入占比", "main business share of revenue", "%", "percent"),
    ("vc_raised_wan", "获得股权投资", "venture capital raised", "万元", "number"),
    ("new_equity_2y_wan", "近两年新增股权融资", "new equity over 2 years", "万元", "number"),
    ("valuation_usd_yi", "投后估值", "post-money valuation", "亿美元", "number"),
    ("global_share_rank", "全球市场占有率排名", "global market share rank", "位", "int"),
    ("niche_years", "从事细分市场年限", "years in its niche market", "年", "int"),
    # Over several years
    ("revenue_cagr_3y", "营收三年复合增长率", "revenue CAGR over 3 years", "%", "percent"),
    ("revenue_base_3y_wan", "三年前营业收入", "revenue 3 years before", "万元", "number"),
    ("staff_cagr_3y", "从业人员三年复合增长率", "staff CAGR over 3 years", "%", "percent"),
    ("staff_base_3y", "三年前从业人员", "staff 3 years before", "人", "int"),
    (
        "rd_share_avg_3y",
        "近三年研发费用占营收比重",
        "R&D share of revenue over 3 years",
        "%",
        "percent",
    ),
    (
        "rd_share_avg_4y",
        "近四年研发费用占营收比重",
        "R&D share of revenue over 4 years",
        "%",
        "percent",
    ),
    (
        "main_business_growth_2y",
        "主营业务收入两年平均增长率",
        "main business growth over 2 years (yearly average)",
        "%",
        "percent",
    ),
    # Certifications and tags
    ("certifications", "已获资质", "certifications held", "", "list"),
    ("tags", "标签", "tags", "", "list"),
    # Measured by the platform
    ("devices_registered", "登记设备数", "devices registered", "台", "int"),
    ("devices_connected", "已接入设备数", "devices connected (sent data)", "台", "int"),
    ("connected_share", "设备接入率", "share of devices connected", "%", "percent"),
    ("online_share", "设备在线率", "share of devices online", "%", "percent"),
    ("connected_since", "首次接入日期", "connected since", "", "date"),
    ("energy_kwh_12m", "近12个月计量用电", "metered energy, last 12 months", "kWh", "number"),
    ("loom_efficiency_month", "织机本月效率", "loom efficiency this month", "%", "percent"),
    ("kwh_per_unit_month", "本月单位产量能耗", "energy per unit this month", "kWh/单位", "number"),
    (
        "energy_per_unit_quartile",
        "单位能耗行业四分位",
        "energy per unit, quartile in its industry (4 = worst)",
        "",
        "int",
    ),
)


class Measures(Protocol):
    """What the platform measures about one enterprise, as facts of FACT_DEFS (only those
    known)."""

    def measured(self, enterprise_id: int) -> Mapping[str, object]: ...


#: Tags from the other facts (the tag rules); given the facts without ``tags``.
Tagger = Callable[[Mapping[str, object]], list[str]]

#: MIIT 2011 size classes for industry (工信部联企业〔2011〕300号):
#: (class, staff ≥, revenue ≥ 万元), largest first;
#: an enterprise below either of the small class's thresholds is micro.
SIZE_CLASSES: tuple[tuple[str, int, float], ...] = (
    ("large", 1000, 40000.0),
    ("medium", 300, 2000.0),
    ("small", 20, 300.0),
)
SIZE_NAMES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}


def size_class(staff: int | None, revenue_wan: float | None) -> str | None:
    """The MIIT industry size class: both thresholds of a class must be met; None if unknown."""
    if staff is None or revenue_wan is None:
        return None
    for name, min_staff, min_revenue in SIZE_CLASSES:
        if staff >= min_staff and revenue_wan >= min_revenue:
            return name
    return "micro"


def _ratio(part: object, whole: object) -> float | None:
    if not isinstance(part, int | float) or not isinstance(whole, int | float) or whole <= 0:
        return None
    return round(100.0 * part / whole, 4)


def _cagr(now: object, base: object, years: int) -> float | None:
    """Compound yearly growth in %: (now / base)^(1/years) − 1; unknown without a positive base."""
    if not isinstance(now, int | float) or not isinstance(base, int | float) or base <= 0:
        return None
    if now < 0:
        return None
    growth: float = (now / base) ** (1.0 / years) - 1.0
    return round(100.0 * growth, 4)


def _years_between(start: date, end: date) -> float:
    return round((end - start).days / 365.25, 2)


def _share_over(by_year: Mapping[int, YearFiguresRecord], year: int, years: int) -> float | None:
    """R&D spend over revenue summed over ``years`` years to ``year``; unknown if any is missing."""
    rd = revenue = 0.0
    for y in range(year - years + 1, year + 1):
        row = by_year.get(y)
        if row is None:
            return None
        spend, sales = row.values["rd_spend_wan"], row.values["revenue_wan"]
        if spend is None or sales is None:
            return None
        rd += spend
        revenue += sales
    return _ratio(rd, revenue)


def file_facts(record: EnterpriseFileRecord, as_of: date) -> dict[str, object]:
    facts: dict[str, object] = {
        "park_id": record.park_id,
        "key_enterprise": record.key_enterprise,
        "listed": record.listed,
    }
    if record.industry_code:
        facts["industry_code"] = record.industry_code
    if record.nbs_category:
        top = record.nbs_category[:2]
        facts["nbs_category"] = record.nbs_category
        facts["nbs_top"] = top
        facts["core_digital"] = top in ("01", "02", "03", "04")
    if record.established_on is not None:
        facts["years_since_established"] = _years_between(record.established_on, as_of)
    return facts


def figure_facts(figures: Sequence[YearFiguresRecord], year: int | None) -> dict[str, object]:
    """Facts of the given year (None: the newest with figures) and of the years before it."""
    by_year = {f.year: f for f in figures}
    if year is None:
        if not by_year:
            return {}
        year = max(by_year)
    row = by_year.get(year)
    facts: dict[str, object] = {"figures_year": year}
    if row is None:
        return facts
    v = row.values
    for name in (
        "revenue_wan",
        "output_value_wan",
        "rd_spend_wan",
        "staff",
        "tech_staff",
        "energy_tce",
        "total_assets_wan",
        "vc_raised_wan",
        "valuation_usd_yi",
        "global_share_rank",
        "niche_years",
    ):
        if v[name] is not None:
            facts[name] = v[name]
    derived: dict[str, object] = {
        "rd_share": _ratio(v["rd_spend_wan"], v["revenue_wan"]),
        "tech_staff_share": _ratio(v["tech_staff"], v["staff"]),
        "debt_ratio": _ratio(v["total_liabilities_wan"], v["total_assets_wan"]),
        "high_tech_revenue_share": _ratio(v["high_tech_revenue_wan"], v["revenue_wan"]),
        "main_business_share": _ratio(v["main_business_revenue_wan"], v["revenue_wan"]),
        "size_class": size_class(_int(v["staff"]), _float(v["revenue_wan"])),
        "rd_share_avg_3y": _share_over(by_year, year, 3),
        "rd_share_avg_4y": _share_over(by_year, year, 4),
    }
    base = by_year.get(year - 3)
    if base is not None:
        derived["revenue_base_3y_wan"] = base.values["revenue_wan"]
        derived["staff_base_3y"] = base.values["staff"]
        derived["revenue_cagr_3y"] = _cagr(v["revenue_wan"], base.values["revenue_wan"], 3)
        derived["staff_cagr_3y"] = _cagr(v["staff"], base.values["staff"], 3)
    two_before = by_year.get(year - 2)
    if two_before is not None:
        derived["main_business_growth_2y"] = _cagr(
            v["main_business_revenue_wan"], two_before.values["main_business_revenue_wan"], 2
        )
    last = by_year.get(year - 1)
    if v["new_equity_wan"] is not None and last is not None:
        before = last.values["new_equity_wan"]
        if before is not None:
            derived["new_equity_2y_wan"] = v["new_equity_wan"] + before
    facts.update({k: value for k, value in derived.items() if value is not None})
    return facts


def held_certifications(certifications: Sequence[CertificationRecord], day: date) -> list[str]:
    """The kinds held on ``day`` (granted by then, not expired), each once, in a fixed order."""
    return sorted({c.kind for c in certifications if c.held_on(day)})


def _int(value: float | int | None) -> int | None:
    return None if value is None else int(value)


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


class FactBook:
    """Gathers an enterprise's facts from the registry and the platform's measurements."""

    def __init__(
        self,
        registry: Registry,
        measures: Measures | None = None,
        tagger: Tagger | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._registry = registry
        self._measures = measures
        self._tagger = tagger
        self._today = today

    def enterprise_facts(self, enterprise_id: int, year: int | None = None) -> dict[str, object]:
        """Every known fact of the enterprise for ``year`` (None: its newest year with figures),
        tags last. Raises NotFoundError for an unknown enterprise."""
        record = self._registry.enterprise_file(enterprise_id)
        figures = self._registry.year_figures(enterprise_id)
        certifications = self._registry.certifications(enterprise_id)
        particulars = self._registry.particulars(enterprise_id)
        return self.facts_of(record, figures, certifications, year, particulars)

    def facts_many(self, enterprise_ids: Sequence[int]) -> dict[int, dict[str, object]]:
        """Many enterprises' facts from three registry reads, not three per enterprise (a
        policy's reach and the points ranking ask for the whole district); unknown ids left out."""
        wanted = set(enterprise_ids)
        figures = self._registry.all_year_figures()
        certifications: dict[int, list[CertificationRecord]] = {}
        for c in self._registry.certifications():
            certifications.setdefault(c.enterprise_id, []).append(c)
        particulars = self._registry.all_particulars()
        return {
            f.id: self.facts_of(
                f,
                figures.get(f.id, []),
                certifications.get(f.id, []),
                particulars=particulars.get(f.id),
            )
            for f in self._registry.enterprise_files()
            if f.id in wanted
        }

    def facts_of(
        self,
        record: EnterpriseFileRecord,
        figures: Sequence[YearFiguresRecord],
        certifications: Sequence[CertificationRecord],
        year: int | None = None,
        particulars: Mapping[str, ParticularRecord] | None = None,
    ) -> dict[str, object]:
        """The facts from records already read (district-wide tables read them all at once);
        ``particulars``: the enterprise's particulars as they stand (the policies' facts)."""
        today = self._today()
        as_of = today if year is None else min(today, date(year, 12, 31))
        facts = file_facts(record, as_of)
        facts.update(figure_facts(figures, year))
        for name, particular in (particulars or {}).items():
            if particular.value is not None:
                facts[name] = particular.value
        facts["certifications"] = held_certifications(certifications, as_of)
        if self._measures is not None:
            facts.update(self._measures.measured(record.id))
        if self._tagger is not None:
            facts["tags"] = self._tagger(facts)
        return facts


def enterprise_facts(
    registry: Registry,
    measures: Measures | None,
    enterprise_id: int,
    year: int | None = None,
    tagger: Tagger | None = None,
) -> dict[str, object]:
    """One enterprise's facts (see FactBook.enterprise_facts)."""
    return FactBook(registry, measures, tagger).enterprise_facts(enterprise_id, year)
