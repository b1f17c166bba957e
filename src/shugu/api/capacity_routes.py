"""Shared capacity (统一调配产能): an enterprise's idle loom capacity, published or withdrawn; the
board of what enterprises published; requests for fabric with the offers ranked for them; matches
proposed, answered and closed with their outcome; the district's match counts.

Routes parse, authorise and shape; ``analytics/capacity_service.py`` decides. An enterprise's
own idle capacity is made from its machine values, so reading it needs machine access
(``api/scope.py``: the bureau and the operator with the enterprise's consent); what it
published is seen by every signed-in user, as sums per loom type, width class and day only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from shugu.analytics import capacity_service as cs
from shugu.analytics.capacity import CapacityCell, RankedOffer
from shugu.analytics.capacity_input import DENSITY_RANGE, number
from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.scope import require_machine_access
from shugu.store.registry.capacity import (
    CapacityRequestRecord,
    MatchCounts,
    PublicationRecord,
)

router = APIRouter(tags=["capacity"])


def _looms(request: Request) -> cs.LoomSource | None:
    return cs.loom_source_of(request.app.state)


LoomsDep = Annotated[cs.LoomSource | None, Depends(_looms)]
PicksPerCm = Annotated[
    float,
    Query(description="weft density (picks per cm) the metres are given for"),
]


def _density(value: float) -> float:
    return number(value, "picks_per_cm", "capacity_density_invalid", *DENSITY_RANGE)


class CellOut(BaseModel):
    loom_type: str | None = Field(description="air_jet, rapier, water_jet; null: not stated")
    width_class_cm: int | None = Field(description="loom width floored to 10 cm; null: unknown")
    day: dt.date
    loom_hours: float
    effective_hours: float = Field(description="loom-hours × the looms' recent efficiency")
    metres: float = Field(description="fabric of the asked weft density these hours weave")
    efficiency: float | None


def _cells(cells: tuple[CapacityCell, ...] | list[CapacityCell], density: float) -> list[CellOut]:
    return [
        CellOut(
            loom_type=c.loom_type,
            width_class_cm=c.width_class_cm,
            day=c.day,
            loom_hours=round(c.loom_hours, 2),
            effective_hours=round(c.effective_hours, 2),
            metres=round(c.metres(density), 1),
            efficiency=None if c.efficiency is None else round(c.efficiency, 4),
        )
        for c in cells
    ]


class PublicationOut(BaseModel):
    enterprise_id: int
    active: bool
    days: int
    hold_back: float
    published_by: str
    published_at: dt.datetime
    refreshed_at: dt.datetime
    withdrawn_at: dt.datetime | None
    cells: list[CellOut]


def _publication(record: PublicationRecord, density: float) -> PublicationOut:
    return PublicationOut(
        enterprise_id=record.enterprise_id,
        active=record.active,
        days=record.days,
        hold_back=record.hold_back,
        published_by=record.published_by,
        published_at=record.published_at,
        refreshed_at=record.refreshed_at,
        withdrawn_at=record.withdrawn_at,
        cells=_cells(cs.published_cells(record), density),
    )


class IdleOut(BaseModel):
    enterprise_id: int
    picks_per_cm: float
    days: list[dt.date]
    looms: int
    waiting_now: int = Field(description="looms waiting for an order now")
    lacking: dict[str, int] = Field(
        description="looms without loom_type, width_cm, rated_speed_rpm"
    )
    source_available: bool = Field(description="false: this server does not know its looms yet")
    cells: list[CellOut]
    publication: PublicationOut | None


@router.get("/api/enterprises/{enterprise_id}/capacity")
def idle_capacity(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    looms: LoomsDep,
    days: int = 7,
    picks_per_cm: PicksPerCm = cs.REFERENCE_PICKS_PER_CM,
) -> IdleOut:
    """The enterprise's idle loom capacity on the coming ``days`` days (from tomorrow, China
    time), per loom type, width class and day, and its publication if any."""
    require_machine_access(access, enterprise_id)
    density = _density(picks_per_cm)
    view = cs.idle_view(services.registry, looms, enterprise_id, days)
    capacity = view.capacity
    return IdleOut(
        enterprise_id=enterprise_id,
        picks_per_cm=density,
        days=list(capacity.days),
        looms=capacity.looms,
        waiting_now=capacity.waiting_now,
        lacking=dict(capacity.lacking),
        source_available=view.source_available,
        cells=_cells(capacity.cells, density),
        publication=None if view.publication is None else _publication(view.publication, density),
    )


class PublishIn(BaseModel):
    days: float = Field(7, description="how many coming days to publish, 1–14")
    hold_back: float = Field(0.0, description="share of the idle capacity kept back, 0–0.9")


@router.put("/api/enterprises/{enterprise_id}/capacity/publication")
def publish(
    enterprise_id: int,
    body: PublishIn,
    access: AccessDep,
    services: ServicesDep,
    looms: LoomsDep,
) -> PublicationOut:
    """Publish (or republish) the enterprise's idle capacity: sums per loom type, width class
    and day, never a machine; computed again every hour while published."""
    record = cs.publish(services.registry, looms, access, enterprise_id, body.days, body.hold_back)
    return _publication(record, cs.REFERENCE_PICKS_PER_CM)


@router.delete("/api/enterprises/{enterprise_id}/capacity/publication", status_code=204)
def withdraw(enterprise_id: int, access: AccessDep, services: ServicesDep) -> Response:
    cs.withdraw(services.registry, access, enterprise_id)
    return Response(status_code=204)


class BoardOfferOut(BaseModel):
    enterprise_id: int
    enterprise_name: str
    refreshed_at: dt.datetime
    cells: list[CellOut]


class BoardOut(BaseModel):
    picks_per_cm: float
    days: list[dt.date]
    totals: list[CellOut]
    offers: list[BoardOfferOut]


@router.get("/api/capacity/board")
def capacity_board(
    access: AccessDep,
    services: ServicesDep,
    looms: LoomsDep,
    picks_per_cm: PicksPerCm = cs.REFERENCE_PICKS_PER_CM,
) -> BoardOut:
    """What enterprises published, per loom type, width class and day, summed and by
    enterprise."""
    del access  # any signed-in user
    density = _density(picks_per_cm)
    board = cs.board(services.registry, looms)
    return BoardOut(
        picks_per_cm=density,
        days=list(board.days),
        totals=_cells(board.totals, density),
        offers=[
            BoardOfferOut(
                enterprise_id=o.enterprise_id,
                enterprise_name=o.enterprise_name,
                refreshed_at=o.publication.refreshed_at,
                cells=_cells(o.cells, density),
            )
            for o in board.offers
        ],
    )


class StatsOut(BaseModel):
    by_status: dict[str, int]
    delivered_m: float
    on_time: int
    late: int
    open_requests: int
    publications: int


@router.get("/api/capacity/stats")
def capacity_stats(access: AccessDep, services: ServicesDep) -> StatsOut:
    """The district's matches counted by state, metres delivered, on time and late; open
    requests and live publications (the bureau and the operator)."""
    counts: MatchCounts = cs.match_counts(services.registry, access)
    return StatsOut(
        by_status=counts.by_status,
        delivered_m=counts.delivered_m,
        on_time=counts.on_time,
        late=counts.late,
        open_requests=counts.open_requests,
        publications=counts.publications,
    )


# -- requests --------------------------------------------------------------------------------


class RequestIn(BaseModel):
    fabric: str = Field(description="the fabric, as the trade names it (1–200 characters)")
    loom_type: str | None = Field(None, description="air_jet, rapier, water_jet; null: any")
    min_width_cm: float = Field(description="the narrowest loom that can weave it, cm")
    picks_per_cm: float = Field(description="weft density, picks per cm")
    metres: float = Field(description="how much fabric, m")
    deadline: str = Field(description="the day it is due, YYYY-MM-DD (China time)")


class RequestOut(BaseModel):
    id: int
    enterprise_id: int
    fabric: str
    loom_type: str | None
    min_width_cm: float
    picks_per_cm: float
    metres: float
    deadline: dt.date
    status: str
    created_by: str
    created_at: dt.datetime
    closed_by: str | None
    closed_at: dt.datetime | None


def _request(record: CapacityRequestRecord) -> RequestOut:
    return RequestOut(
        id=record.id,
        enterprise_id=record.enterprise_id,
        fabric=record.fabric,
        loom_type=record.loom_type,
        min_width_cm=record.min_width_cm,
        picks_per_cm=record.picks_per_cm,
        metres=record.metres,
        deadline=record.deadline,
        status=record.status,
        created_by=record.created_by,
        created_at=record.created_at,
        closed_by=record.closed_by,
        closed_at=record.closed_at,
    )


@router.get("/api/enterprises/{enterprise_id}/capacity-requests")
def list_requests(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[RequestOut]:
    return [_request(r) for r in cs.list_requests(services.registry, access, enterprise_id)]


@router.post("/api/enterprises/{enterprise_id}/capacity-requests", status_code=201)
def post_request(
    enterprise_id: int, body: RequestIn, access: AccessDep, services: ServicesDep
) -> RequestOut:
    """Ask for fabric to be woven by other enterprises' idle looms."""
    record = cs.post_request(services.registry, access, enterprise_id, body.model_dump())
    return _request(record)


