"""What the registry keeps of an enterprise's energy baseline (能耗基准): its definition and the
fitted model as a JSON document, whose meaning belongs to the analytics room."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shugu.domain.errors import ConflictError
from shugu.store.registry.core import RegistryCore
from shugu.store.registry.models import EnergyBaseline


@dataclass(frozen=True, slots=True)
class EnergyBaselineRecord:
    enterprise_id: int
    #: The reference period, [start, end).
    reference_start: datetime
    reference_end: datetime
    #: The fact whose daily sum was the output, and its unit.
    output_fact: str
    output_unit: str
    #: Whether the weather term was asked for (the model says whether it was kept).
    use_weather: bool
    model: dict[str, Any]
    fitted_at: datetime
    fitted_by: str


class BaselineMixin(RegistryCore):
    def save_energy_baseline(
        self,
        enterprise_id: int,
        *,
        reference_start: datetime,
        reference_end: datetime,
        output_fact: str,
        output_unit: str,
        use_weather: bool,
        model: dict[str, Any],
        fitted_by: str,
    ) -> EnergyBaselineRecord:
        """Keep an enterprise's baseline, replacing the one it had."""
        with self._session() as session:
            row = session.get(EnergyBaseline, enterprise_id)
            if row is None:
                row = EnergyBaseline(enterprise_id=enterprise_id)
                session.add(row)
            row.reference_start = reference_start
            row.reference_end = reference_end
            row.output_fact = output_fact
            row.output_unit = output_unit
            row.use_weather = use_weather
            row.model = json.dumps(model, ensure_ascii=False, allow_nan=False)
            row.fitted_at = self._now()
            row.fitted_by = fitted_by
            self._flush_unique(
                session,
                ConflictError(
                    "this enterprise's baseline was saved by someone else at the same moment",
                    code="conflict",
                ),
            )
            return _record(row)

    def energy_baseline(self, enterprise_id: int) -> EnergyBaselineRecord | None:
        """The enterprise's baseline, or None if it has none."""
        with self._session() as session:
            row = session.get(EnergyBaseline, enterprise_id)
            return None if row is None else _record(row)

    def delete_energy_baseline(self, enterprise_id: int) -> bool:
        """Forget the enterprise's baseline; False if it had none."""
        with self._session() as session:
            row = session.get(EnergyBaseline, enterprise_id)
            if row is None:
                return False
            session.delete(row)
            return True


def _record(row: EnergyBaseline) -> EnergyBaselineRecord:
    model = json.loads(row.model)
    return EnergyBaselineRecord(
        enterprise_id=row.enterprise_id,
        reference_start=row.reference_start,
        reference_end=row.reference_end,
        output_fact=row.output_fact,
        output_unit=row.output_unit,
        use_weather=row.use_weather,
        model=model if isinstance(model, dict) else {},
        fitted_at=row.fitted_at,
        fitted_by=row.fitted_by,
    )
