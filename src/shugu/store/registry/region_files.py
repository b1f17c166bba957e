"""The registry's part for the bureau's system: enterprise files (一企一档): the file's own fields
on ``enterprises``, yearly figures (one row per enterprise and year), certifications with dates,
and the saved versions of tier criteria.

The registry keeps rows consistent (one row per enterprise-year, versions numbered in order);
what a value may be and who may change it is the region room's question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select

from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Enterprise, utc_now
from shugu.store.registry.models_files import (
    EnterpriseCertification,
    EnterpriseYearFigures,
    TierCriteriaVersion,
)

#: Yearly figures by name and type; money in 万元 unless the name says otherwise.
YEAR_FIGURES: dict[str, type[float] | type[int]] = {
    "revenue_wan": float,
    "main_business_revenue_wan": float,
    "high_tech_revenue_wan": float,
    "output_value_wan": float,
    "rd_spend_wan": float,
    "staff": int,
    "tech_staff": int,
    "energy_tce": float,
    "total_assets_wan": float,
    "total_liabilities_wan": float,
    "vc_raised_wan": float,
    "new_equity_wan": float,
    "valuation_usd_yi": float,
    "global_share_rank": int,
    "niche_years": int,
}
FILE_FIELDS = ("industry_code", "division_code", "established_on", "key_enterprise", "listed")
Upserted = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class EnterpriseFileRecord:
    """The enterprise file's own fields (一企一档) beside the enterprise's identity."""

    id: int
    park_id: int
    name: str
    uscc: str
    nbs_category: str | None
    industry_code: str | None
    division_code: str | None
    established_on: date | None
    key_enterprise: bool
    listed: bool


@dataclass(frozen=True, slots=True)
class YearFiguresRecord:
    enterprise_id: int
    year: int
    #: Every name of YEAR_FIGURES; None where unknown.
    values: dict[str, float | int | None]
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CertificationRecord:
    id: int
    enterprise_id: int
    kind: str
    granted_on: date
    expires_on: date | None
    number: str | None
    created_by: str
    created_at: datetime

    def held_on(self, day: date) -> bool:
        return self.granted_on <= day and (self.expires_on is None or day <= self.expires_on)


@dataclass(frozen=True, slots=True)
class TierVersionRecord:
    tier: str
    version: int
    #: The criteria as saved (a condition's JSON form).
    criteria: Any
    effective_from: date
    note: str
    saved_by: str
    saved_at: datetime


def _file(row: Enterprise) -> EnterpriseFileRecord:
    return EnterpriseFileRecord(
        id=row.id,
        park_id=row.park_id,
        name=row.name,
        uscc=row.uscc,
        nbs_category=row.nbs_category,
        industry_code=row.industry_code,
        division_code=row.division_code,
        established_on=row.established_on,
        key_enterprise=row.key_enterprise,
        listed=row.listed,
    )


def _figures(row: EnterpriseYearFigures) -> YearFiguresRecord:
    return YearFiguresRecord(
        enterprise_id=row.enterprise_id,
        year=row.year,
        values={name: getattr(row, name) for name in YEAR_FIGURES},
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _certification(row: EnterpriseCertification) -> CertificationRecord:
    return CertificationRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        kind=row.kind,
        granted_on=row.granted_on,
        expires_on=row.expires_on,
        number=row.number,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _version(row: TierCriteriaVersion) -> TierVersionRecord:
    return TierVersionRecord(
        tier=row.tier,
        version=row.version,
        criteria=json.loads(row.criteria),
        effective_from=row.effective_from,
        note=row.note,
        saved_by=row.saved_by,
        saved_at=row.saved_at,
    )


class EnterpriseFileMixin(RegistryCore):
    """Enterprise files (一企一档): yearly figures, certifications, tier criteria versions."""

    # The file's own fields ---------------------------------------------------------------

    def enterprise_file(self, enterprise_id: int) -> EnterpriseFileRecord:
        with self._session() as s:
            row = s.get(Enterprise, enterprise_id)
            if row is None:
                raise missing("enterprise")
            return _file(row)

    def enterprise_files(self, park_id: int | None = None) -> list[EnterpriseFileRecord]:
        query = select(Enterprise).order_by(Enterprise.id)
        if park_id is not None:
            query = query.where(Enterprise.park_id == park_id)
        with self._session() as s:
            return [_file(row) for row in s.scalars(query)]

    def enterprise_id_by_uscc(self, uscc: str) -> int | None:
        with self._session() as s:
            return s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))

    def update_enterprise_file(
        self, enterprise_id: int, changes: dict[str, object]
    ) -> tuple[EnterpriseFileRecord, bool]:
        """Set the given file fields (names of FILE_FIELDS, plus ``name``, ``park_id`` and
        ``nbs_category``, checked by the caller); answers the file and whether anything changed."""
        allowed = {*FILE_FIELDS, "name", "park_id", "nbs_category"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not fields of an enterprise file: {sorted(unknown)}")
        with self._session() as s:
            row = s.get(Enterprise, enterprise_id)
            if row is None:
                raise missing("enterprise")
            changed = False
            for name, value in changes.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed = True
            s.flush()
            return _file(row), changed

    # Yearly figures ----------------------------------------------------------------------

    def year_figures(self, enterprise_id: int) -> list[YearFiguresRecord]:
        """The enterprise's yearly figures, oldest year first."""
        with self._session() as s:
            if s.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise")
            rows = s.scalars(
                select(EnterpriseYearFigures)
                .where(EnterpriseYearFigures.enterprise_id == enterprise_id)
                .order_by(EnterpriseYearFigures.year)
            )
            return [_figures(r) for r in rows]

    def all_year_figures(self) -> dict[int, list[YearFiguresRecord]]:
        """Every enterprise's yearly figures, oldest year first (for district-wide tables)."""
        out: dict[int, list[YearFiguresRecord]] = {}
        with self._session() as s:
            rows = s.scalars(
                select(EnterpriseYearFigures).order_by(
                    EnterpriseYearFigures.enterprise_id, EnterpriseYearFigures.year
                )
            )
            for r in rows:
                out.setdefault(r.enterprise_id, []).append(_figures(r))
        return out

    def put_year_figures(
        self, enterprise_id: int, year: int, values: dict[str, float | int | None], by: str
    ) -> tuple[YearFiguresRecord, Upserted]:
        """Set one enterprise-year's figures (names of YEAR_FIGURES; those not given keep their
        value). Answers the row and whether it was created, updated or already so."""
        unknown = set(values) - set(YEAR_FIGURES)
        if unknown:
            raise ValueError(f"not yearly figures: {sorted(unknown)}")
        with self._session() as s:
            if s.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise")
            row = s.scalar(
                select(EnterpriseYearFigures).where(
                    EnterpriseYearFigures.enterprise_id == enterprise_id,
                    EnterpriseYearFigures.year == year,
                )
            )
            status: Upserted = "unchanged"
            if row is None:
                row = EnterpriseYearFigures(enterprise_id=enterprise_id, year=year, updated_by=by)
                s.add(row)
                status = "created"
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    if status == "unchanged":
                        status = "updated"
            if status != "unchanged":
                row.updated_by = by
                row.updated_at = utc_now()
            s.flush()
            return _figures(row), status

    # Certifications ----------------------------------------------------------------------

    def certifications(self, enterprise_id: int | None = None) -> list[CertificationRecord]:
        """Certifications of one enterprise (None: of all), by enterprise and date granted."""
        query = select(EnterpriseCertification).order_by(
            EnterpriseCertification.enterprise_id,
            EnterpriseCertification.granted_on,
            EnterpriseCertification.id,
        )
        if enterprise_id is not None:
            query = query.where(EnterpriseCertification.enterprise_id == enterprise_id)
        with self._session() as s:
            return [_certification(r) for r in s.scalars(query)]

    def add_certification(
        self,
        enterprise_id: int,
        kind: str,
        granted_on: date,
        expires_on: date | None,
        number: str | None,
        by: str,
    ) -> CertificationRecord:
        with self._session() as s:
            if s.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise")
            row = EnterpriseCertification(
                enterprise_id=enterprise_id,
                kind=kind,
                granted_on=granted_on,
                expires_on=expires_on,
                number=number,
                created_by=by,
            )
            s.add(row)
            s.flush()
            return _certification(row)

    def get_certification(self, certification_id: int) -> CertificationRecord:
        with self._session() as s:
            row = s.get(EnterpriseCertification, certification_id)
            if row is None:
                raise missing("certification")
            return _certification(row)

    def update_certification(
        self,
        certification_id: int,
        kind: str,
        granted_on: date,
        expires_on: date | None,
        number: str | None,
    ) -> CertificationRecord:
        with self._session() as s:
            row = s.get(EnterpriseCertification, certification_id)
            if row is None:
                raise missing("certification")
            row.kind, row.granted_on, row.expires_on, row.number = (
                kind,
                granted_on,
                expires_on,
                number,
            )
            s.flush()
            return _certification(row)

    def delete_certification(self, certification_id: int) -> None:
        with self._session() as s:
            row = s.get(EnterpriseCertification, certification_id)
            if row is None:
                raise missing("certification")
            s.delete(row)

    # Tier criteria -----------------------------------------------------------------------

    def save_tier_version(
        self, tier: str, criteria: object, effective_from: date, note: str, by: str
    ) -> TierVersionRecord:
        """A new version of ``tier``'s criteria, numbered after the newest one."""
        with self._session() as s:
            newest = s.scalar(
                select(func.max(TierCriteriaVersion.version)).where(
                    TierCriteriaVersion.tier == tier
                )
            )
            row = TierCriteriaVersion(
                tier=tier,
                version=(newest or 0) + 1,
                criteria=json.dumps(criteria, ensure_ascii=False, sort_keys=True),
                effective_from=effective_from,
                note=note,
                saved_by=by,
            )
            s.add(row)
            s.flush()
            return _version(row)

    def tier_versions(self, tier: str | None = None) -> list[TierVersionRecord]:
        """Saved versions of one tier's criteria (None: of every tier), oldest first."""
        query = select(TierCriteriaVersion).order_by(
            TierCriteriaVersion.tier, TierCriteriaVersion.version
        )
        if tier is not None:
            query = query.where(TierCriteriaVersion.tier == tier)
        with self._session() as s:
            return [_version(r) for r in s.scalars(query)]
