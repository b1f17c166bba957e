"""Policies (惠企政策): the policies in force and their versions, an enterprise's matches with the
amount explained, a policy's reach and total cost, grant batches of policies granted without
applying (免申即享) from compute to approval, entitlements and objections, innovation points.

Routes parse and shape; ``region/policies/service.py`` decides, rights included.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, PrincipalDep, ServicesDep
from shugu.api.downloads import download
from shugu.api.kpi_params import XLSX_RESPONSES
from shugu.api.services import Services
from shugu.region.policies import exports
from shugu.region.policies.formulas import Line
from shugu.region.policies.matching import Match
from shugu.region.policies.points import Score
from shugu.region.policies.service import PolicyEntry, PolicyService
from shugu.store.registry.region_policies import (
    GrantBatchRecord,
    GrantEventRecord,
    GrantLineRecord,
)

router = APIRouter(tags=["region-policies"])
#: A policy's definition (code, names, document, department, redeem, eligibility, benefit),
#: checked whole by ``region/policies/model.py``.
PolicyBody = Annotated[dict[str, Any], Body(description="a policy's definition")]
Lang = Literal["zh", "en"]


def _service(services: Services) -> PolicyService:
    return services.region.policies


class LineOut(BaseModel):
    zh: str
    en: str
    amount_wan: float | None = Field(description="what this step comes to, 万元")
    depth: int


class CheckOut(BaseModel):
    held: bool | None = Field(description="null for a group's heading (all / any / none of)")
    zh: str
    en: str
    depth: int


class PolicyOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    document: str
    department: str
    redeem: str = Field(description="granted (免申即享), quick (快申快享) or standard")
    version: int = Field(description="0: as shipped; 1 and up: the bureau's saved versions")
    saved_by: str | None
    saved_at: dt.datetime | None
    definition: dict[str, Any]


class MatchOut(BaseModel):
    policy_code: str
    policy_name_zh: str
    policy_name_en: str
    redeem: str
    enterprise_id: int
    status: Literal["qualifies", "nearly", "no"]
    amount_wan: float | None = Field(description="万元, when the enterprise qualifies")
    by_year: list[float] = Field(description="万元 per year, for benefits paid over years")
    checks: list[CheckOut]
    shortfalls: list[LineOut]
    lines: list[LineOut] = Field(description="how the amount is computed, step by step")


class ReachOut(BaseModel):
    policy: PolicyOut
    qualifying: list[MatchOut]
    nearly: list[MatchOut]
    total_wan: float = Field(description="the policy's cost over the qualifying enterprises")


class EventOut(BaseModel):
    at: dt.datetime
    kind: str
    by: str
    note: str
    line_id: int | None
    amount_before_wan: float | None
    amount_after_wan: float | None


class EntitlementOut(BaseModel):
    id: int
    batch_id: int
    policy_code: str
    enterprise_id: int
    status: str
    computed_wan: float
    amount_wan: float
    explanation: list[dict[str, Any]]
    facts: dict[str, Any]
    objection: str | None
    objected_by: str | None
    objected_at: dt.datetime | None
    objections_until: dt.date | None
    events: list[EventOut]


class BatchOut(BaseModel):
    id: int
    policy_code: str
    policy_version: int
    status: str
    total_wan: float
    computed_by: str
    computed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    objections_until: dt.date | None
    lines: list[EntitlementOut]
    events: list[EventOut]


class ScorePartOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    value: Any
    points: float
    max_points: float
    note_zh: str
    note_en: str


class ScoreOut(BaseModel):
    enterprise_id: int
    points: float
    max_points: float
    parts: list[ScorePartOut]


def _line(line: Line) -> LineOut:
    return LineOut(zh=line.zh, en=line.en, amount_wan=line.amount_wan, depth=line.depth)


def policy_out(entry: PolicyEntry) -> PolicyOut:
    p = entry.policy
    return PolicyOut(
        code=p.code,
        name_zh=p.name_zh,
        name_en=p.name_en,
        document=p.document,
        department=p.department,
        redeem=p.redeem,
        version=entry.version,
        saved_by=entry.saved_by,
        saved_at=entry.saved_at,
        definition=p.definition,
    )


def match_out(m: Match) -> MatchOut:
    return MatchOut(
        policy_code=m.policy.code,
        policy_name_zh=m.policy.name_zh,
        policy_name_en=m.policy.name_en,
        redeem=m.policy.redeem,
        enterprise_id=m.enterprise_id,
        status=m.status,
        amount_wan=m.amount_wan,
        by_year=list(m.benefit.by_year) if m.status == "qualifies" else [],
        checks=[CheckOut(held=c.held, zh=c.zh, en=c.en, depth=c.depth) for c in m.checks],
        shortfalls=[_line(x) for x in m.shortfalls],
        lines=[_line(x) for x in m.benefit.lines],
    )


def _event(e: GrantEventRecord) -> EventOut:
    return EventOut(
        at=e.at,
        kind=e.kind,
        by=e.by,
        note=e.note,
        line_id=e.line_id,
        amount_before_wan=e.amount_before,
        amount_after_wan=e.amount_after,
    )


def entitlement_out(r: GrantLineRecord) -> EntitlementOut:
    return EntitlementOut(
        id=r.id,
        batch_id=r.batch_id,
        policy_code=r.policy_code,
        enterprise_id=r.enterprise_id,
        status=r.status,
        computed_wan=r.computed_wan,
        amount_wan=r.amount_wan,
        explanation=r.explanation,
        facts=r.facts,
        objection=r.objection,
        objected_by=r.objected_by,
        objected_at=r.objected_at,
        objections_until=r.objections_until,
        events=[_event(e) for e in r.events],
    )


def batch_out(b: GrantBatchRecord) -> BatchOut:
    return BatchOut(
        id=b.id,
        policy_code=b.policy_code,
        policy_version=b.policy_version,
        status=b.status,
        total_wan=b.total_wan,
        computed_by=b.computed_by,
        computed_at=b.computed_at,
        decided_by=b.decided_by,
        decided_at=b.decided_at,
        objections_until=b.objections_until,
        lines=[entitlement_out(line) for line in b.lines],
        events=[_event(e) for e in b.events],
    )


def score_out(s: Score, max_points: float) -> ScoreOut:
    return ScoreOut(
        enterprise_id=s.enterprise_id,
        points=s.points,
        max_points=max_points,
        parts=[
            ScorePartOut(
                key=p.key,
                label_zh=p.label_zh,
                label_en=p.label_en,
                value=p.value,
                points=p.points,
                max_points=p.max_points,
                note_zh=p.note_zh,
                note_en=p.note_en,
            )
            for p in s.parts
        ],
    )


# -- policies ----------------------------------------------------------------------------------


@router.get("/api/region/policies")
def list_policies(access: AccessDep, services: ServicesDep) -> list[PolicyOut]:
    """Every policy in force, for every signed-in user (policies are public documents)."""
    return [policy_out(e) for e in _service(services).policies()]


@router.post("/api/region/policies", status_code=201)
def create_policy(
    principal: PrincipalDep,
    access: AccessDep,
    services: ServicesDep,
    body: PolicyBody,
) -> PolicyOut:
    """A new policy, or a new version of an existing code; the bureau's alone."""
    entry = _service(services).save_policy(access, body, principal.username)
    return policy_out(entry)


