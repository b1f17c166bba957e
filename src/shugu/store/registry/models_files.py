"""Tables of the bureau's system: enterprise files (一企一档): yearly figures, certifications and
the versions of tier criteria. Tags are data in the region room, computed, never stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base, utc_now

#: Certifications (资质) an enterprise can hold, as the bureau names them.
CERTIFICATION_KINDS = ("高企", "专精特新", "小巨人", "单项冠军", "瞪羚", "独角兽", "雏鹰", "科小")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class EnterpriseYearFigures(Base):
    """One enterprise's figures for one year (年度数据); money in 万元 unless the name says
    otherwise. Every figure may be unknown (NULL): criteria treat unknown as missing data."""

    __tablename__ = "enterprise_year_figures"
    __table_args__ = (UniqueConstraint("enterprise_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int]
    revenue_wan: Mapped[float | None]
    main_business_revenue_wan: Mapped[float | None]
    high_tech_revenue_wan: Mapped[float | None]
    output_value_wan: Mapped[float | None]
    rd_spend_wan: Mapped[float | None]
    staff: Mapped[int | None]
    tech_staff: Mapped[int | None]
    energy_tce: Mapped[float | None]
    total_assets_wan: Mapped[float | None]
    total_liabilities_wan: Mapped[float | None]
    vc_raised_wan: Mapped[float | None]
    new_equity_wan: Mapped[float | None]
    #: Post-money valuation in 亿 US dollars (独角兽 counts in dollars).
    valuation_usd_yi: Mapped[float | None]
    #: Rank of its main product's global market share (单项冠军 needs the top 3).
    global_share_rank: Mapped[int | None]
    #: Years in its niche market (专精特新 and 小巨人 count them).
    niche_years: Mapped[int | None]
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class EnterpriseCertification(Base):
    """A certification an enterprise holds or held, with its dates (资质认定)."""

    __tablename__ = "enterprise_certifications"
    __table_args__ = (CheckConstraint(_in("kind", CERTIFICATION_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    granted_on: Mapped[date]
    expires_on: Mapped[date | None]
    number: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class TierCriteriaVersion(Base):
    """One saved version of a tier's criteria (a condition as JSON): each save adds a version,
    so an evaluation can say which one it used."""

    __tablename__ = "tier_criteria_versions"
    __table_args__ = (UniqueConstraint("tier", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    criteria: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime] = mapped_column(default=utc_now)
