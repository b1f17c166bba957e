"""An enterprise's particulars (企业特定事项): the facts policies ask about that neither the
file's own fields nor its yearly figures hold (a pre-IPO filing, an investment in the district,
capital paid in, a lease and its rent, spending on equipment, talent and the cloud, patents).

The list below is the one definition of these facts: the policies' vocabulary reads it, the API
and the console check values against it, and the XLSX import takes its columns from it. Values
are recorded with who recorded them and when (the registry keeps the history); the newest value
of each is the fact the policies compute with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from shugu.domain.errors import ValidationError
from shugu.region.facts import FactDef, FactKind
from shugu.store.registry.region_particulars import ParticularRecord, ParticularValue


@dataclass(frozen=True, slots=True)
class Particular:
    name: str
    label_zh: str
    label_en: str
    unit: str
    kind: FactKind
    #: The range a value may take (numbers); beyond it a value is a typo, not a particular.
    minimum: float = 0.0
    maximum: float = 0.0

    @property
    def fact(self) -> FactDef:
        return FactDef(self.name, self.label_zh, self.label_en, self.unit, self.kind)

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en


_WAN = 1e8  # 万元: a trillion yuan is beyond any enterprise of a district

PARTICULARS: tuple[Particular, ...] = (
    Particular("pre_ipo", "拟上市企业", "pre-IPO firm", "", "bool"),
    Particular(
        "investment_in_district_wan",
        "区内落地投资",
        "investment in the district",
        "万元",
        "number",
        maximum=_WAN,
    ),
    Particular(
        "foreign_paid_in_usd_wan",
        "实缴外资",
        "foreign capital paid in",
        "万美元",
        "number",
        maximum=_WAN,
    ),
    Particular(
        "outside_province_capital_wan",
        "省外内资实缴资本",
        "domestic capital from outside the province",
        "万元",
        "number",
        maximum=_WAN,
    ),
    Particular(
        "paid_in_capital_wan", "实缴资本", "capital paid in", "万元", "number", maximum=_WAN
    ),
    Particular("in_designated_building", "入驻指定楼宇", "in a designated building", "", "bool"),
    Particular("leased_area_m2", "租用面积", "leased area", "m²", "number", maximum=1e7),
    Particular("rent_yuan_m2_month", "租金", "rent", "元/m²/月", "number", maximum=1e4),
    Particular(
        "equipment_investment_wan",
        "厂房及设备实际投资",
        "buildings and equipment invested",
        "万元",
        "number",
        maximum=_WAN,
    ),
    Particular(
        "talent_spend_wan", "人才投入", "spending on talent", "万元", "number", maximum=_WAN
    ),
    Particular(
        "cloud_spend_wan", "上云服务费用", "cloud service spending", "万元", "number", maximum=_WAN
    ),
    Particular(
        "invention_patents",
        "有效发明专利",
        "invention patents in force",
        "件",
        "int",
        maximum=1e6,
    ),
)
PARTICULAR_BY_NAME: dict[str, Particular] = {p.name: p for p in PARTICULARS}
#: The particulars as facts of the vocabulary (name, labels, unit, kind).
PARTICULAR_FACTS: dict[str, FactDef] = {p.name: p.fact for p in PARTICULARS}


def _invalid(name: str, message: str) -> ValidationError:
    return ValidationError(f"{name}: {message}", code="particular_invalid", field=name)


def check_value(p: Particular, value: object) -> ParticularValue:
    """One particular's value checked by its kind and range; None clears it."""
    if value is None:
        return None
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(p.name, "true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(p.name, "a number")
    # An int beyond a float's reach is beyond any range too.
    if isinstance(value, int) and not p.minimum <= value <= p.maximum:
        number = math.inf
    else:
        number = float(value)
    if not (math.isfinite(number) and p.minimum <= number <= p.maximum):
        raise ValidationError(
            f"{p.name}: a number from {p.minimum:.0f} to {p.maximum:.0f}",
            code="particular_out_of_range",
            field=p.name,
        )
    if p.kind == "int":
        if number != int(number):
            raise _invalid(p.name, "a whole number")
        return int(number)
    return number


def check_particulars(values: Mapping[str, object]) -> dict[str, ParticularValue]:
    """Particulars by name, each checked; an unknown name is refused."""
    out: dict[str, ParticularValue] = {}
    for name, value in values.items():
        p = PARTICULAR_BY_NAME.get(name)
        if p is None:
            raise ValidationError(
                f"{name!r} is no particular", code="particular_unknown", field=name[:64]
            )
        out[name] = check_value(p, value)
    return out


def particular_facts(records: Mapping[str, ParticularRecord]) -> dict[str, object]:
    """The facts from an enterprise's particulars as they stand (unknown names left out)."""
    return {
        name: r.value
        for name, r in records.items()
        if name in PARTICULAR_BY_NAME and r.value is not None
    }
