"""The registry's part for the bureau's system: indicators (指标) with their values by period and
yearly targets.

The registry keeps the rows consistent (one value per indicator and period, one target per
indicator and year, a computed indicator names its computation); what an indicator means, who
may change it and how actuals are made is the service's question (``region/indicators/``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import utc_now
from shugu.store.registry.models_indicators import Indicator, IndicatorTarget, IndicatorValue


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """An indicator as the bureau (or the seed) defines it."""

    code: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    definition_zh: str
    definition_en: str
    source: str
    direction: str
    computation: str | None
    aggregate: str
    decimals: int
    position: int


@dataclass(frozen=True, slots=True)
class IndicatorRecord:
    id: int
    code: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    definition_zh: str
    definition_en: str
    source: str
    direction: str
    computation: str | None
    aggregate: str
    decimals: int
    position: int
    active: bool
    updated_by: str
    updated_at: datetime

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh-CN" else self.name_en

    def unit(self, lang: str) -> str:
        return self.unit_zh if lang == "zh-CN" else self.unit_en

    @property
    def computed(self) -> bool:
        return self.source == "computed"


@dataclass(frozen=True, slots=True)
class IndicatorValueRecord:
    indicator_id: int
    #: ``2026-03`` for a month, ``2026`` for a year.
    period: str
    value: float | None
    kind: str
    #: The figure's parts (by park, by category) in order, where it has some.
    parts: dict[str, float | None]
    note: str
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True, slots=True)
class TargetRecord:
    indicator_id: int
    year: int
    target: float
    baseline: float | None
    note: str
    set_by: str
    set_at: datetime


def _indicator(row: Indicator) -> IndicatorRecord:
    return IndicatorRecord(
        id=row.id,
        code=row.code,
        name_zh=row.name_zh,
        name_en=row.name_en,
        unit_zh=row.unit_zh,
        unit_en=row.unit_en,
        definition_zh=row.definition_zh,
        definition_en=row.definition_en,
        source=row.source,
        direction=row.direction,
        computation=row.computation,
        aggregate=row.aggregate,
        decimals=row.decimals,
        position=row.position,
        active=row.active,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _parts(text: str | None) -> dict[str, float | None]:
    if not text:
        return {}
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        return {}
    return {str(k): float(v) if isinstance(v, int | float) else None for k, v in loaded.items()}


def _value(row: IndicatorValue) -> IndicatorValueRecord:
    return IndicatorValueRecord(
        indicator_id=row.indicator_id,
        period=row.period,
        value=row.value,
        kind=row.kind,
        parts=_parts(row.parts),
        note=row.note,
        entered_by=row.entered_by,
        entered_at=row.entered_at,
    )


def _target(row: IndicatorTarget) -> TargetRecord:
    return TargetRecord(
        indicator_id=row.indicator_id,
        year=row.year,
        target=row.target,
        baseline=row.baseline,
        note=row.note,
        set_by=row.set_by,
        set_at=row.set_at,
    )


def _fill(row: Indicator, spec: IndicatorSpec, by: str) -> None:
    row.name_zh = spec.name_zh
    row.name_en = spec.name_en
    row.unit_zh = spec.unit_zh
    row.unit_en = spec.unit_en
    row.definition_zh = spec.definition_zh
    row.definition_en = spec.definition_en
    row.source = spec.source
    row.direction = spec.direction
    row.computation = spec.computation
    row.aggregate = spec.aggregate
    row.decimals = spec.decimals
    row.position = spec.position
    row.updated_by = by
    row.updated_at = utc_now()


class IndicatorMixin(RegistryCore):
    """Indicators (指标) with their values by period and yearly targets."""

    def list_indicators(self, *, retired: bool = False) -> list[IndicatorRecord]:
        """The register in its order; retired indicators only when asked for."""
        query = select(Indicator).order_by(Indicator.position, Indicator.id)
        if not retired:
            query = query.where(Indicator.active.is_(True))
        with self._session() as s:
            return [_indicator(r) for r in s.scalars(query)]

    def indicator_by_code(self, code: str) -> IndicatorRecord | None:
        with self._session() as s:
            row = s.scalars(select(Indicator).where(Indicator.code == code)).first()
            return None if row is None else _indicator(row)

    def save_indicator(self, spec: IndicatorSpec, by: str) -> tuple[IndicatorRecord, bool]:
        """Create the indicator or replace its definition (keyed by code; a retired one comes
        back); True when it was created."""
        with self._session() as s:
            row = s.scalars(select(Indicator).where(Indicator.code == spec.code)).first()
            created = row is None
            if row is None:
                row = Indicator(code=spec.code)
                s.add(row)
            _fill(row, spec, by)
            row.active = True
            s.flush()
            return _indicator(row), created

    def add_missing_indicators(self, specs: Iterable[IndicatorSpec], by: str) -> int:
        """The specs whose code the register lacks, added; the others left as they are (the
        bureau may have edited or retired them). How many were added; another process adding
        them at the same moment is no error (the second try finds them)."""
        wanted = list(specs)
        return self._upsert(lambda: self._add_missing(wanted, by))

    def _add_missing(self, specs: Sequence[IndicatorSpec], by: str) -> int:
        with self._session() as s:
            known = set(s.scalars(select(Indicator.code)))
            added = 0
            for spec in specs:
                if spec.code in known:
                    continue
                row = Indicator(code=spec.code, active=True)
                _fill(row, spec, by)
                s.add(row)
                known.add(spec.code)
                added += 1
            return added

    def set_indicator_active(self, code: str, active: bool, by: str) -> IndicatorRecord:
        with self._session() as s:
            row = s.scalars(select(Indicator).where(Indicator.code == code)).first()
            if row is None:
                raise missing("indicator", field="code")
            row.active = active
            row.updated_by = by
            row.updated_at = utc_now()
            s.flush()
            return _indicator(row)

    # -- values --------------------------------------------------------------------------

    def put_indicator_value(
        self,
        indicator_id: int,
        period: str,
        value: float | None,
        *,
        kind: str,
        by: str,
        note: str = "",
        parts: dict[str, float | None] | None = None,
    ) -> tuple[IndicatorValueRecord, bool]:
        """The indicator's figure for the period, replacing one there was; True when new."""
        return self._upsert(
            lambda: self._put_value(indicator_id, period, value, kind, by, note, parts)
        )

    def _put_value(
        self,
        indicator_id: int,
        period: str,
        value: float | None,
        kind: str,
        by: str,
        note: str,
        parts: dict[str, float | None] | None,
    ) -> tuple[IndicatorValueRecord, bool]:
        with self._session() as s:
            if s.get(Indicator, indicator_id) is None:
                raise missing("indicator")
            row = s.scalars(
                select(IndicatorValue).where(
                    IndicatorValue.indicator_id == indicator_id, IndicatorValue.period == period
                )
            ).first()
            created = row is None
            if row is None:
                row = IndicatorValue(indicator_id=indicator_id, period=period)
                s.add(row)
            row.value = value
            row.kind = kind
            row.parts = json.dumps(parts, ensure_ascii=False) if parts else None
            row.note = note
            row.entered_by = by
            row.entered_at = utc_now()
            s.flush()
            return _value(row), created

    def delete_indicator_value(self, indicator_id: int, period: str) -> bool:
        with self._session() as s:
            result = s.execute(
                delete(IndicatorValue).where(
                    IndicatorValue.indicator_id == indicator_id, IndicatorValue.period == period
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def indicator_values(
        self, indicator_ids: Sequence[int] | None, first: str, last: str
    ) -> list[IndicatorValueRecord]:
        """Values whose period sorts within [first, last] (``2026`` sorts between ``2025-12``
        and ``2026-01``), by indicator and period."""
        query = (
            select(IndicatorValue)
            .where(IndicatorValue.period >= first, IndicatorValue.period <= last)
            .order_by(IndicatorValue.indicator_id, IndicatorValue.period)
        )
        if indicator_ids is not None:
            query = query.where(IndicatorValue.indicator_id.in_(list(indicator_ids)))
        with self._session() as s:
            return [_value(r) for r in s.scalars(query)]

    # -- targets -------------------------------------------------------------------------

    def put_target(
        self,
        indicator_id: int,
        year: int,
        target: float,
        baseline: float | None,
        *,
        by: str,
        note: str = "",
    ) -> tuple[TargetRecord, bool]:
        """The indicator's target for the year, replacing one there was; True when new."""
        return self._upsert(
            lambda: self._put_target(indicator_id, year, target, baseline, by, note)
        )

    def _put_target(
        self,
        indicator_id: int,
        year: int,
        target: float,
        baseline: float | None,
        by: str,
        note: str,
    ) -> tuple[TargetRecord, bool]:
        with self._session() as s:
            if s.get(Indicator, indicator_id) is None:
                raise missing("indicator")
            row = s.scalars(
                select(IndicatorTarget).where(
                    IndicatorTarget.indicator_id == indicator_id, IndicatorTarget.year == year
                )
            ).first()
            created = row is None
            if row is None:
                row = IndicatorTarget(indicator_id=indicator_id, year=year)
                s.add(row)
            row.target = target
            row.baseline = baseline
            row.note = note
            row.set_by = by
            row.set_at = utc_now()
            s.flush()
            return _target(row), created

    def delete_target(self, indicator_id: int, year: int) -> bool:
        with self._session() as s:
            result = s.execute(
                delete(IndicatorTarget).where(
                    IndicatorTarget.indicator_id == indicator_id, IndicatorTarget.year == year
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def targets_of_year(self, year: int) -> list[TargetRecord]:
        query = (
            select(IndicatorTarget)
            .where(IndicatorTarget.year == year)
            .order_by(IndicatorTarget.indicator_id)
        )
        with self._session() as s:
            return [_target(r) for r in s.scalars(query)]

    def target_years(self) -> list[int]:
        with self._session() as s:
            return sorted(set(s.scalars(select(IndicatorTarget.year))))