class ScorePartOut(BaseModel):
    name: str = Field(description="cover, efficiency or fit")
    value: float = Field(description="0–1")
    weight: float
    points: float = Field(description="100 × value × weight")


class GroupOut(BaseModel):
    loom_type: str | None
    width_class_cm: int | None


class RankedOfferOut(BaseModel):
    offer_id: int
    enterprise_id: int
    enterprise_name: str
    score: float = Field(description="0–100, the sum of the parts' points")
    parts: list[ScorePartOut]
    metres: float = Field(description="of this fabric, woven before the deadline")
    loom_hours: float
    effective_hours: float
    efficiency: float | None
    groups: list[GroupOut]
    days: list[dt.date]


def _ranked(offer: RankedOffer, name: str) -> RankedOfferOut:
    return RankedOfferOut(
        offer_id=offer.offer_id,
        enterprise_id=offer.enterprise_id,
        enterprise_name=name,
        score=round(offer.score, 2),
        parts=[
            ScorePartOut(
                name=p.name, value=round(p.value, 4), weight=p.weight, points=round(p.points, 2)
            )
            for p in offer.parts
        ],
        metres=round(offer.metres, 1),
        loom_hours=round(offer.loom_hours, 2),
        effective_hours=round(offer.effective_hours, 2),
        efficiency=None if offer.efficiency is None else round(offer.efficiency, 4),
        groups=[GroupOut(loom_type=t, width_class_cm=w) for t, w in offer.groups],
        days=list(offer.days),
    )


