"""Shared capacity (统一调配产能), the service the API's routes and the console's pages call:
idle capacity computed from the looms, published and withdrawn; requests for fabric; offers
ranked for a request; matches proposed, answered and closed with their outcome.

Who may do what: an enterprise's own administrators publish, post requests, propose, answer and
record outcomes; its own people read its requests and matches. A match is seen by its two
parties only. What an enterprise published (sums per loom type, width class and day) is seen by
every signed-in user; the district's match counts by the bureau and the operator. Nobody else
reads an enterprise's unpublished capacity: the routes ask ``api/scope.py`` for machine access
(it is made from machine values), and the operator and the bureau never act for an enterprise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Protocol, runtime_checkable

from shugu.analytics.capacity import (
    LOOM_TYPES,
    CapacityCell,
    CapacityNeed,
    IdleCapacity,
    LoomStatus,
    Offer,
    RankedOffer,
    Ranking,
    board_cells,
    day_start_ms,
    first_day,
    idle_capacity,
    rank_offers,
)
from shugu.analytics.capacity_input import (
    parse_days,
    parse_hold_back,
    parse_loom_type,
    parse_note,
    parse_outcome,
    parse_request,
)
from shugu.domain.errors import ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Access, Role
from shugu.domain.timeutil import utc_now_ms
from shugu.store.registry import Registry
from shugu.store.registry.capacity import (
    CapacityRequestRecord,
    MatchCounts,
    MatchRecord,
    PublicationRecord,
    Side,
)

#: A live publication older than this is computed again when the board is read.
REFRESH_AFTER_MS: Final = 3_600_000
#: The weft density the board's metres are shown for when none is asked.
REFERENCE_PICKS_PER_CM: Final = 30.0


@runtime_checkable
class LoomSource(Protocol):
    """What the analytics engine tells of an enterprise's looms (tests use a fake)."""

    def looms(self, enterprise_id: int) -> list[LoomStatus]: ...

    def planned_hours(self, enterprise_id: int, day_start_ms: int, days: int) -> list[float]:
        """Hours of planned production per loom on each of ``days`` days from ``day_start_ms``
        (the enterprise's shift calendar)."""
        ...


def loom_source_of(state: object) -> LoomSource | None:
    """The loom source of the running application, from its state (``app.state``): one set
    there as ``loom_source`` (tests), else the running analytics' (``services.analytics.looms``);
    None when the process has neither."""
    services = getattr(state, "services", None)
    analytics = getattr(services, "analytics", None)
    for source in (getattr(state, "loom_source", None), getattr(analytics, "looms", None)):
        if isinstance(source, LoomSource):
            return source
    return None


class NoLooms:
    """The loom source of a server whose analytics does not provide one: no looms known, so
    nothing is idle and nothing is offered."""

    def looms(self, enterprise_id: int) -> list[LoomStatus]:
        return []

    def planned_hours(self, enterprise_id: int, day_start_ms: int, days: int) -> list[float]:
        return [0.0] * days


# -- who may do what -------------------------------------------------------------------------


def require_capacity_member(access: Access, enterprise_id: int) -> None:
    """The enterprise's own people: its requests and matches are its business."""
    if not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such enterprise", code="not_found")
    if not access.principal.is_member_of(enterprise_id):
        raise ForbiddenError(
            "an enterprise's capacity requests and matches are seen by its own people only",
            code="capacity_members_only",
        )


def require_capacity_admin(access: Access, enterprise_id: int) -> None:
    """The enterprise's own administrators: they commit its looms and its orders."""
    require_capacity_member(access, enterprise_id)
    if access.role is not Role.ENTERPRISE_ADMIN:
        raise ForbiddenError(
            "only the enterprise's administrators publish capacity, post requests, propose, "
            "answer and record outcomes",
            code="capacity_admins_only",
        )


def may_trade(access: Access, enterprise_id: int) -> bool:
    return access.role is Role.ENTERPRISE_ADMIN and access.principal.is_member_of(enterprise_id)


def require_aggregates(access: Access) -> None:
    if not access.can_read_aggregates():
        raise ForbiddenError(
            "the district's match counts are for the bureau and the platform operator",
            code="forbidden",
        )


# -- cells as stored -------------------------------------------------------------------------


def cell_to_json(cell: CapacityCell) -> dict[str, Any]:
    return {
        "loom_type": cell.loom_type,
        "width_class_cm": cell.width_class_cm,
        "day": cell.day.isoformat(),
        "loom_hours": round(cell.loom_hours, 3),
        "effective_hours": round(cell.effective_hours, 3),
        "picks": round(cell.picks),
    }


