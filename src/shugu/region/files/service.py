"""One file per enterprise (一企一档): what routes and pages call. Reads and edits an enterprise's
file, yearly figures and certifications with the caller's rights, and builds the district's
table of files with facts, tags and tier standings.

Rights: the bureau reads every file and edits the file's fields, certifications and tier
criteria; a park official reads the files of its park's enterprises; an enterprise's members read
its own file and its administrators file its yearly figures. The platform operator runs the
platform, not the bureau's records: it is refused. A file the caller may not know of is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from shugu.domain.classification import check_nbs_category
from shugu.domain.divisions import parse_division_code
from shugu.domain.errors import ForbiddenError, ValidationError
from shugu.domain.tenancy import Access, Role
from shugu.region.facts import FactBook
from shugu.region.files.measured import MeasuredFacts
from shugu.region.files.particulars import check_particulars
from shugu.region.files.tags import load_tags, tag_keys, tags_of
from shugu.region.files.tiers import STANDINGS, TierBook, TierCriteria, TierStanding, tier_defs
from shugu.store.registry import Registry
from shugu.store.registry.core import clean_name, missing
from shugu.store.registry.models_files import CERTIFICATION_KINDS
from shugu.store.registry.region_files import (
    YEAR_FIGURES,
    CertificationRecord,
    EnterpriseFileRecord,
    Upserted,
    YearFiguresRecord,
)
from shugu.store.registry.region_particulars import ParticularRecord

INDUSTRY_CODE = re.compile(r"^\d{4}$")
MIN_YEAR, MAX_YEAR = 1949, 2100
#: Upper bound of any yearly figure: beyond this it is a typo, not a figure (万元 or people).
MAX_FIGURE = 1e12
SIZE_CLASSES = ("large", "medium", "small", "micro")


@dataclass(frozen=True, slots=True)
class FileFilters:
    park_id: int | None = None
    industry: str | None = None
    nbs: str | None = None
    tag: str | None = None
    tier: str | None = None
    #: With ``tier``: the standings kept (default: qualifies and close).
    standings: frozenset[str] = frozenset({"qualifies", "close"})
    key_enterprise: bool | None = None
    size: str | None = None


@dataclass(frozen=True, slots=True)
class FileRow:
    """One enterprise in the district's table of files."""

    file: EnterpriseFileRecord
    facts: dict[str, object]
    standings: list[TierStanding]

    @property
    def tags(self) -> list[str]:
        tags = self.facts.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) else []


@dataclass(frozen=True, slots=True)
class FileView:
    """One enterprise's whole file."""

    row: FileRow
    figures: list[YearFiguresRecord]
    certifications: list[CertificationRecord]
    criteria: dict[str, TierCriteria] = field(default_factory=dict)
    #: The particulars as they stand (the facts policies ask about), by name.
    particulars: dict[str, ParticularRecord] = field(default_factory=dict)


def _forbidden(message: str) -> ForbiddenError:
    return ForbiddenError(message, code="forbidden")


def require_file_reader(access: Access, enterprise_id: int) -> None:
    """The enterprise's file: its members, its park's official, the bureau."""
    if not access.can_see_enterprise(enterprise_id):
        raise missing("enterprise")
    if access.role is Role.OPERATOR:
        raise _forbidden("enterprise files are the bureau's records, not the platform's")


def require_bureau(access: Access) -> None:
    if not access.is_bureau():
        raise _forbidden("only the bureau changes this")


def require_district_reader(access: Access) -> None:
    """The district's table of files: the bureau, and park officials for their park."""
    if access.role not in (Role.BUREAU, Role.PARK_OFFICIAL):
        raise _forbidden("the district's enterprise files are for the bureau and park officials")


def check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            f"a year between {MIN_YEAR} and {MAX_YEAR}", code="figures_year_invalid", field="year"
        )
    return year


def check_figures(values: Mapping[str, object]) -> dict[str, float | int | None]:
    """Yearly figures by name: known names only, numbers ≥ 0 (people and ranks whole)."""
    out: dict[str, float | int | None] = {}
    for name, value in values.items():
        kind = YEAR_FIGURES.get(name)
        if kind is None:
            raise ValidationError(
                f"{name!r} is no yearly figure", code="figure_unknown", field=name
            )
        if value is None:
            out[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"{name} is a number", code="figure_invalid", field=name)
        # An int beyond a float's reach is beyond any figure too.
        outside = isinstance(value, int) and not 0 <= value <= MAX_FIGURE
        number = -1.0 if outside else float(value)
        if not (0 <= number <= MAX_FIGURE):
            raise ValidationError(
                f"{name} is a number from 0 to {MAX_FIGURE:.0f}", code="figure_invalid", field=name
            )
        if kind is int:
            if number != int(number):
                raise ValidationError(
                    f"{name} is a whole number", code="figure_invalid", field=name
                )
            out[name] = int(number)
        else:
            out[name] = number
    return out