class PartyOut(BaseModel):
    id: int
    name: str


class EventOut(BaseModel):
    at: dt.datetime
    kind: str = Field(description="proposed, accepted, declined, outcome")
    by: str
    side: str = Field(description="requester or offerer")
    note: str
    delivered_m: float | None
    on_time: bool | None


class MatchOut(BaseModel):
    id: int
    request: RequestOut
    requester: PartyOut
    offerer: PartyOut
    side: str | None = Field(description="the caller's side: requester or offerer")
    status: str = Field(description="proposed, accepted, declined, completed")
    ranking: dict[str, Any] = Field(description="the offer's score and parts when proposed")
    proposed_at: dt.datetime
    decided_at: dt.datetime | None
    delivered_m: float | None
    on_time: bool | None
    outcome_at: dt.datetime | None
    can_answer: bool
    can_record_outcome: bool
    events: list[EventOut]


def _match(view: cs.MatchView) -> MatchOut:
    match = view.match
    return MatchOut(
        id=match.id,
        request=_request(view.request),
        requester=PartyOut(id=match.requester_id, name=view.requester_name),
        offerer=PartyOut(id=match.offerer_id, name=view.offerer_name),
        side=view.side,
        status=match.status,
        ranking=match.ranking,
        proposed_at=match.proposed_at,
        decided_at=match.decided_at,
        delivered_m=match.delivered_m,
        on_time=match.on_time,
        outcome_at=match.outcome_at,
        can_answer=view.can_answer,
        can_record_outcome=view.can_record_outcome,
        events=[
            EventOut(
                at=e.at,
                kind=e.kind,
                by=e.by,
                side=e.side,
                note=e.note,
                delivered_m=e.delivered_m,
                on_time=e.on_time,
            )
            for e in match.events
        ],
    )


