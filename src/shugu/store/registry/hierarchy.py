"""Regions, parks and enterprises: the registry the bureau and the operator keep."""

from __future__ import annotations

from sqlalchemy import select

from shugu.domain.classification import check_nbs_category
from shugu.domain.divisions import parse_division_code
from shugu.domain.errors import ConflictError, ValidationError
from shugu.domain.uscc import check_uscc
from shugu.store.registry.core import RegistryCore, clean_name, missing
from shugu.store.registry.models import Enterprise, Park, Region
from shugu.store.registry.records import EnterpriseRecord, ParkRecord, RegionRecord


def region_record(row: Region) -> RegionRecord:
    return RegionRecord(id=row.id, code=row.code, name=row.name, created_at=row.created_at)


def park_record(row: Park) -> ParkRecord:
    return ParkRecord(
        id=row.id,
        region_id=row.region_id,
        name=row.name,
        division_code=row.division_code,
        created_at=row.created_at,
    )


def enterprise_record(row: Enterprise) -> EnterpriseRecord:
    return EnterpriseRecord(
        id=row.id,
        park_id=row.park_id,
        name=row.name,
        uscc=row.uscc,
        uscc_checksum_ok=row.uscc_checksum_ok,
        uscc_warning=row.uscc_warning,
        nbs_category=row.nbs_category,
        created_at=row.created_at,
    )


class HierarchyMixin(RegistryCore):
    # Regions -------------------------------------------------------------------------------

    def create_region(self, code: str, name: str) -> RegionRecord:
        division = parse_division_code(code, field="code", statistical=False)
        clean = clean_name(name, "name")
        taken = ConflictError(
            f"a region with division code {division.code} exists already",
            code="region_code_taken",
            field="code",
        )
        with self._session() as session:
            if session.scalar(select(Region.id).where(Region.code == division.code)) is not None:
                raise taken
            row = Region(code=division.code, name=clean)
            session.add(row)
            self._flush_unique(session, taken)
            return region_record(row)

    def get_region(self, region_id: int) -> RegionRecord:
        with self._session() as session:
            row = session.get(Region, region_id)
            if row is None:
                raise missing("region")
            return region_record(row)

    def list_regions(self) -> list[RegionRecord]:
        with self._session() as session:
            return [region_record(r) for r in session.scalars(select(Region).order_by(Region.id))]

    # Parks ---------------------------------------------------------------------------------

    def create_park(
        self, region_id: int, name: str, division_code: str | None = None
    ) -> ParkRecord:
        clean = clean_name(name, "name")
        division = parse_division_code(division_code) if division_code else None
        taken = ConflictError(
            f"the region has a park named {clean!r} already", code="park_name_taken", field="name"
        )
        with self._session() as session:
            region = session.get(Region, region_id)
            if region is None:
                raise missing("region", field="region_id")
            if division is not None:
                region_division = parse_division_code(region.code, field="code")
                if not region_division.contains(division):
                    raise ValidationError(
                        f"division code {division.code} does not lie within the region's "
                        f"division {region.code}",
                        code="division_outside_region",
                        field="division_code",
                    )
            duplicate = select(Park.id).where(Park.region_id == region_id, Park.name == clean)
            if session.scalar(duplicate) is not None:
                raise taken
            row = Park(
                region_id=region_id,
                name=clean,
                division_code=division.code if division else None,
            )
            session.add(row)
            self._flush_unique(session, taken)
            return park_record(row)

    def get_park(self, park_id: int) -> ParkRecord:
        with self._session() as session:
            row = session.get(Park, park_id)
            if row is None:
                raise missing("park")
            return park_record(row)

    def list_parks(self, region_id: int | None = None) -> list[ParkRecord]:
        query = select(Park).order_by(Park.id)
        if region_id is not None:
            query = query.where(Park.region_id == region_id)
        with self._session() as session:
            return [park_record(p) for p in session.scalars(query)]

    # Enterprises ---------------------------------------------------------------------------

    def create_enterprise(
        self, park_id: int, name: str, uscc: str, nbs_category: str | None = None
    ) -> EnterpriseRecord:
        clean = clean_name(name, "name")
        checked = check_uscc(uscc)
        category = check_nbs_category(nbs_category).code if nbs_category else None
        taken = ConflictError(
            f"an enterprise with unified social credit code {checked.code} is registered already",
            code="uscc_taken",
            field="uscc",
        )
        with self._session() as session:
            if session.get(Park, park_id) is None:
                raise missing("park", field="park_id")
            duplicate = select(Enterprise.id).where(Enterprise.uscc == checked.code)
            if session.scalar(duplicate) is not None:
                raise taken
            row = Enterprise(
                park_id=park_id,
                name=clean,
                uscc=checked.code,
                uscc_checksum_ok=checked.checksum_ok,
                uscc_warning=checked.warning,
                nbs_category=category,
            )
            session.add(row)
            self._flush_unique(session, taken)
            return enterprise_record(row)

    def get_enterprise(self, enterprise_id: int) -> EnterpriseRecord:
        with self._session() as session:
            row = session.get(Enterprise, enterprise_id)
            if row is None:
                raise missing("enterprise")
            return enterprise_record(row)

    def list_enterprises(self, park_id: int | None = None) -> list[EnterpriseRecord]:
        query = select(Enterprise).order_by(Enterprise.id)
        if park_id is not None:
            query = query.where(Enterprise.park_id == park_id)
        with self._session() as session:
            return [enterprise_record(e) for e in session.scalars(query)]
