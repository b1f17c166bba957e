"""Consents to read an enterprise's machine values (one kind for the bureau, one for the platform
operator), and the aggregates everyone sees without them."""

from __future__ import annotations

from sqlalchemy import func, select

from shugu.domain.errors import ConflictError, ValidationError
from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import Consent, Device, Enterprise, Park, User
from shugu.store.registry.records import ConsentRecord, ParkSummary

MAX_NOTE_LENGTH = 2000
#: Who may be granted consent (domain.tenancy.Grantee).
GRANTEES = ("bureau", "operator")


def consent_record(row: Consent) -> ConsentRecord:
    return ConsentRecord(
        id=row.id,
        enterprise_id=row.enterprise_id,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
        revoked_at=row.revoked_at,
        note=row.note,
        grantee=row.grantee,
    )


class ConsentMixin(RegistryCore):
    def grant_consent(
        self, enterprise_id: int, user_id: int, note: str = "", grantee: str = "bureau"
    ) -> ConsentRecord:
        """Record that an enterprise lets the bureau (or the operator) read its machine values.

        Only one consent per grantee is active at a time, so that revoking it surely ends the
        access.
        """
        if grantee not in GRANTEES:
            raise ValidationError(
                f"consent is granted to one of {', '.join(GRANTEES)}, not {grantee!r}",
                code="grantee_invalid",
                field="grantee",
            )
        clean_note = note.strip()[:MAX_NOTE_LENGTH]
        with self._session() as session:
            if session.get(Enterprise, enterprise_id) is None:
                raise missing("enterprise", field="enterprise_id")
            if session.get(User, user_id) is None:
                raise missing("user", field="user_id")
            active = session.scalar(
                select(Consent.id).where(
                    Consent.enterprise_id == enterprise_id,
                    Consent.grantee == grantee,
                    Consent.revoked_at.is_(None),
                )
            )
            if active is not None:
                raise ConflictError(
                    f"the enterprise has granted the {grantee} consent already (consent {active})",
                    code="consent_active",
                )
            row = Consent(
                enterprise_id=enterprise_id,
                grantee=grantee,
                granted_by=user_id,
                granted_at=self._now(),
                note=clean_note,
            )
            session.add(row)
            session.flush()
            record = consent_record(row)
        self._consent_by_enterprise.discard((enterprise_id, grantee))
        return record

    def revoke_consent(self, consent_id: int) -> ConsentRecord:
        """End a consent; revoking it again keeps the first revocation time."""
        with self._session() as session:
            row = session.get(Consent, consent_id)
            if row is None:
                raise missing("consent")
            if row.revoked_at is None:
                row.revoked_at = self._now()
            record = consent_record(row)
        self._consent_by_enterprise.discard((record.enterprise_id, record.grantee))
        return record

    def get_consent(self, consent_id: int) -> ConsentRecord:
        with self._session() as session:
            row = session.get(Consent, consent_id)
            if row is None:
                raise missing("consent")
            return consent_record(row)

    def list_consents(self, enterprise_id: int) -> list[ConsentRecord]:
        """Every consent of an enterprise, active and revoked, oldest first."""
        with self._session() as session:
            rows = session.scalars(
                select(Consent).where(Consent.enterprise_id == enterprise_id).order_by(Consent.id)
            )
            return [consent_record(r) for r in rows]

    def has_consent(self, enterprise_id: int, grantee: str = "bureau") -> bool:
        """Whether the grantee may read the enterprise's machine values now (cached)."""
        key = (enterprise_id, str(grantee))
        hit = self._consent_by_enterprise.get(key)
        if hit is not None:
            return hit.value
        generation = self._consent_by_enterprise.generation
        with self._session() as session:
            active = session.scalar(
                select(Consent.id)
                .where(
                    Consent.enterprise_id == enterprise_id,
                    Consent.grantee == str(grantee),
                    Consent.revoked_at.is_(None),
                )
                .limit(1)
            )
        granted = active is not None
        self._consent_by_enterprise.put(key, granted, generation=generation)
        return granted

    def count_summary(self) -> list[ParkSummary]:
        """Enterprises and devices per park, naming no machine."""
        devices_per_enterprise = (
            select(Device.enterprise_id, func.count(Device.id).label("devices"))
            .where(Device.deleted_at.is_(None))
            .group_by(Device.enterprise_id)
            .subquery()
        )
        query = (
            select(
                Park.id,
                Park.name,
                Park.region_id,
                func.count(Enterprise.id),
                func.coalesce(func.sum(devices_per_enterprise.c.devices), 0),
            )
            .select_from(Park)
            .outerjoin(Enterprise, Enterprise.park_id == Park.id)
            .outerjoin(
                devices_per_enterprise, devices_per_enterprise.c.enterprise_id == Enterprise.id
            )
            .group_by(Park.id, Park.name, Park.region_id)
            .order_by(Park.id)
        )
        with self._session() as session:
            return [
                ParkSummary(
                    park_id=park_id,
                    park_name=name,
                    region_id=region_id,
                    enterprises=int(enterprises),
                    devices=int(devices),
                )
                for park_id, name, region_id, enterprises, devices in session.execute(query)
            ]
