"""What shared capacity (统一调配产能) keeps in the registry: each enterprise's published capacity
(a snapshot of sums, as JSON the analytics room writes and reads), requests for fabric, and the
matches between them with every step: who, from which side, when.

The registry checks only what keeps its rows consistent (a match moves proposed → accepted or
declined, an outcome follows acceptance, one open match per request and offerer); who may do
what is the service's question.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shugu.domain.errors import ConflictError
from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import (
    CapacityMatch,
    CapacityMatchEvent,
    CapacityPublication,
    CapacityRequest,
    Enterprise,
)

Side = Literal["requester", "offerer"]
#: A match that still binds: a second one to the same offerer for the same request would not.
OPEN_MATCH_STATES = ("proposed", "accepted")


@dataclass(frozen=True, slots=True)
class PublicationRecord:
    id: int
    enterprise_id: int
    days: int
    hold_back: float
    #: The published sums per group and day, as the analytics room wrote them.
    cells: list[dict[str, Any]]
    published_by: str
    published_at: datetime
    refreshed_at: datetime
    withdrawn_at: datetime | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


@dataclass(frozen=True, slots=True)
class NewCapacityRequest:
    fabric: str
    loom_type: str | None
    min_width_cm: float
    picks_per_cm: float
    metres: float
    deadline: date


@dataclass(frozen=True, slots=True)
class CapacityRequestRecord:
    id: int
    enterprise_id: int
    fabric: str
    loom_type: str | None
    min_width_cm: float
    picks_per_cm: float
    metres: float
    deadline: date
    status: str
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class MatchEventRecord:
    id: int
    match_id: int
    at: datetime
    kind: str
    by: str
    side: str
    note: str
    delivered_m: float | None
    on_time: bool | None


@dataclass(frozen=True, slots=True)
class MatchRecord:
    id: int
    request_id: int
    requester_id: int
    offerer_id: int
    #: The offer's score and parts when it was proposed.
    ranking: dict[str, Any]
    status: str
    proposed_at: datetime
    decided_at: datetime | None
    delivered_m: float | None
    on_time: bool | None
    outcome_at: datetime | None
    events: tuple[MatchEventRecord, ...]

    def side_of(self, enterprise_id: int) -> Side | None:
        if enterprise_id == self.requester_id:
            return "requester"
        if enterprise_id == self.offerer_id:
            return "offerer"
        return None


@dataclass(frozen=True, slots=True)
class MatchCounts:
    """The district's matches in numbers, naming no enterprise."""

    by_status: dict[str, int]
    delivered_m: float
    on_time: int
    late: int
    open_requests: int
    publications: int


def _publication(row: CapacityPublication) -> PublicationRecord:
    cells = json.loads(row.cells)
    return PublicationRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        days=row.days,
        hold_back=row.hold_back,
        cells=cells if isinstance(cells, list) else [],
        published_by=row.published_by,
        published_at=row.published_at,
        refreshed_at=row.refreshed_at,
        withdrawn_at=row.withdrawn_at,
    )


def _request(row: CapacityRequest) -> CapacityRequestRecord:
    return CapacityRequestRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        fabric=row.fabric,
        loom_type=row.loom_type,
        min_width_cm=row.min_width_cm,
        picks_per_cm=row.picks_per_cm,
        metres=row.metres,
        deadline=row.deadline,
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
    )


def _event(row: CapacityMatchEvent) -> MatchEventRecord:
    return MatchEventRecord(
        id=row.id,
        match_id=row.match_id,
        at=row.at,
        kind=row.kind,
        by=row.by,
        side=row.side,
        note=row.note,
        delivered_m=row.delivered_m,
        on_time=row.on_time,
    )


def _match(session: Session, row: CapacityMatch) -> MatchRecord:
    events = session.scalars(
        select(CapacityMatchEvent)
        .where(CapacityMatchEvent.match_id == row.id)
        .order_by(CapacityMatchEvent.id)
    )
    ranking = json.loads(row.ranking)
    return MatchRecord(
        id=row.id,
        request_id=row.request_id,
        requester_id=row.requester_id,
        offerer_id=row.offerer_id,
        ranking=ranking if isinstance(ranking, dict) else {},
        status=row.status,
        proposed_at=row.proposed_at,
        decided_at=row.decided_at,
        delivered_m=row.delivered_m,
        on_time=row.on_time,
        outcome_at=row.outcome_at,
        events=tuple(_event(e) for e in events),
    )


