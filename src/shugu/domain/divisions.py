"""Administrative division codes (GB/T 2260) and their statistical extensions.

Six digits: province (2), prefecture (2), county (2). Statistical codes add three digits for the
township and three for the village, giving the 9- and 12-digit forms. Development zones and parks
often have no code of their own; a park is the platform's own entity, linked to the division it
lies in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shugu.domain.errors import ValidationError

#: Lengths of the county code and its township and village statistical forms.
DIVISION_CODE_LENGTHS = (6, 9, 12)

#: Province-level codes (the first two digits). This set has been stable for decades; a code whose
#: first two digits are not here is a typo, not a new province.
PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}


@dataclass(frozen=True, slots=True)
class NamedDivision:
    name_zh: str
    name_en: str


#: Divisions the platform's examples and demo data use (docs/domain.md, division codes). Not a
#: full gazetteer: a code missing here is still valid when it is well-formed.
KNOWN_DIVISIONS: dict[str, NamedDivision] = {
    "210200": NamedDivision("大连市", "Dalian"),
    "210211": NamedDivision("甘井子区", "Ganjingzi District"),
    "210211016": NamedDivision("凌水街道", "Lingshui Subdistrict"),
    "210213": NamedDivision("金州区", "Jinzhou District"),
    "230600": NamedDivision("大庆市", "Daqing"),
    "350100": NamedDivision("福州市", "Fuzhou"),
    "350112": NamedDivision("长乐区", "Changle District"),
}


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


@dataclass(frozen=True, slots=True)
class DivisionCode:
    code: str
    province: str
    prefecture: str
    county: str
    township: str | None
    village: str | None

    @property
    def level(self) -> DivisionLevel:
        """The most specific level the code names (trailing zero groups name the level above)."""
        if self.village is not None and self.village != "000":
            return DivisionLevel.VILLAGE
        if self.township is not None and self.township != "000":
            return DivisionLevel.TOWNSHIP
        if self.county != "00":
            return DivisionLevel.COUNTY
        if self.prefecture != "00":
            return DivisionLevel.PREFECTURE
        return DivisionLevel.PROVINCE

    @property
    def significant_prefix(self) -> str:
        """The digits that identify the division; every division inside it starts with them."""
        widths = {
            DivisionLevel.PROVINCE: 2,
            DivisionLevel.PREFECTURE: 4,
            DivisionLevel.COUNTY: 6,
            DivisionLevel.TOWNSHIP: 9,
            DivisionLevel.VILLAGE: 12,
        }
        return self.code[: widths[self.level]]

    @property
    def province_name(self) -> str:
        return PROVINCES[self.province]

    @property
    def known_name(self) -> NamedDivision | None:
        return KNOWN_DIVISIONS.get(self.code)

    def contains(self, other: DivisionCode) -> bool:
        """Whether ``other`` is this division or lies inside it."""
        return other.code.startswith(self.significant_prefix)


def parse_division_code(
    code: str, *, field: str = "division_code", statistical: bool = True
) -> DivisionCode:
    """Check a division code; raise ValidationError naming ``field``.

    With ``statistical`` the 9- and 12-digit township and village forms are accepted too;
    without, only the six-digit GB/T 2260 code is.
    """
    cleaned = code.strip()
    lengths = DIVISION_CODE_LENGTHS if statistical else DIVISION_CODE_LENGTHS[:1]
    if len(cleaned) not in lengths:
        expected = (
            "6 digits (GB/T 2260), or 9 or 12 in its statistical forms"
            if statistical
            else "6 digits (GB/T 2260)"
        )
        raise ValidationError(
            f"a division code here has {expected}; {cleaned!r} has {len(cleaned)}",
            code="division_code_malformed",
            field=field,
        )
    for position, char in enumerate(cleaned, start=1):
        if not ("0" <= char <= "9"):
            raise ValidationError(
                f"a division code is made of digits; position {position} of {cleaned!r} "
                f"is {char!r}",
                code="division_code_malformed",
                field=field,
            )
    province = cleaned[:2]
    if province not in PROVINCES:
        raise ValidationError(
            f"{cleaned!r} starts with {province!r}, which is no province code of GB/T 2260",
            code="division_code_unknown_province",
            field=field,
        )
    return DivisionCode(
        code=cleaned,
        province=province,
        prefecture=cleaned[2:4],
        county=cleaned[4:6],
        township=cleaned[6:9] if len(cleaned) >= 9 else None,
        village=cleaned[9:12] if len(cleaned) == 12 else None,
    )


def division_name(code: str) -> str | None:
    """The Chinese name of a known division, or of the province for any other valid code."""
    division = parse_division_code(code)
    known = division.known_name
    if known is not None:
        return known.name_zh
    if division.level is DivisionLevel.PROVINCE:
        return division.province_name
    return None