def check_file_changes(changes: Mapping[str, object]) -> dict[str, object]:
    """The file's own fields, checked: industry class 4 digits, division code by GB/T 2260."""
    out: dict[str, object] = {}
    for name, value in changes.items():
        if name == "industry_code":
            if value is not None and (not isinstance(value, str) or not INDUSTRY_CODE.match(value)):
                raise ValidationError(
                    "an industry class (GB/T 4754) has 4 digits",
                    code="industry_code_invalid",
                    field=name,
                )
            out[name] = value
        elif name == "division_code":
            out[name] = None if value is None else parse_division_code(str(value)).code
        elif name == "nbs_category":
            out[name] = None if value is None else check_nbs_category(str(value)).code
        elif name == "name":
            out[name] = clean_name(str(value), "name")
        elif name == "established_on":
            if value is not None and not isinstance(value, date):
                raise ValidationError("a date of establishment", code="invalid", field=name)
            out[name] = value
        elif name in ("key_enterprise", "listed"):
            if not isinstance(value, bool):
                raise ValidationError(f"{name} is true or false", code="invalid", field=name)
            out[name] = value
        elif name == "park_id":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError("a park's id", code="invalid", field=name)
            out[name] = value
        else:
            raise ValidationError(f"{name!r} is no field of the file", code="invalid", field=name)
    return out


def check_certification(kind: str, granted_on: date, expires_on: date | None) -> None:
    if kind not in CERTIFICATION_KINDS:
        raise ValidationError(
            f"a certification is one of {', '.join(CERTIFICATION_KINDS)}",
            code="certification_kind_unknown",
            field="kind",
        )
    if expires_on is not None and expires_on < granted_on:
        raise ValidationError(
            "a certification expires after it is granted",
            code="certification_dates_invalid",
            field="expires_on",
        )


