"""Policies (惠企政策) as XLSX: the policies in force, a policy's reach (who qualifies and the
amount each, who nearly qualifies and what is missing), the grant batches (免申即享) and one
batch's lines, an enterprise's entitlements line by line, and the innovation points ranking with
each indicator's points.

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
from shugu.store.registry.region_policies import GrantLineRecord

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


def _explained(line: GrantLineRecord, zh: bool) -> str:
    return ("；" if zh else "; ").join(
        str(step.get("zh" if zh else "en", "")) for step in line.explanation
    )


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
            "explanation": _explained(line, zh),
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


# -- the policies in force -----------------------------------------------------------------------

#: How a policy is redeemed, as the policy list names it.
REDEEM: dict[str, tuple[str, str]] = {
    "granted": ("免申即享", "Granted without applying (免申即享)"),
    "quick": ("快申快享", "Quick application (快申快享)"),
    "standard": ("按原程序申报", "Standard procedure"),
}

POLICY_COLUMNS = (
    Column("code", "政策编号", "Policy code"),
    Column("name", "政策名称", "Policy"),
    Column("document", "政策文号", "Document"),
    Column("department", "兑现部门", "Department"),
    Column("redeem", "兑现方式", "How it is redeemed"),
    Column("version", "版本", "Version", "int"),
    Column("saved_at", "保存时间", "Saved at", "date"),
)


def policies_xlsx(service: PolicyService, lang: Lang = "zh") -> bytes:
    """The policies in force as ``GET /api/region/policies`` lists them (public documents)."""
    zh = lang == "zh"
    rows: list[dict[str, Cell]] = [
        {
            "code": e.policy.code,
            "name": e.policy.name_zh if zh else e.policy.name_en,
            "document": e.policy.document,
            "department": e.policy.department,
            "redeem": _say(REDEEM.get(e.policy.redeem), e.policy.redeem, lang),
            "version": e.version,
            "saved_at": e.saved_at,
        }
        for e in service.policies()
    ]
    return write_table("惠企政策" if zh else "Policies", POLICY_COLUMNS, rows, lang)


# -- the grant batches ---------------------------------------------------------------------------

BATCHES_COLUMNS = (
    Column("batch", "批次编号", "Batch no.", "int"),
    Column("policy_code", "政策编号", "Policy code"),
    Column("policy", "政策名称", "Policy"),
    Column("version", "政策版本", "Policy version", "int"),
    Column("status", "状态", "Status"),
    Column("enterprises", "企业数", "Enterprises", "int"),
    Column("total_wan", "合计金额（万元）", "Total (10,000 yuan)", "decimal"),
    Column("computed_at", "生成时间", "Computed at", "date"),
    Column("computed_by", "生成人", "Computed by"),
    Column("decided_at", "审批时间", "Decided at", "date"),
    Column("decided_by", "审批人", "Decided by"),
    Column("objections_until", "异议截止日", "Objections until", "date"),
)


def _policy_names(service: PolicyService, lang: Lang) -> dict[str, str]:
    zh = lang == "zh"
    return {e.policy.code: e.policy.name_zh if zh else e.policy.name_en for e in service.policies()}


def batches_xlsx(service: PolicyService, access: Access, lang: Lang = "zh") -> bytes:
    """The grant batches (免申即享) as the grant lists page shows them, newest first."""
    batches = service.batches(access)
    policies = _policy_names(service, lang)
    rows: list[dict[str, Cell]] = [
        {
            "batch": b.id,
            "policy_code": b.policy_code,
            "policy": policies.get(b.policy_code, ""),
            "version": b.policy_version,
            "status": _say(_BATCH_STATUS.get(b.status), b.status, lang),
            "enterprises": len(b.lines),
            "total_wan": b.total_wan,
            "computed_at": b.computed_at,
            "computed_by": b.computed_by,
            "decided_at": b.decided_at,
            "decided_by": b.decided_by or "",
            "objections_until": b.objections_until,
        }
        for b in batches
    ]
    title = "免申即享兑现批次" if lang == "zh" else "Grant batches"
    return write_table(title, BATCHES_COLUMNS, rows, lang)


# -- one enterprise's entitlements ---------------------------------------------------------------

ENTITLEMENT_COLUMNS = (
    Column("line", "明细编号", "Line no.", "int"),
    Column("batch", "批次编号", "Batch no.", "int"),
    Column("policy_code", "政策编号", "Policy code"),
    Column("policy", "政策名称", "Policy"),
    Column("status", "状态", "Status"),
    Column("computed_wan", "测算金额（万元）", "Computed (10,000 yuan)", "decimal"),
    Column("amount_wan", "兑现金额（万元）", "Amount (10,000 yuan)", "decimal"),
    Column("explanation", "测算说明", "How it is computed"),
    Column("objections_until", "异议截止日", "Objections until", "date"),
    Column("objection", "异议理由", "Objection"),
    Column("objected_at", "异议时间", "Objected at", "date"),
)


def entitlements_xlsx(
    service: PolicyService, access: Access, enterprise_id: int, lang: Lang = "zh"
) -> bytes:
    """What the enterprise is entitled to, line by line, as its policies page lists it."""
    lines = service.entitlements(access, enterprise_id)
    policies = _policy_names(service, lang)
    zh = lang == "zh"
    rows: list[dict[str, Cell]] = [
        {
            "line": line.id,
            "batch": line.batch_id,
            "policy_code": line.policy_code,
            "policy": policies.get(line.policy_code, ""),
            "status": _say(LINE_STATUS.get(line.status), line.status, lang),
            "computed_wan": line.computed_wan,
            "amount_wan": line.amount_wan,
            "explanation": _explained(line, zh),
            "objections_until": line.objections_until,
            "objection": line.objection or "",
            "objected_at": line.objected_at,
        }
        for line in lines
    ]
    name = _names(service).get(enterprise_id, "")
    title = "免申即享兑现明细" if zh else "Entitlements"
    return write_table(title, ENTITLEMENT_COLUMNS, rows, lang, info=[name])
