"""The registry's part for an enterprise's particulars (企业特定事项): the facts policies ask
about, recorded per enterprise with who recorded them and when. The newest recording of a fact
is its value; older ones stay as its history.

What a fact may be called and hold is the region room's question; the registry keeps the rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Enterprise
from shugu.store.registry.models_particulars import EnterpriseParticular

#: A particular's value: a number or true/false; None once cleared.
ParticularValue = float | int | bool | None


@dataclass(frozen=True, slots=True)
class ParticularRecord:
    enterprise_id: int
    fact: str
    value: ParticularValue
    recorded_by: str
    recorded_at: datetime


def _decode(text: str | None) -> ParticularValue:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, bool | int | float) else None


def _record(row: EnterpriseParticular) -> ParticularRecord:
    return ParticularRecord(
        enterprise_id=row.enterprise_id,
        fact=row.fact,
        value=_decode(row.value),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def _newest(rows: list[ParticularRecord]) -> dict[int, dict[str, ParticularRecord]]:
    """The newest recording per enterprise and fact (rows oldest first)."""
    out: dict[int, dict[str, ParticularRecord]] = {}
    for r in rows:
        out.setdefault(r.enterprise_id, {})[r.fact] = r
    return out


class ParticularsMixin(RegistryCore):
    """Enterprise particulars with their history."""

    def _particular_rows(self, enterprise_id: int | None) -> list[ParticularRecord]:
        query = select(EnterpriseParticular).order_by(EnterpriseParticular.id)
        if enterprise_id is not None:
            query = query.where(EnterpriseParticular.enterprise_id == enterprise_id)
        with self._session() as s:
            if enterprise_id is not None and s.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise")
            return [_record(r) for r in s.scalars(query)]

    def particulars(self, enterprise_id: int) -> dict[str, ParticularRecord]:
        """The enterprise's particulars as they stand, cleared ones left out."""
        newest = _newest(self._particular_rows(enterprise_id)).get(enterprise_id, {})
        return {fact: r for fact, r in newest.items() if r.value is not None}

    def all_particulars(self) -> dict[int, dict[str, ParticularRecord]]:
        """Every enterprise's particulars as they stand (for district-wide tables)."""
        return {
            enterprise_id: {fact: r for fact, r in facts.items() if r.value is not None}
            for enterprise_id, facts in _newest(self._particular_rows(None)).items()
        }

    def particular_history(self, enterprise_id: int) -> list[ParticularRecord]:
        """Every recording of the enterprise's particulars, newest first."""
        return list(reversed(self._particular_rows(enterprise_id)))

    def record_particulars(
        self, enterprise_id: int, values: dict[str, ParticularValue], by: str
    ) -> list[ParticularRecord]:
        """Record the given facts (None clears one); a fact already so is not recorded again.
        Answers the recordings made (none: nothing changed)."""
        with self._session() as s:
            if s.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise")
            rows = s.scalars(
                select(EnterpriseParticular)
                .where(EnterpriseParticular.enterprise_id == enterprise_id)
                .order_by(EnterpriseParticular.id)
            )
            current = {r.fact: _decode(r.value) for r in rows}
            added: list[EnterpriseParticular] = []
            for fact, value in values.items():
                before = current.get(fact)
                # true == 1 in Python: a bool and a number differ however they compare.
                if before == value and isinstance(before, bool) == isinstance(value, bool):
                    continue
                row = EnterpriseParticular(
                    enterprise_id=enterprise_id,
                    fact=fact,
                    value=None if value is None else json.dumps(value),
                    recorded_by=by,
                )
                s.add(row)
                added.append(row)
            s.flush()
            return [_record(r) for r in added]