class EnterpriseFiles:
    """The enterprise-file service of one process."""

    def __init__(self, registry: Registry, measured: MeasuredFacts | None) -> None:
        self.registry = registry
        self.measured = measured
        self.facts = FactBook(registry, measured, tags_of)
        self.tiers = TierBook(registry)

    # One enterprise ------------------------------------------------------------------------

    def view(self, access: Access, enterprise_id: int, year: int | None = None) -> FileView:
        require_file_reader(access, enterprise_id)
        record = self.registry.enterprise_file(enterprise_id)
        figures = self.registry.year_figures(enterprise_id)
        certifications = self.registry.certifications(enterprise_id)
        particulars = self.registry.particulars(enterprise_id)
        facts = self.facts.facts_of(record, figures, certifications, year, particulars)
        criteria = self.tiers.in_force(date.today())
        standings = self.tiers.evaluate(facts, criteria)
        row = FileRow(record, facts, standings)
        return FileView(row, figures, certifications, criteria, particulars)

    def update_file(
        self, access: Access, enterprise_id: int, changes: Mapping[str, object]
    ) -> EnterpriseFileRecord:
        require_file_reader(access, enterprise_id)
        require_bureau(access)
        checked = check_file_changes(changes)
        if "park_id" in checked:
            park_id = checked["park_id"]
            assert isinstance(park_id, int)
            self.registry.get_park(park_id)
        record, _ = self.registry.update_enterprise_file(enterprise_id, checked)
        return record

    def year_figures(self, access: Access, enterprise_id: int) -> list[YearFiguresRecord]:
        require_file_reader(access, enterprise_id)
        return self.registry.year_figures(enterprise_id)

    def put_year_figures(
        self, access: Access, enterprise_id: int, year: int, values: Mapping[str, object]
    ) -> tuple[YearFiguresRecord, Upserted]:
        """The bureau, or the enterprise's own administrators, set a year's figures."""
        require_file_reader(access, enterprise_id)
        if not (access.is_bureau() or access.can_file_for(enterprise_id)):
            raise _forbidden("the bureau or the enterprise's administrators file its figures")
        return self.registry.put_year_figures(
            enterprise_id, check_year(year), check_figures(values), access.principal.username
        )

    def particulars(self, access: Access, enterprise_id: int) -> dict[str, ParticularRecord]:
        """The enterprise's particulars as they stand, each with who recorded it and when."""
        require_file_reader(access, enterprise_id)
        return self.registry.particulars(enterprise_id)

    def particular_history(self, access: Access, enterprise_id: int) -> list[ParticularRecord]:
        require_file_reader(access, enterprise_id)
        return self.registry.particular_history(enterprise_id)

    def record_particulars(
        self, access: Access, enterprise_id: int, values: Mapping[str, object]
    ) -> list[ParticularRecord]:
        """The bureau, or the enterprise's own administrators, record particulars (None clears
        one); answers the recordings made."""
        require_file_reader(access, enterprise_id)
        if not (access.is_bureau() or access.can_file_for(enterprise_id)):
            raise _forbidden("the bureau or the enterprise's administrators record its particulars")
        return self.registry.record_particulars(
            enterprise_id, check_particulars(values), access.principal.username
        )

    def certifications(self, access: Access, enterprise_id: int) -> list[CertificationRecord]:
        require_file_reader(access, enterprise_id)
        return self.registry.certifications(enterprise_id)

    def add_certification(
        self,
        access: Access,
        enterprise_id: int,
        kind: str,
        granted_on: date,
        expires_on: date | None,
        number: str | None,
    ) -> CertificationRecord:
        require_file_reader(access, enterprise_id)
        require_bureau(access)
        check_certification(kind, granted_on, expires_on)
        return self.registry.add_certification(
            enterprise_id, kind, granted_on, expires_on, number, access.principal.username
        )

    def update_certification(
        self,
        access: Access,
        enterprise_id: int,
        certification_id: int,
        kind: str,
        granted_on: date,
        expires_on: date | None,
        number: str | None,
    ) -> CertificationRecord:
        self._own_certification(access, enterprise_id, certification_id)
        require_bureau(access)
        check_certification(kind, granted_on, expires_on)
        return self.registry.update_certification(
            certification_id, kind, granted_on, expires_on, number
        )

    def delete_certification(
        self, access: Access, enterprise_id: int, certification_id: int
    ) -> None:
        self._own_certification(access, enterprise_id, certification_id)
        require_bureau(access)
        self.registry.delete_certification(certification_id)

    def _own_certification(self, access: Access, enterprise_id: int, cert_id: int) -> None:
        require_file_reader(access, enterprise_id)
        if self.registry.get_certification(cert_id).enterprise_id != enterprise_id:
            raise missing("certification")

    # The district ---------------------------------------------------------------------------

    def rows(self, access: Access, filters: FileFilters | None = None) -> list[FileRow]:
        """The files the caller may read in the district table, filtered."""
        require_district_reader(access)
        filters = filters or FileFilters()
        check_filters(filters)
        files = self.registry.enterprise_files(filters.park_id)
        if access.role is Role.PARK_OFFICIAL:
            files = [f for f in files if access.can_see_park(f.park_id)]
        figures = self.registry.all_year_figures()
        certifications: dict[int, list[CertificationRecord]] = {}
        for c in self.registry.certifications():
            certifications.setdefault(c.enterprise_id, []).append(c)
        particulars = self.registry.all_particulars()
        criteria = self.tiers.in_force(date.today())
        out: list[FileRow] = []
        for f in files:
            facts = self.facts.facts_of(
                f,
                figures.get(f.id, []),
                certifications.get(f.id, []),
                particulars=particulars.get(f.id),
            )
            row = FileRow(f, facts, self.tiers.evaluate(facts, criteria))
            if _kept(row, filters):
                out.append(row)
        return out

    def criteria_in_force(self) -> dict[str, TierCriteria]:
        return self.tiers.in_force(date.today())

    def tier_versions(self, tier: str) -> list[TierCriteria]:
        return self.tiers.versions(tier)

    def save_tier(
        self, access: Access, tier: str, criteria: object, effective_from: date, note: str
    ) -> TierCriteria:
        require_bureau(access)
        return self.tiers.save(tier, criteria, effective_from, note, access.principal.username)


def check_filters(filters: FileFilters) -> None:
    if filters.tag is not None and filters.tag not in tag_keys():
        raise ValidationError("no such tag", code="tag_unknown", field="tag")
    if filters.tier is not None and filters.tier not in {d.key for d in tier_defs()}:
        raise ValidationError("no such tier", code="tier_unknown", field="tier")
    if not filters.standings <= set(STANDINGS):
        raise ValidationError(
            f"a standing is one of {', '.join(STANDINGS)}",
            code="standing_unknown",
            field="standing",
        )
    if filters.size is not None and filters.size not in SIZE_CLASSES:
        raise ValidationError(
            f"a size class is one of {', '.join(SIZE_CLASSES)}", code="size_unknown", field="size"
        )


def _kept(row: FileRow, filters: FileFilters) -> bool:
    f, facts = row.file, row.facts
    if filters.industry and (f.industry_code or "") != filters.industry:
        return False
    if filters.nbs and not (f.nbs_category or "").startswith(filters.nbs):
        return False
    if filters.tag and filters.tag not in row.tags:
        return False
    if filters.key_enterprise is not None and f.key_enterprise != filters.key_enterprise:
        return False
    if filters.size and facts.get("size_class") != filters.size:
        return False
    if filters.tier:
        standing = next(s for s in row.standings if s.tier == filters.tier)
        if standing.standing not in filters.standings:
            return False
    return True


def tag_labels(lang: str) -> dict[str, str]:
    return {r.key: r.label(lang) for r in load_tags()}
