"""The facts policies speak of, named and written with their units: the enterprise file's
vocabulary (``region/facts.py``) and the few facts only a policy asks for (a lease, an investment
the policy rewards), which an enterprise's file holds once the bureau records them."""

from __future__ import annotations

from datetime import date

from shugu.region.facts import FACT_DEFS, FactDef, FactKind

_POLICY_FACTS: tuple[tuple[str, str, str, str, FactKind], ...] = (
    ("pre_ipo", "拟上市企业", "pre-IPO firm", "", "bool"),
    ("investment_in_district_wan", "区内落地投资", "investment in the district", "万元", "number"),
    ("foreign_paid_in_usd_wan", "实缴外资", "foreign capital paid in", "万美元", "number"),
    (
        "outside_province_capital_wan",
        "省外内资实缴资本",
        "domestic capital from outside the province",
        "万元",
        "number",
    ),
    ("paid_in_capital_wan", "实缴资本", "capital paid in", "万元", "number"),
    ("in_designated_building", "入驻指定楼宇", "in a designated building", "", "bool"),
    ("leased_area_m2", "租用面积", "leased area", "m²", "number"),
    ("rent_yuan_m2_month", "租金", "rent", "元/m²/月", "number"),
    (
        "equipment_investment_wan",
        "厂房及设备实际投资",
        "buildings and equipment invested",
        "万元",
        "number",
    ),
    ("talent_spend_wan", "人才投入", "spending on talent", "万元", "number"),
    ("cloud_spend_wan", "上云服务费用", "cloud service spending", "万元", "number"),
    ("invention_patents", "有效发明专利", "invention patents in force", "件", "int"),
)
POLICY_FACTS: dict[str, FactDef] = {
    name: FactDef(name, zh, en, unit, kind) for name, zh, en, unit, kind in _POLICY_FACTS
}


def fact_def(name: str) -> FactDef | None:
    return FACT_DEFS.get(name) or POLICY_FACTS.get(name)


def label(name: str, lang: str) -> str:
    found = fact_def(name)
    return name if found is None else found.label(lang)


def number_text(value: float) -> str:
    """A figure as a person writes it: thousands separated, no trailing zeros."""
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def value_text(name: str, value: object, lang: str = "zh") -> str:
    """A fact's value with its unit: 1,200 万元, 17.2 %, 是 / yes, 高企、雏鹰."""
    found = fact_def(name)
    unit = "" if found is None else found.unit
    if isinstance(value, bool):
        if lang == "en":
            return "yes" if value else "no"
        return "是" if value else "否"
    if isinstance(value, int | float):
        shown = number_text(float(value))
        if not unit:
            return shown
        return f"{shown} %" if unit == "%" else f"{shown} {unit}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value) or "—"
    return str(value)
