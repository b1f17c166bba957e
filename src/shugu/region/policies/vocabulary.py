"""The facts policies speak of, named and written with their units: the enterprise file's
vocabulary (``region/facts.py``) and the few facts only a policy asks for (a lease, an investment
the policy rewards): the particulars the file records (``region/files/particulars.py``)."""

from __future__ import annotations

from datetime import date

from shugu.region.facts import FACT_DEFS, FactDef
from shugu.region.files.particulars import PARTICULAR_FACTS

#: The facts only a policy asks for: the particulars an enterprise's file records.
POLICY_FACTS: dict[str, FactDef] = PARTICULAR_FACTS


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