@router.get("/api/region/policies/export.xlsx", responses=XLSX_RESPONSES)
def policies_xlsx(access: AccessDep, services: ServicesDep, lang: Lang = "zh") -> Response:
    """The policies in force as ``GET /api/region/policies`` lists them, as XLSX."""
    return download(exports.policies_xlsx(_service(services), lang), "policies.xlsx")


@router.get("/api/region/policies/{code}")
def get_policy(code: str, access: AccessDep, services: ServicesDep) -> PolicyOut:
    return policy_out(_service(services).policy(code))


@router.put("/api/region/policies/{code}")
def update_policy(
    code: str,
    principal: PrincipalDep,
    access: AccessDep,
    services: ServicesDep,
    body: PolicyBody,
) -> PolicyOut:
    """A new version of the policy; the versions before stay readable."""
    entry = _service(services).save_policy(access, body, principal.username, code=code)
    return policy_out(entry)


@router.get("/api/region/policies/{code}/versions")
def policy_versions(code: str, access: AccessDep, services: ServicesDep) -> list[PolicyOut]:
    return [policy_out(e) for e in _service(services).versions(code)]


@router.get("/api/region/policies/{code}/reach")
def policy_reach(code: str, access: AccessDep, services: ServicesDep) -> ReachOut:
    """Who qualifies (the bureau: the district; a park official: its park), the amount each and
    the total cost; who nearly qualifies."""
    reach = _service(services).reach(access, code)
    return ReachOut(
        policy=policy_out(reach.entry),
        qualifying=[match_out(m) for m in reach.qualifying],
        nearly=[match_out(m) for m in reach.nearly],
        total_wan=reach.total_wan,
    )


