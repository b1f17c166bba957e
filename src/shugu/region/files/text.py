"""Facts and shortfalls written for a person: "营收三年复合增长率 17.2 %，需 ≥ 20 %"."""

from __future__ import annotations

from datetime import date

from shugu.region.conditions import Lang, Shortfall, describe
from shugu.region.facts import FACT_DEFS


def fact_label(name: str, lang: str) -> str:
    d = FACT_DEFS.get(name)
    return d.label(lang) if d is not None else name


def fact_value(name: str, value: object, lang: str = "zh") -> str:
    """A fact's value with its unit (shares as "17.2 %", money as "1,200 万元")."""
    d = FACT_DEFS.get(name)
    unit = d.unit if d is not None else ""
    if isinstance(value, bool):
        if lang.startswith("zh"):
            return "是" if value else "否"
        return "yes" if value else "no"
    if isinstance(value, float):
        shown = f"{value:,.1f}" if abs(value) < 1e6 else f"{value:,.0f}"
        if shown.endswith(".0"):
            shown = shown[:-2]
    elif isinstance(value, int):
        shown = f"{value:,}"
    elif isinstance(value, date):
        return value.isoformat()
    elif isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    else:
        return str(value)
    if not unit or unit == "位":
        return shown
    return f"{shown} {unit}"


def shortfall_text(shortfall: Shortfall, lang: str) -> str:
    """One missing criterion in ``lang`` (zh or en)."""
    language: Lang = "zh" if lang.startswith("zh") else "en"
    return describe(
        shortfall,
        language,
        label=fact_label(shortfall.fact, language),
        fmt=lambda v: fact_value(shortfall.fact, v, language),
    )
