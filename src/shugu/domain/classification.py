"""Digital economy classification (数字经济及其核心产业统计分类(2021), NBS order No. 33).

Five top categories (大类) and 32 middle categories (中类). Categories 01-04 are the core
industries (数字产业化); 05 is the digitisation of other industries (产业数字化).

The names are confirmed; the four-digit codes follow list order and are inferred, so this table is
data that can be corrected in one place without touching the code that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shugu.domain.errors import ValidationError


@dataclass(frozen=True, slots=True)
class NbsCategory:
    code: str
    name_zh: str

    @property
    def top_code(self) -> str:
        return self.code[:2]

    @property
    def is_top(self) -> bool:
        return len(self.code) == 2

    @property
    def is_core_industry(self) -> bool:
        """Core digital-economy industries are the top categories 01-04."""
        return self.top_code in CORE_TOP_CODES


CORE_TOP_CODES = frozenset({"01", "02", "03", "04"})

_TABLE: tuple[tuple[str, str], ...] = (
    ("01", "数字产品制造业"),
    ("0101", "计算机制造"),
    ("0102", "通讯及雷达设备制造"),
    ("0103", "数字媒体设备制造"),
    ("0104", "智能设备制造"),
    ("0105", "电子元器件及设备制造"),
    ("0106", "其他数字产品制造业"),
    ("02", "数字产品服务业"),
    ("0201", "数字产品批发"),
    ("0202", "数字产品零售"),
    ("0203", "数字产品租赁"),
    ("0204", "数字产品维修"),
    ("0205", "其他数字产品服务业"),
    ("03", "数字技术应用业"),
    ("0301", "软件开发"),
    ("0302", "电信、广播电视和卫星传输服务"),
    ("0303", "互联网相关服务"),
    ("0304", "信息技术服务"),
    ("0305", "其他数字技术应用业"),
    ("04", "数字要素驱动业"),
    ("0401", "互联网平台"),
    ("0402", "互联网批发零售"),
    ("0403", "互联网金融"),
    ("0404", "数字内容与媒体"),
    ("0405", "信息基础设施建设"),
    ("0406", "数据资源与产权交易"),
    ("0407", "其他数字要素驱动业"),
    ("05", "数字化效率提升业"),
    ("0501", "智慧农业"),
    ("0502", "智能制造"),
    ("0503", "智能交通"),
    ("0504", "智慧物流"),
    ("0505", "数字金融"),
    ("0506", "数字商贸"),
    ("0507", "数字社会"),
    ("0508", "数字政府"),
    ("0509", "其他数字化效率提升业"),
)

NBS_CATEGORIES: dict[str, NbsCategory] = {
    code: NbsCategory(code=code, name_zh=name) for code, name in _TABLE
}


def top_categories() -> list[NbsCategory]:
    return [category for category in NBS_CATEGORIES.values() if category.is_top]


def middle_categories(top_code: str) -> list[NbsCategory]:
    return [
        category
        for category in NBS_CATEGORIES.values()
        if not category.is_top and category.top_code == top_code
    ]


def check_nbs_category(code: str, *, field: str = "nbs_category") -> NbsCategory:
    """Look up a top (2-digit) or middle (4-digit) category; raise ValidationError if unknown."""
    cleaned = code.strip()
    category = NBS_CATEGORIES.get(cleaned)
    if category is None:
        tops = ", ".join(f"{c.code} {c.name_zh}" for c in top_categories())
        raise ValidationError(
            f"{cleaned!r} is no category of the NBS digital-economy classification (2021); "
            f"use a 2-digit top category ({tops}) or one of its 4-digit middle categories",
            code="unknown_nbs_category",
            field=field,
        )
    return category