def cell_from_json(raw: Mapping[str, Any]) -> CapacityCell:
    loom_type = raw.get("loom_type")
    width = raw.get("width_class_cm")
    return CapacityCell(
        loom_type=loom_type if loom_type in LOOM_TYPES else None,
        width_class_cm=int(width) if isinstance(width, int | float) else None,
        day=date.fromisoformat(str(raw["day"])),
        loom_hours=float(raw["loom_hours"]),
        effective_hours=float(raw["effective_hours"]),
        picks=float(raw["picks"]),
    )


def published_cells(record: PublicationRecord) -> list[CapacityCell]:
    return [cell_from_json(c) for c in record.cells]


# -- idle capacity and publishing ------------------------------------------------------------


def compute_idle(
    looms: LoomSource | None, enterprise_id: int, days: int, now_ms: int | None = None
) -> IdleCapacity:
    """The enterprise's idle capacity on the ``days`` days from tomorrow (China time)."""
    source = looms if looms is not None else NoLooms()
    days = parse_days(days)
    start = first_day(utc_now_ms() if now_ms is None else now_ms)
    planned = source.planned_hours(enterprise_id, day_start_ms(start), days)
    return idle_capacity(source.looms(enterprise_id), planned[:days], start)


def publish(
    registry: Registry,
    looms: LoomSource | None,
    access: Access,
    enterprise_id: int,
    days: object,
    hold_back: object = 0.0,
    now_ms: int | None = None,
) -> PublicationRecord:
    """Publish the enterprise's idle capacity for the next ``days`` days, keeping ``hold_back``
    (a share, 0–0.9) of it back: what others see is the sums, never a machine."""
    require_capacity_admin(access, enterprise_id)
    share = parse_hold_back(hold_back)
    capacity = compute_idle(looms, enterprise_id, parse_days(days), now_ms).held_back(share)
    cells = [cell_to_json(c) for c in capacity.cells]
    return registry.publish_capacity(
        enterprise_id, len(capacity.days), share, cells, access.principal.username
    )


@dataclass(frozen=True, slots=True)
class IdleView:
    """An enterprise's own idle capacity and what it has published."""

    capacity: IdleCapacity
    publication: PublicationRecord | None
    #: Whether the server knows its looms at all (without, every figure is zero).
    source_available: bool


def idle_view(
    registry: Registry,
    looms: LoomSource | None,
    enterprise_id: int,
    days: object = 7,
    now_ms: int | None = None,
) -> IdleView:
    """The enterprise's idle capacity now; the caller has checked that it may read it (it is
    made from machine values: ``api/scope.require_machine_access``)."""
    capacity = compute_idle(looms, enterprise_id, parse_days(days), now_ms)
    return IdleView(capacity, registry.get_publication(enterprise_id), looms is not None)


def withdraw(registry: Registry, access: Access, enterprise_id: int) -> PublicationRecord | None:
    require_capacity_admin(access, enterprise_id)
    return registry.withdraw_capacity(enterprise_id)


def refresh_stale(registry: Registry, looms: LoomSource | None, now_ms: int | None = None) -> int:
    """Compute again every live publication older than an hour, on its own terms (days, hold
    back); the number refreshed. Without a loom source the snapshots stay as they are."""
    if looms is None:
        return 0
    now = utc_now_ms() if now_ms is None else now_ms
    refreshed = 0
    for record in registry.list_publications():
        if now - int(record.refreshed_at.timestamp() * 1000) < REFRESH_AFTER_MS:
            continue
        capacity = compute_idle(looms, record.enterprise_id, record.days, now)
        cells = [cell_to_json(c) for c in capacity.held_back(record.hold_back).cells]
        if registry.refresh_publication(record.enterprise_id, cells) is not None:
            refreshed += 1
    return refreshed


@dataclass(frozen=True, slots=True)
class BoardOffer:
    """One enterprise's publication as others see it."""

    enterprise_id: int
    enterprise_name: str
    publication: PublicationRecord
    cells: tuple[CapacityCell, ...]


@dataclass(frozen=True, slots=True)
class Board:
    days: tuple[date, ...]
    #: Every publication summed per loom type, width class and day.
    totals: tuple[CapacityCell, ...]
    offers: tuple[BoardOffer, ...]


def board(registry: Registry, looms: LoomSource | None, now_ms: int | None = None) -> Board:
    """What enterprises published, from tomorrow on (stale snapshots computed again first).
    Every signed-in user reads it: publishing is the choice to be seen."""
    now = utc_now_ms() if now_ms is None else now_ms
    refresh_stale(registry, looms, now)
    start = first_day(now)
    names = _names(registry)
    offers = []
    for record in registry.list_publications():
        cells = tuple(c for c in published_cells(record) if c.day >= start)
        offers.append(
            BoardOffer(record.enterprise_id, names.get(record.enterprise_id, ""), record, cells)
        )
    totals = tuple(board_cells((o.cells for o in offers), start))
    days = tuple(sorted({c.day for c in totals}))
    return Board(days=days, totals=totals, offers=tuple(offers))


