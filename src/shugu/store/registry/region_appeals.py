"""The registry's part for enterprise appeals (企业诉求): each appeal with its thread of steps.

The registry records a step and moves the appeal's state with it; which steps may follow which,
and who may take them, are the region's service's questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Enterprise
from shugu.store.registry.models_projects import Appeal, AppealEvent


@dataclass(frozen=True, slots=True)
class AppealEventRecord:
    id: int
    at: datetime
    kind: str
    by: str
    department: str | None
    text: str


@dataclass(frozen=True, slots=True)
class AppealRecord:
    id: int
    enterprise_id: int
    enterprise_name: str
    park_id: int
    category: str
    title: str
    body: str
    status: str
    department: str | None
    filed_by: str
    filed_at: datetime
    first_answer_at: datetime | None
    closed_at: datetime | None
    closed_by_side: str | None
    rating: int | None
    rating_comment: str | None
    events: tuple[AppealEventRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class AppealStep:
    """One step of an appeal: ``kind`` is filed, assigned, answered, confirmed or closed."""

    kind: str
    by: str
    at: datetime
    text: str = ""
    department: str | None = None
    rating: int | None = None


def _record(row: Appeal, enterprise: Enterprise, events: list[AppealEvent]) -> AppealRecord:
    return AppealRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        enterprise_name=enterprise.name,
        park_id=enterprise.park_id,
        category=row.category,
        title=row.title,
        body=row.body,
        status=row.status,
        department=row.department,
        filed_by=row.filed_by,
        filed_at=row.filed_at,
        first_answer_at=row.first_answer_at,
        closed_at=row.closed_at,
        closed_by_side=row.closed_by_side,
        rating=row.rating,
        rating_comment=row.rating_comment,
        events=tuple(
            AppealEventRecord(e.id, e.at, e.kind, e.by, e.department, e.text) for e in events
        ),
    )


class AppealMixin(RegistryCore):
    """Enterprise appeals (企业诉求)."""

    def add_appeal(
        self, enterprise_id: int, category: str, title: str, body: str, by: str, at: datetime
    ) -> AppealRecord:
        with self._session() as s:
            enterprise = s.get(Enterprise, enterprise_id)
            if enterprise is None:
                raise missing("enterprise")
            row = Appeal(
                enterprise_id=enterprise_id,
                category=category,
                title=title,
                body=body,
                status="open",
                filed_by=by,
                filed_at=at,
            )
            s.add(row)
            s.flush()
            event = AppealEvent(appeal_id=row.id, at=at, kind="filed", by=by, text=body)
            s.add(event)
            s.flush()
            return _record(row, enterprise, [event])

    def get_appeal(self, appeal_id: int) -> AppealRecord:
        with self._session() as s:
            row = s.get(Appeal, appeal_id)
            if row is None:
                raise missing("appeal")
            return self._with_events(s, row)

    @staticmethod
    def _with_events(s: Session, row: Appeal) -> AppealRecord:
        events = list(
            s.scalars(
                select(AppealEvent)
                .where(AppealEvent.appeal_id == row.id)
                .order_by(AppealEvent.at, AppealEvent.id)
            )
        )
        enterprise = s.get(Enterprise, row.enterprise_id)
        assert enterprise is not None
        return _record(row, enterprise, events)

    def list_appeals(
        self, park_id: int | None = None, enterprise_id: int | None = None
    ) -> list[AppealRecord]:
        """Appeals newest first, without their threads."""
        query = (
            select(Appeal, Enterprise)
            .join(Enterprise, Enterprise.id == Appeal.enterprise_id)
            .order_by(Appeal.filed_at.desc(), Appeal.id.desc())
        )
        if park_id is not None:
            query = query.where(Enterprise.park_id == park_id)
        if enterprise_id is not None:
            query = query.where(Appeal.enterprise_id == enterprise_id)
        with self._session() as s:
            return [_record(a, e, []) for a, e in s.execute(query).all()]

    def add_appeal_step(self, appeal_id: int, step: AppealStep) -> AppealRecord:
        """Record the step and move the appeal with it: assigned sets the department, the first
        answer its time, confirmed (with a rating) and closed end it."""
        with self._session() as s:
            row = s.get(Appeal, appeal_id)
            if row is None:
                raise missing("appeal")
            if step.kind == "assigned":
                row.department = step.department
                if row.status == "open":
                    row.status = "assigned"
            elif step.kind == "answered":
                row.status = "answered"
                if row.first_answer_at is None:
                    row.first_answer_at = step.at
            elif step.kind in ("confirmed", "closed"):
                row.status = "closed"
                row.closed_at = step.at
                row.closed_by_side = "enterprise" if step.kind == "confirmed" else "bureau"
                if step.kind == "confirmed":
                    row.rating = step.rating
                    row.rating_comment = step.text or None
            s.add(
                AppealEvent(
                    appeal_id=appeal_id,
                    at=step.at,
                    kind=step.kind,
                    by=step.by,
                    department=step.department if step.kind != "filed" else None,
                    text=step.text,
                )
            )
            s.flush()
            return self._with_events(s, row)
