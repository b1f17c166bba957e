"""Shift calendar versions (班次日历) of each enterprise: added, never changed, listed in the
order they were saved.

The registry keeps a version's calendar as JSON text and hands it back as a dict; its meaning
and validation belong to the analytics room (``analytics/calendar_service.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Enterprise, ShiftCalendarVersion


@dataclass(frozen=True, slots=True)
class CalendarRecord:
    id: int
    enterprise_id: int
    effective_from: date
    body: dict[str, Any]
    note: str
    saved_at: datetime
    saved_by: str


def _record(row: ShiftCalendarVersion) -> CalendarRecord:
    return CalendarRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        effective_from=row.effective_from,
        body=json.loads(row.body),
        note=row.note,
        saved_at=row.saved_at,
        saved_by=row.saved_by,
    )


class CalendarMixin(RegistryCore):
    def add_calendar_version(
        self,
        enterprise_id: int,
        effective_from: date,
        body: dict[str, Any],
        *,
        saved_by: str,
        note: str = "",
    ) -> CalendarRecord:
        """Keep a new version of the enterprise's calendar (the caller has validated it)."""
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise", field="enterprise_id")
            row = ShiftCalendarVersion(
                enterprise_id=enterprise_id,
                effective_from=effective_from,
                body=json.dumps(body, ensure_ascii=False, sort_keys=True),
                note=note,
                saved_at=self._now(),
                saved_by=saved_by,
            )
            session.add(row)
            session.flush()
            return _record(row)

    def calendar_versions(self, enterprise_id: int) -> list[CalendarRecord]:
        """Every version the enterprise saved, the first saved first."""
        with self._session() as session:
            rows = session.scalars(
                select(ShiftCalendarVersion)
                .where(ShiftCalendarVersion.enterprise_id == enterprise_id)
                .order_by(ShiftCalendarVersion.id)
            )
            return [_record(row) for row in rows]