def _names(registry: Registry) -> dict[int, str]:
    return {e.id: e.name for e in registry.list_enterprises()}


# -- requests --------------------------------------------------------------------------------


def post_request(
    registry: Registry,
    access: Access,
    enterprise_id: int,
    fields: Mapping[str, object],
    now_ms: int | None = None,
) -> CapacityRequestRecord:
    require_capacity_admin(access, enterprise_id)
    new = parse_request(fields, now_ms)
    return registry.add_capacity_request(enterprise_id, new, access.principal.username)


def list_requests(
    registry: Registry, access: Access, enterprise_id: int
) -> list[CapacityRequestRecord]:
    require_capacity_member(access, enterprise_id)
    return registry.list_capacity_requests(enterprise_id)


def visible_request(registry: Registry, access: Access, request_id: int) -> CapacityRequestRecord:
    """A request of the caller's own enterprise (others' are not found)."""
    record = registry.get_capacity_request(request_id)
    if not access.can_see_enterprise(record.enterprise_id):
        raise NotFoundError("no such capacity request", code="not_found")
    require_capacity_member(access, record.enterprise_id)
    return record


def close_request(registry: Registry, access: Access, request_id: int) -> CapacityRequestRecord:
    record = visible_request(registry, access, request_id)
    require_capacity_admin(access, record.enterprise_id)
    return registry.close_capacity_request(request_id, access.principal.username)


def need_of(record: CapacityRequestRecord) -> CapacityNeed:
    return CapacityNeed(
        loom_type=parse_loom_type(record.loom_type),
        min_width_cm=record.min_width_cm,
        picks_per_cm=record.picks_per_cm,
        metres=record.metres,
        deadline=record.deadline,
    )


@dataclass(frozen=True, slots=True)
class NamedOffer:
    offer: RankedOffer
    enterprise_name: str


@dataclass(frozen=True, slots=True)
class RequestView:
    request: CapacityRequestRecord
    offers: tuple[NamedOffer, ...]
    excluded: Mapping[str, int]
    matches: tuple[MatchView, ...]


def _ranking(
    registry: Registry, looms: LoomSource | None, record: CapacityRequestRecord, now_ms: int
) -> Ranking:
    refresh_stale(registry, looms, now_ms)
    offers = [
        Offer(p.id, p.enterprise_id, published_cells(p))
        for p in registry.list_publications()
        if p.enterprise_id != record.enterprise_id
    ]
    return rank_offers(need_of(record), offers, first_day(now_ms))


def request_view(
    registry: Registry,
    looms: LoomSource | None,
    access: Access,
    request_id: int,
    now_ms: int | None = None,
) -> RequestView:
    """The request with the offers ranked for it (other enterprises' publications only) and
    the matches proposed so far."""
    now = utc_now_ms() if now_ms is None else now_ms
    record = visible_request(registry, access, request_id)
    ranking = _ranking(registry, looms, record, now)
    names = _names(registry)
    matches = registry.list_capacity_matches(record.enterprise_id, request_id=request_id)
    return RequestView(
        request=record,
        offers=tuple(NamedOffer(o, names.get(o.enterprise_id, "")) for o in ranking.offers),
        excluded=ranking.excluded,
        matches=tuple(_match_view(m, record, names, access) for m in matches),
    )


# -- matches ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchView:
    match: MatchRecord
    request: CapacityRequestRecord
    requester_name: str
    offerer_name: str
    #: The side of the caller's enterprise.
    side: Side | None
    can_answer: bool
    can_record_outcome: bool


def _match_view(
    match: MatchRecord, request: CapacityRequestRecord, names: Mapping[int, str], access: Access
) -> MatchView:
    side = (
        match.side_of(access.principal.enterprise_id)
        if access.principal.enterprise_id is not None and access.role.bound_to_enterprise
        else None
    )
    trader = side is not None and access.role is Role.ENTERPRISE_ADMIN
    return MatchView(
        match=match,
        request=request,
        requester_name=names.get(match.requester_id, ""),
        offerer_name=names.get(match.offerer_id, ""),
        side=side,
        can_answer=trader and side == "offerer" and match.status == "proposed",
        can_record_outcome=trader and match.status in ("accepted", "completed"),
    )