class RequestViewOut(BaseModel):
    request: RequestOut
    offers: list[RankedOfferOut] = Field(description="published capacity that fits, best first")
    excluded: dict[str, int] = Field(description="offers left out: loom_type, width, deadline")
    matches: list[MatchOut]


@router.get("/api/capacity-requests/{request_id}")
def get_request(
    request_id: int, access: AccessDep, services: ServicesDep, looms: LoomsDep
) -> RequestViewOut:
    """The request with other enterprises' published capacity ranked for it (fit, capacity
    before the deadline, recent efficiency; each part of the score shown)."""
    view = cs.request_view(services.registry, looms, access, request_id)
    return RequestViewOut(
        request=_request(view.request),
        offers=[_ranked(o.offer, o.enterprise_name) for o in view.offers],
        excluded=dict(view.excluded),
        matches=[_match(m) for m in view.matches],
    )


@router.post("/api/capacity-requests/{request_id}/close")
def close_request(request_id: int, access: AccessDep, services: ServicesDep) -> RequestOut:
    """No more proposals for this request (matches made stay)."""
    return _request(cs.close_request(services.registry, access, request_id))


class ProposeIn(BaseModel):
    enterprise_id: int = Field(description="the enterprise whose published capacity is chosen")
    note: str = Field("", description="a word to the offerer (at most 2,000 characters)")


@router.post("/api/capacity-requests/{request_id}/matches", status_code=201)
def propose(
    request_id: int, body: ProposeIn, access: AccessDep, services: ServicesDep, looms: LoomsDep
) -> MatchOut:
    """Propose the request to an enterprise whose published capacity fits it."""
    view = cs.propose(services.registry, looms, access, request_id, body.enterprise_id, body.note)
    return _match(view)


# -- matches ---------------------------------------------------------------------------------


@router.get("/api/enterprises/{enterprise_id}/capacity-matches")
def list_matches(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[MatchOut]:
    """Matches the enterprise is a party to, as requester or offerer, newest first."""
    return [_match(v) for v in cs.list_matches(services.registry, access, enterprise_id)]


@router.get("/api/capacity-matches/{match_id}")
def get_match(match_id: int, access: AccessDep, services: ServicesDep) -> MatchOut:
    return _match(cs.match_view(services.registry, access, match_id))


class AnswerIn(BaseModel):
    note: str = Field("", description="a word to the requester (at most 2,000 characters)")


@router.post("/api/capacity-matches/{match_id}/accept")
def accept(
    match_id: int, access: AccessDep, services: ServicesDep, body: AnswerIn | None = None
) -> MatchOut:
    """The offerer takes the order."""
    note = body.note if body is not None else ""
    return _match(cs.answer(services.registry, access, match_id, True, note))


@router.post("/api/capacity-matches/{match_id}/decline")
def decline(
    match_id: int, access: AccessDep, services: ServicesDep, body: AnswerIn | None = None
) -> MatchOut:
    note = body.note if body is not None else ""
    return _match(cs.answer(services.registry, access, match_id, False, note))


class OutcomeIn(BaseModel):
    delivered_m: float = Field(description="metres delivered")
    on_time: bool
    note: str = ""


@router.post("/api/capacity-matches/{match_id}/outcome")
def record_outcome(
    match_id: int, body: OutcomeIn, access: AccessDep, services: ServicesDep
) -> MatchOut:
    """Either party records what was delivered and whether on time; a later record corrects
    an earlier one, and both stay in the match's history."""
    return _match(cs.record_outcome(services.registry, access, match_id, body.model_dump()))