@router.get("/api/region/policies/{code}/reach.xlsx", responses=XLSX_RESPONSES)
def policy_reach_xlsx(
    code: str, access: AccessDep, services: ServicesDep, lang: Lang = "zh"
) -> Response:
    """The reach as ``…/reach`` gives it, as XLSX: qualifying (amounts in 万元) and nearly."""
    data = exports.reach_xlsx(_service(services), access, code, lang)
    return download(data, f"policy-reach-{code}.xlsx")


@router.get("/api/region/enterprises/{enterprise_id}/policies")
def enterprise_policies(
    enterprise_id: int, access: AccessDep, services: ServicesDep
) -> list[MatchOut]:
    """Every policy against the enterprise: qualifying (with the amount explained), nearly
    (with what is missing), the rest."""
    return [match_out(m) for m in _service(services).for_enterprise(access, enterprise_id)]


# -- grant batches (免申即享) -------------------------------------------------------------------


class ComputeBody(BaseModel):
    policy_code: str = Field(max_length=40)


class DecideBody(BaseModel):
    objection_days: int | None = Field(
        default=None, description="days enterprises may object (default from the policy data)"
    )


@router.get("/api/region/grant-batches")
def list_batches(access: AccessDep, services: ServicesDep) -> list[BatchOut]:
    return [batch_out(b) for b in _service(services).batches(access)]


@router.post("/api/region/grant-batches", status_code=201)
def compute_batch(
    body: ComputeBody, principal: PrincipalDep, access: AccessDep, services: ServicesDep
) -> BatchOut:
    """Compute and freeze the list a policy granted without applying pays."""
    batch = _service(services).compute_batch(access, body.policy_code, principal.username)
    return batch_out(batch)


@router.get("/api/region/grant-batches/export.xlsx", responses=XLSX_RESPONSES)
def batches_xlsx(access: AccessDep, services: ServicesDep, lang: Lang = "zh") -> Response:
    """The grant batches as ``GET /api/region/grant-batches`` lists them, as XLSX."""
    return download(exports.batches_xlsx(_service(services), access, lang), "grant-batches.xlsx")


@router.get("/api/region/grant-batches/{batch_id}")
def get_batch(batch_id: int, access: AccessDep, services: ServicesDep) -> BatchOut:
    return batch_out(_service(services).batch(access, batch_id))


@router.get("/api/region/grant-batches/{batch_id}/export.xlsx", responses=XLSX_RESPONSES)
def batch_xlsx(
    batch_id: int, access: AccessDep, services: ServicesDep, lang: Lang = "zh"
) -> Response:
    """The batch's lines (one per enterprise, amounts in 万元) as XLSX."""
    data = exports.batch_xlsx(_service(services), access, batch_id, lang)
    return download(data, f"grant-batch-{batch_id}.xlsx")


