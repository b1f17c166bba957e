"""Tables of the bureau's system: an enterprise's particulars (企业特定事项), the facts policies
ask about that no yearly figure holds (a lease, an investment in the district, capital paid in).

Each recording adds a row: the newest row per enterprise and fact is the fact, the older ones
say who recorded what before. A row without a value clears the fact.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base, utc_now


class EnterpriseParticular(Base):
    """One recorded value of one particular of an enterprise."""

    __tablename__ = "enterprise_particulars"
    __table_args__ = (
        Index("ix_enterprise_particulars_enterprise_id_fact", "enterprise_id", "fact"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    fact: Mapped[str] = mapped_column(String(64))
    #: The value as JSON (a number or true/false); NULL: the fact was cleared.
    value: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)
