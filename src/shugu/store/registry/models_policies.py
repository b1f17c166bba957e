"""Tables of the bureau's system: policies (惠企政策) as saved versions, grant batches computed for
a policy granted without applying (免申即享), their lines (an enterprise's entitlement, frozen with
its explanation and the facts used), and every step of a batch and its objections.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base, _in

GRANT_BATCH_STATES = ("computed", "approved", "discarded")
#: listed (in a batch not approved yet), granted, objected (waiting for the bureau), amended
#: (an objection upheld with a new amount), removed (upheld: no entitlement).
GRANT_LINE_STATES = ("listed", "granted", "objected", "amended", "removed")


class PolicyVersion(Base):
    """A policy's definition as the bureau saved it (JSON); the newest version is in force."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int]
    definition: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime]


class GrantBatch(Base):
    """The list of enterprises a policy pays without applying, computed at one moment."""

    __tablename__ = "grant_batches"
    __table_args__ = (CheckConstraint(_in("status", GRANT_BATCH_STATES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_code: Mapped[str] = mapped_column(String(40), index=True)
    #: The policy's version computed against (0: the definition shipped with shugu).
    policy_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="computed")
    total_wan: Mapped[float]
    computed_by: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    #: The last day an enterprise may object (set on approval).
    objections_until: Mapped[date | None]


class GrantLine(Base):
    """One enterprise's entitlement in a batch: the amount, why, and from which facts."""

    __tablename__ = "grant_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "enterprise_id"),
        CheckConstraint(_in("status", GRANT_LINE_STATES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("grant_batches.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    computed_wan: Mapped[float]
    amount_wan: Mapped[float]
    #: The explanation's lines (JSON) and the facts the amount was computed from (JSON).
    explanation: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="listed")
    objection: Mapped[str | None] = mapped_column(Text)
    objected_by: Mapped[str | None] = mapped_column(String(64))
    objected_at: Mapped[datetime | None]


class GrantEvent(Base):
    """Each step: computed, approved, discarded, objected, upheld, rejected; who, when, why."""

    __tablename__ = "grant_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("grant_batches.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("grant_lines.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    amount_before: Mapped[float | None]
    amount_after: Mapped[float | None]