class CapacityMixin(RegistryCore):
    # -- publications ------------------------------------------------------------------------

    def publish_capacity(
        self,
        enterprise_id: int,
        days: int,
        hold_back: float,
        cells: list[dict[str, Any]],
        by: str,
    ) -> PublicationRecord:
        """Publish (or republish) an enterprise's capacity snapshot."""
        now = self._now()
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise", field="enterprise_id")
            row = session.scalar(
                select(CapacityPublication).where(
                    CapacityPublication.enterprise_id == enterprise_id
                )
            )
            if row is None:
                row = CapacityPublication(enterprise_id=enterprise_id)
                session.add(row)
            row.days = days
            row.hold_back = hold_back
            row.cells = json.dumps(cells, ensure_ascii=False)
            row.published_by = by
            row.published_at = now
            row.refreshed_at = now
            row.withdrawn_at = None
            session.flush()
            return _publication(row)

    def refresh_publication(
        self, enterprise_id: int, cells: list[dict[str, Any]]
    ) -> PublicationRecord | None:
        """Replace a live publication's snapshot (its terms stay); None when not published."""
        with self._session() as session:
            row = session.scalar(
                select(CapacityPublication).where(
                    CapacityPublication.enterprise_id == enterprise_id,
                    CapacityPublication.withdrawn_at.is_(None),
                )
            )
            if row is None:
                return None
            row.cells = json.dumps(cells, ensure_ascii=False)
            row.refreshed_at = self._now()
            return _publication(row)

    def withdraw_capacity(self, enterprise_id: int) -> PublicationRecord | None:
        """Withdraw the enterprise's publication; withdrawing again keeps the first time."""
        with self._session() as session:
            row = session.scalar(
                select(CapacityPublication).where(
                    CapacityPublication.enterprise_id == enterprise_id
                )
            )
            if row is None:
                return None
            if row.withdrawn_at is None:
                row.withdrawn_at = self._now()
            return _publication(row)

    def get_publication(self, enterprise_id: int) -> PublicationRecord | None:
        with self._session() as session:
            row = session.scalar(
                select(CapacityPublication).where(
                    CapacityPublication.enterprise_id == enterprise_id
                )
            )
            return _publication(row) if row is not None else None

    def list_publications(self) -> list[PublicationRecord]:
        """Every live publication, oldest first."""
        with self._session() as session:
            rows = session.scalars(
                select(CapacityPublication)
                .where(CapacityPublication.withdrawn_at.is_(None))
                .order_by(CapacityPublication.id)
            )
            return [_publication(r) for r in rows]

    # -- requests ----------------------------------------------------------------------------

    def add_capacity_request(
        self, enterprise_id: int, new: NewCapacityRequest, by: str
    ) -> CapacityRequestRecord:
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise", field="enterprise_id")
            row = CapacityRequest(
                enterprise_id=enterprise_id,
                fabric=new.fabric,
                loom_type=new.loom_type,
                min_width_cm=new.min_width_cm,
                picks_per_cm=new.picks_per_cm,
                metres=new.metres,
                deadline=new.deadline,
                status="open",
                created_by=by,
                created_at=self._now(),
            )
            session.add(row)
            session.flush()
            return _request(row)

    def get_capacity_request(self, request_id: int) -> CapacityRequestRecord:
        with self._session() as session:
            row = session.get(CapacityRequest, request_id)
            if row is None:
                raise missing("capacity request")
            return _request(row)

    def list_capacity_requests(self, enterprise_id: int) -> list[CapacityRequestRecord]:
        """The enterprise's requests, newest first."""
        with self._session() as session:
            rows = session.scalars(
                select(CapacityRequest)
                .where(CapacityRequest.enterprise_id == enterprise_id)
                .order_by(CapacityRequest.id.desc())
            )
            return [_request(r) for r in rows]

    def close_capacity_request(self, request_id: int, by: str) -> CapacityRequestRecord:
        """Close a request: no more proposals; closing again keeps the first time."""
        with self._session() as session:
            row = session.get(CapacityRequest, request_id)
            if row is None:
                raise missing("capacity request")
            if row.status != "closed":
                row.status = "closed"
                row.closed_by = by
                row.closed_at = self._now()
            return _request(row)

    # -- matches -----------------------------------------------------------------------------

    def add_capacity_match(
        self, request_id: int, offerer_id: int, ranking: dict[str, Any], by: str, note: str = ""
    ) -> MatchRecord:
        """Propose a request to an offerer, recorded as the requester's first step."""
        now = self._now()
        with self._session() as session:
            request = session.get(CapacityRequest, request_id)
            if request is None:
                raise missing("capacity request")
            if session.get(Enterprise, offerer_id) is None:
                raise missing("enterprise", field="enterprise_id")
            if request.status != "open":
                raise ConflictError(
                    "the request is closed; post a new one", code="capacity_request_closed"
                )
            existing = session.scalar(
                select(CapacityMatch.id).where(
                    CapacityMatch.request_id == request_id,
                    CapacityMatch.offerer_id == offerer_id,
                    CapacityMatch.status.in_(OPEN_MATCH_STATES),
                )
            )
            if existing is not None:
                raise ConflictError(
                    f"this request is already proposed to that enterprise (match {existing})",
                    code="capacity_match_exists",
                )
            row = CapacityMatch(
                request_id=request_id,
                requester_id=request.enterprise_id,
                offerer_id=offerer_id,
                ranking=json.dumps(ranking, ensure_ascii=False),
                status="proposed",
                proposed_at=now,
            )
            session.add(row)
            session.flush()
            session.add(
                CapacityMatchEvent(
                    match_id=row.id, at=now, kind="proposed", by=by, side="requester", note=note
                )
            )
            session.flush()
            return _match(session, row)

    def _match_row(self, session: Session, match_id: int) -> CapacityMatch:
        row = session.get(CapacityMatch, match_id, with_for_update=True)
        if row is None:
            raise missing("capacity match")
        return row

    def decide_capacity_match(
        self, match_id: int, accept: bool, by: str, note: str = ""
    ) -> MatchRecord:
        """The offerer's answer to a proposal, once."""
        now = self._now()
        with self._session() as session:
            row = self._match_row(session, match_id)
            if row.status != "proposed":
                raise ConflictError(
                    f"the match is {row.status}; only a proposed match is accepted or declined",
                    code="capacity_match_not_proposed",
                )
            row.status = "accepted" if accept else "declined"
            row.decided_at = now
            session.add(
                CapacityMatchEvent(
                    match_id=row.id,
                    at=now,
                    kind="accepted" if accept else "declined",
                    by=by,
                    side="offerer",
                    note=note,
                )
            )
            session.flush()
            return _match(session, row)

    def record_capacity_outcome(
        self,
        match_id: int,
        delivered_m: float,
        on_time: bool,
        by: str,
        side: Side,
        note: str = "",
    ) -> MatchRecord:
        """The outcome of an accepted match, from either side; a later record corrects an
        earlier one, and every record stays in the match's history."""
        now = self._now()
        with self._session() as session:
            row = self._match_row(session, match_id)
            if row.status not in ("accepted", "completed"):
                raise ConflictError(
                    f"the match is {row.status}; an outcome is recorded once it is accepted",
                    code="capacity_match_not_accepted",
                )
            row.status = "completed"
            row.delivered_m = delivered_m
            row.on_time = on_time
            row.outcome_at = now
            session.add(
                CapacityMatchEvent(
                    match_id=row.id,
                    at=now,
                    kind="outcome",
                    by=by,
                    side=side,
                    note=note,
                    delivered_m=delivered_m,
                    on_time=on_time,
                )
            )
            session.flush()
            return _match(session, row)

    def get_capacity_match(self, match_id: int) -> MatchRecord:
        with self._session() as session:
            row = session.get(CapacityMatch, match_id)
            if row is None:
                raise missing("capacity match")
            return _match(session, row)

    def list_capacity_matches(
        self, enterprise_id: int, request_id: int | None = None
    ) -> list[MatchRecord]:
        """Matches the enterprise is a party to (of one request, if given), newest first."""
        query = select(CapacityMatch).where(
            or_(
                CapacityMatch.requester_id == enterprise_id,
                CapacityMatch.offerer_id == enterprise_id,
            )
        )
        if request_id is not None:
            query = query.where(CapacityMatch.request_id == request_id)
        with self._session() as session:
            rows = list(session.scalars(query.order_by(CapacityMatch.id.desc())))
            return [_match(session, r) for r in rows]

    def capacity_match_counts(self) -> MatchCounts:
        with self._session() as session:
            by_status = Counter(
                {
                    str(status): int(count)
                    for status, count in session.execute(
                        select(CapacityMatch.status, func.count()).group_by(CapacityMatch.status)
                    )
                }
            )
            delivered = session.scalar(select(func.sum(CapacityMatch.delivered_m))) or 0.0
            on_time = session.scalar(select(func.count()).where(CapacityMatch.on_time.is_(True)))
            late = session.scalar(select(func.count()).where(CapacityMatch.on_time.is_(False)))
            open_requests = session.scalar(
                select(func.count()).where(CapacityRequest.status == "open")
            )
            publications = session.scalar(
                select(func.count()).where(CapacityPublication.withdrawn_at.is_(None))
            )
        return MatchCounts(
            by_status=dict(by_status),
            delivered_m=float(delivered),
            on_time=int(on_time or 0),
            late=int(late or 0),
            open_requests=int(open_requests or 0),
            publications=int(publications or 0),
        )