def ranking_json(offer: RankedOffer) -> dict[str, Any]:
    """An offer's score as a match keeps it: the parts that explain the choice."""
    return {
        "offer_id": offer.offer_id,
        "score": round(offer.score, 2),
        "parts": [
            {"name": p.name, "value": round(p.value, 4), "weight": p.weight} for p in offer.parts
        ],
        "metres": round(offer.metres, 1),
        "efficiency": None if offer.efficiency is None else round(offer.efficiency, 4),
        "days": [d.isoformat() for d in offer.days],
    }


def propose(
    registry: Registry,
    looms: LoomSource | None,
    access: Access,
    request_id: int,
    offerer_id: object,
    note: object = "",
    now_ms: int | None = None,
) -> MatchView:
    """Propose the request to an enterprise whose published capacity fits it."""
    now = utc_now_ms() if now_ms is None else now_ms
    record = visible_request(registry, access, request_id)
    require_capacity_admin(access, record.enterprise_id)
    text = parse_note(note)
    if not isinstance(offerer_id, int) or isinstance(offerer_id, bool):
        raise ValidationError(
            "enterprise_id must name the enterprise whose offer is chosen",
            code="capacity_offer_unknown",
            field="enterprise_id",
        )
    if offerer_id == record.enterprise_id:
        raise ValidationError(
            "an enterprise does not propose its own request to itself",
            code="capacity_own_offer",
            field="enterprise_id",
        )
    ranking = _ranking(registry, looms, record, now)
    chosen = next((o for o in ranking.offers if o.enterprise_id == offerer_id), None)
    if chosen is None:
        # Whether the enterprise published nothing or nothing that fits, it has no offer here.
        raise ValidationError(
            "that enterprise has no published capacity that fits this request",
            code="capacity_offer_unknown",
            field="enterprise_id",
        )
    match = registry.add_capacity_match(
        request_id, offerer_id, ranking_json(chosen), access.principal.username, text
    )
    return _match_view(match, record, _names(registry), access)


def visible_match(registry: Registry, access: Access, match_id: int) -> MatchRecord:
    """A match of which the caller's enterprise is a party; for others it does not exist (the
    bureau, the operator and the official of a party's park are told it is not theirs to
    read)."""
    match = registry.get_capacity_match(match_id)
    in_view = access.in_own_park(match.requester_id) or access.in_own_park(match.offerer_id)
    if access.role in (Role.BUREAU, Role.OPERATOR) or in_view:
        raise ForbiddenError(
            "a match is seen by its two parties only", code="capacity_members_only"
        )
    if access.principal.enterprise_id not in (match.requester_id, match.offerer_id):
        raise NotFoundError("no such capacity match", code="not_found")
    return match


def match_view(registry: Registry, access: Access, match_id: int) -> MatchView:
    match = visible_match(registry, access, match_id)
    request = registry.get_capacity_request(match.request_id)
    return _match_view(match, request, _names(registry), access)


def list_matches(registry: Registry, access: Access, enterprise_id: int) -> list[MatchView]:
    require_capacity_member(access, enterprise_id)
    names = _names(registry)
    views = []
    for match in registry.list_capacity_matches(enterprise_id):
        request = registry.get_capacity_request(match.request_id)
        views.append(_match_view(match, request, names, access))
    return views


def answer(
    registry: Registry, access: Access, match_id: int, accept: bool, note: object = ""
) -> MatchView:
    """The offerer accepts or declines a proposal."""
    match = visible_match(registry, access, match_id)
    if access.principal.enterprise_id != match.offerer_id:
        raise ForbiddenError(
            "the enterprise the request was proposed to answers it", code="capacity_offerer_only"
        )
    require_capacity_admin(access, match.offerer_id)
    decided = registry.decide_capacity_match(
        match_id, accept, access.principal.username, parse_note(note)
    )
    return match_view(registry, access, decided.id)


def record_outcome(
    registry: Registry, access: Access, match_id: int, fields: Mapping[str, object]
) -> MatchView:
    """Either party records what was delivered and whether on time."""
    match = visible_match(registry, access, match_id)
    enterprise_id = access.principal.enterprise_id
    assert enterprise_id is not None  # visible_match admits enterprise users only
    require_capacity_admin(access, enterprise_id)
    side = match.side_of(enterprise_id)
    assert side is not None
    outcome = parse_outcome(fields)
    recorded = registry.record_capacity_outcome(
        match_id,
        outcome.delivered_m,
        outcome.on_time,
        access.principal.username,
        side,
        outcome.note,
    )
    return match_view(registry, access, recorded.id)


def match_counts(registry: Registry, access: Access) -> MatchCounts:
    require_aggregates(access)
    return registry.capacity_match_counts()
