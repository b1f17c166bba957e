"""The tiers board's evaluation (梯度培育) as XLSX: one row per enterprise and tier it holds,
qualifies for or is close to, with each missing criterion and how far off it is.

The rows are those ``GET /api/region/tiers/evaluation`` lists, so the export carries its rights
and filters. The largest gap stays a number (per cent of the needed value) to sort on; names are
text that never runs as a formula (``domain/xlsx_book.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from shugu.domain.xlsx_book import Cell
from shugu.region.files.service import FileRow
from shugu.region.files.text import shortfall_text
from shugu.region.files.tiers import TierStanding, tier_defs
from shugu.region.sheets import Column, Lang, write_table

#: A standing as the tiers board names it.
STANDING_LABELS: dict[str, tuple[str, str]] = {
    "held": ("已认定", "Holds it"),
    "qualifies": ("符合", "Qualifies"),
    "close": ("接近", "Close to it"),
    "far": ("差距较大", "Far from it"),
}

EVALUATION_COLUMNS = (
    Column("enterprise", "企业名称", "Enterprise"),
    Column("uscc", "统一社会信用代码", "USCC"),
    Column("park", "所在园区", "Park"),
    Column("tier", "梯度", "Tier"),
    Column("version", "标准版本", "Criteria version", "int"),
    Column("standing", "评估结果", "Standing"),
    Column("missing", "尚缺条件", "What is missing"),
    Column("missing_count", "尚缺条件数", "Criteria missing", "int"),
    Column("largest_gap_pct", "最大差距（%）", "Largest gap (%)", "decimal"),
)


def _largest_gap_pct(standing: TierStanding) -> float | None:
    gaps = [s.gap for s in standing.shortfalls if s.gap is not None]
    return round(max(gaps) * 100, 1) if gaps else None


def evaluation_xlsx(
    rows: Sequence[FileRow],
    parks: Mapping[int, str],
    wanted: Collection[str],
    lang: Lang = "zh",
) -> bytes:
    """Tier by tier in ladder order, the enterprises whose standing is ``wanted``."""
    zh = lang == "zh"
    separator = "；" if zh else "; "
    table: list[dict[str, Cell]] = []
    for i, tier in enumerate(tier_defs()):
        for row in rows:
            standing = row.standings[i]
            if standing.standing not in wanted:
                continue
            table.append(
                {
                    "enterprise": row.file.name,
                    "uscc": row.file.uscc,
                    "park": parks.get(row.file.park_id, ""),
                    "tier": tier.label(lang),
                    "version": standing.version,
                    "standing": STANDING_LABELS[standing.standing][0 if zh else 1],
                    "missing": separator.join(shortfall_text(s, lang) for s in standing.shortfalls),
                    "missing_count": len(standing.shortfalls),
                    "largest_gap_pct": _largest_gap_pct(standing),
                }
            )
    title = "梯度培育评估" if zh else "Tier evaluation"
    return write_table(title, EVALUATION_COLUMNS, table, lang)
