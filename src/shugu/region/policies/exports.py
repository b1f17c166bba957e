"""Policies (惠企政策) as XLSX: a policy's reach (who qualifies and the amount each, who nearly
qualifies and what is missing), a grant batch's lines (免申即享), and the innovation points
ranking with each indicator's points.

Each export asks the service for exactly what the JSON route gives, so it carries the same
rights; amounts stay numbers in 万元 and names are text that never runs as a formula.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shugu.domain.tenancy import Access
from shugu.domain.xlsx_book import Cell, Sheet, workbook
from shugu.region.policies.matching import Match
from shugu.region.policies.service import PolicyService
from shugu.region.sheets import Column, Lang, write_table

_MATCH_STATUS: dict[str, tuple[str, str]] = {
    "qualifies": ("符合", "Qualifies"),
    "nearly": ("接近符合", "Nearly qualifies"),
    "no": ("不符合", "Does not qualify"),
}
#: A grant line's status as the batch page names it.
LINE_STATUS: dict[str, tuple[str, str]] = {
    "listed": ("已列入", "Listed"),
    "granted": ("已兑现", "Granted"),
    "objected": ("异议中", "Objected"),
    "amended": ("已调整", "Amended"),
    "removed": ("已取消", "Removed"),
}
_BATCH_STATUS: dict[str, tuple[str, str]] = {
    "computed": ("已生成，待审批", "Computed, waiting for approval"),
    "approved": ("已审批", "Approved"),
    "discarded": ("已作废", "Discarded"),
}


def _say(pair: tuple[str, str] | None, fallback: str, lang: Lang) -> str:
    if pair is None:
        return fallback
    return pair[0] if lang == "zh" else pair[1]


def _names(service: PolicyService) -> dict[int, str]:
    return {e.id: e.name for e in service.registry.list_enterprises()}


# -- a policy's reach ----------------------------------------------------------------------------


def _reach_headers(lang: Lang) -> list[str]:
    if lang == "zh":
        return ["企业编号", "企业名称", "符合情况", "测算金额（万元）", "说明"]
    return ["Enterprise no.", "Enterprise", "Status", "Amount (10,000 yuan)", "Explanation"]


def _reach_rows(
    matches: Sequence[Match], names: Mapping[int, str], lang: Lang, *, nearly: bool
) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for m in matches:
        lines = m.shortfalls if nearly else m.benefit.lines
        said = "；".join(x.zh for x in lines) if lang == "zh" else "; ".join(x.en for x in lines)
        rows.append(
            [
                m.enterprise_id,
                names.get(m.enterprise_id, ""),
                _say(_MATCH_STATUS.get(m.status), m.status, lang),
                m.amount_wan,
                said,
            ]
        )
    return rows


def reach_xlsx(service: PolicyService, access: Access, code: str, lang: Lang = "zh") -> bytes:
    """Two sheets: the qualifying enterprises with the amount each and how it is computed (the
    total last), and the ones that nearly qualify with what they lack."""
    reach = service.reach(access, code)
    names = _names(service)
    zh = lang == "zh"
    policy = reach.entry.policy
    info = [
        f"{policy.code} {policy.name_zh if zh else policy.name_en}",
        f"{'版本' if zh else 'Version'} {reach.entry.version}",
    ]
    qualifying = _reach_rows(reach.qualifying, names, lang, nearly=False)
    qualifying.append(["", "合计" if zh else "Total", "", reach.total_wan, ""])
    sheets = [
        Sheet(
            title="符合条件企业" if zh else "Qualifying",
            info=info,
            headers=_reach_headers(lang),
            rows=qualifying,
        ),
        Sheet(
            title="接近符合企业" if zh else "Nearly qualifying",
            info=info,
            headers=[*_reach_headers(lang)[:4], "尚缺条件" if zh else "What is missing"],
            rows=_reach_rows(reach.nearly, names, lang, nearly=True),
        ),
    ]
    return workbook(f"{'政策覆盖' if zh else 'Policy reach'} {policy.code}", sheets)


# -- a grant batch -------------------------------------------------------------------------------

BATCH_COLUMNS = (
    Column("line", "明细编号", "Line no.", "int"),
    Column("enterprise_id", "企业编号", "Enterprise no.", "int"),
    Column("enterprise", "企业名称", "Enterprise"),
    Column("computed_wan", "测算金额（万元）", "Computed (10,000 yuan)", "decimal"),
    Column("amount_wan", "兑现金额（万元）", "Amount (10,000 yuan)", "decimal"),
    Column("status", "状态", "Status"),
    Column("explanation", "测算说明", "How it is computed"),
    Column("objection", "异议理由", "Objection"),
    Column("objected_at", "异议时间", "Objected at", "date"),
)


def batch_xlsx(service: PolicyService, access: Access, batch_id: int, lang: Lang = "zh") -> bytes:
    """The batch's lines, one per enterprise, as the batch page lists them."""
    batch = service.batch(access, batch_id)
    names = _names(service)
    zh = lang == "zh"
    rows: list[dict[str, Cell]] = [
        {
            "line": line.id,
            "enterprise_id": line.enterprise_id,
            "enterprise": names.get(line.enterprise_id, ""),
            "computed_wan": line.computed_wan,
            "amount_wan": line.amount_wan,
            "status": _say(LINE_STATUS.get(line.status), line.status, lang),
            "explanation": ("；" if zh else "; ").join(
                str(step.get("zh" if zh else "en", "")) for step in line.explanation
            ),
            "objection": line.objection or "",
            "objected_at": line.objected_at,
        }
        for line in batch.lines
    ]
    info = [
        f"{batch.policy_code} v{batch.policy_version}",
        _say(_BATCH_STATUS.get(batch.status), batch.status, lang),
        f"{'合计（万元）' if zh else 'Total (10,000 yuan)'} {batch.total_wan:g}",
    ]
    title = f"兑现批次 {batch.id}" if zh else f"Grant batch {batch.id}"
    return write_table(title, BATCH_COLUMNS, rows, lang, info=info)


# -- innovation points ---------------------------------------------------------------------------


def points_xlsx(service: PolicyService, access: Access, lang: Lang = "zh") -> bytes:
    """The ranking, highest first: rank, enterprise, total points, then each indicator's."""
    ranking = service.points_ranking(access)
    names = _names(service)
    zh = lang == "zh"
    indicators = service.model.indicators
    headers = (
        ["排名", "企业编号", "企业名称", "总分"]
        if zh
        else ["Rank", "Enterprise no.", "Enterprise", "Points"]
    )
    headers += [i.label_zh if zh else i.label_en for i in indicators]
    rows: list[list[Cell]] = []
    for rank, s in enumerate(ranking, start=1):
        parts = {p.key: p.points for p in s.parts}
        rows.append(
            [
                rank,
                s.enterprise_id,
                names.get(s.enterprise_id, ""),
                s.points,
                *(parts.get(i.key) for i in indicators),
            ]
        )
    model = service.model
    info = [
        f"{model.name_zh}（满分 {model.max_points:g}）"
        if zh
        else f"{model.name_en} (out of {model.max_points:g})"
    ]
    title = "创新积分排名" if zh else "Innovation points"
    return workbook(title, [Sheet(title=title, info=info, headers=headers, rows=rows)])