@router.post("/api/region/grant-batches/{batch_id}/approve")
def approve_batch(
    batch_id: int,
    principal: PrincipalDep,
    access: AccessDep,
    services: ServicesDep,
    body: DecideBody | None = None,
) -> BatchOut:
    """Approve the whole list in one step; enterprises may object from now on."""
    days = None if body is None else body.objection_days
    batch = _service(services).decide(
        access, batch_id, principal.username, approve=True, objection_days=days
    )
    return batch_out(batch)


@router.post("/api/region/grant-batches/{batch_id}/discard")
def discard_batch(
    batch_id: int, principal: PrincipalDep, access: AccessDep, services: ServicesDep
) -> BatchOut:
    batch = _service(services).decide(access, batch_id, principal.username, approve=False)
    return batch_out(batch)


# -- entitlements and objections -----------------------------------------------------------------


class ObjectionBody(BaseModel):
    reason: str = Field(max_length=2000)


class ResolutionBody(BaseModel):
    decision: Literal["upheld", "rejected"]
    amount_wan: float | None = Field(
        default=None, description="upheld: the new amount in 万元 (0 or none removes it)"
    )
    note: str = Field(max_length=2000)


@router.get("/api/region/enterprises/{enterprise_id}/entitlements")
def enterprise_entitlements(
    enterprise_id: int, access: AccessDep, services: ServicesDep
) -> list[EntitlementOut]:
    lines = _service(services).entitlements(access, enterprise_id)
    return [entitlement_out(line) for line in lines]


@router.get(
    "/api/region/enterprises/{enterprise_id}/entitlements/export.xlsx", responses=XLSX_RESPONSES
)
def entitlements_xlsx(
    enterprise_id: int, access: AccessDep, services: ServicesDep, lang: Lang = "zh"
) -> Response:
    """The enterprise's entitlements, line by line (amounts in 万元), as XLSX."""
    data = exports.entitlements_xlsx(_service(services), access, enterprise_id, lang)
    return download(data, f"entitlements-{enterprise_id}.xlsx")


@router.post("/api/region/entitlements/{line_id}/objection")
def object_to_entitlement(
    line_id: int,
    body: ObjectionBody,
    principal: PrincipalDep,
    access: AccessDep,
    services: ServicesDep,
) -> EntitlementOut:
    """The enterprise's administrators object, with a reason, within the window."""
    line = _service(services).object(access, line_id, principal.username, body.reason)
    return entitlement_out(line)


@router.post("/api/region/entitlements/{line_id}/resolution")
def resolve_objection(
    line_id: int,
    body: ResolutionBody,
    principal: PrincipalDep,
    access: AccessDep,
    services: ServicesDep,
) -> EntitlementOut:
    line = _service(services).resolve(
        access,
        line_id,
        principal.username,
        upheld=body.decision == "upheld",
        amount_wan=body.amount_wan,
        note=body.note,
    )
    return entitlement_out(line)


# -- innovation points -------------------------------------------------------------------------


@router.get("/api/region/innovation-points")
def points_ranking(access: AccessDep, services: ServicesDep) -> list[ScoreOut]:
    """The ranking (the bureau: the district; a park official: its park), highest first."""
    service = _service(services)
    top = service.model.max_points
    return [score_out(s, top) for s in service.points_ranking(access)]


@router.get("/api/region/innovation-points/export.xlsx", responses=XLSX_RESPONSES)
def points_ranking_xlsx(access: AccessDep, services: ServicesDep, lang: Lang = "zh") -> Response:
    """The ranking as XLSX: rank, total points and each indicator's points."""
    data = exports.points_xlsx(_service(services), access, lang)
    return download(data, "innovation-points.xlsx")


@router.get("/api/region/enterprises/{enterprise_id}/innovation-points")
def enterprise_points(enterprise_id: int, access: AccessDep, services: ServicesDep) -> ScoreOut:
    service = _service(services)
    return score_out(service.points(access, enterprise_id), service.model.max_points)
