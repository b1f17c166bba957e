"""Tables of the bureau's system: the project library (项目库) and enterprise appeals (企业诉求).

Money is kept in whole 元 (integers, exact sums on every database); the bureau writes and reads
万元, which the region's services convert. Stage, type and category keys are fixed here so the
database can check them; their names in Chinese and English are the region's data.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base, _in, utc_now

#: docs/domain.md's project stages, in order: filing (项目备案), permits (要件办理), construction
#: (推进建设), production (验收投产), policy support (申报政策支持).
PROJECT_STAGES = ("filing", "permits", "construction", "production", "policy")
PROJECT_TYPES = (
    "industrial",
    "technical_upgrade",
    "digital_economy",
    "sme_digital_transformation",
    "infrastructure",
    "other",
)
APPEAL_CATEGORIES = (
    "labour",
    "electricity",
    "transport",
    "finance",
    "land",
    "permits",
    "other",
)
APPEAL_STATES = ("open", "assigned", "answered", "closed")
APPEAL_EVENT_KINDS = ("filed", "assigned", "answered", "confirmed", "closed")


class Project(Base):
    """A project in the library: its owner (an enterprise on the platform, or a name and credit
    code as text), park, industry, type, investment and the planned date of each stage."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(_in("project_type", PROJECT_TYPES), name="project_type"),
        CheckConstraint("total_investment_yuan >= 0", name="total_investment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The bureau's project code, unique: the key imports match on.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="SET NULL"), index=True
    )
    #: The owner as written when it has no account on the platform.
    owner_name: Mapped[str] = mapped_column(String(200))
    owner_uscc: Mapped[str | None] = mapped_column(String(18))
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), index=True)
    #: GB/T 4754 industry class, four digits.
    industry_code: Mapped[str | None] = mapped_column(String(4))
    project_type: Mapped[str] = mapped_column(String(32))
    total_investment_yuan: Mapped[int] = mapped_column(BigInteger)
    #: The bureau's official responsible for the project (责任人).
    official: Mapped[str] = mapped_column(String(100))
    filing_planned: Mapped[date | None]
    permits_planned: Mapped[date | None]
    construction_planned: Mapped[date | None]
    production_planned: Mapped[date | None]
    policy_planned: Mapped[date | None]
    #: Go-live (上线) of an SME digital-transformation project: its before/after pivot.
    go_live_on: Mapped[date | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class ProjectProgress(Base):
    """A project's report for one month: investment in the month and to date, the stage reached,
    the problems blocking it (optionally raised as an appeal)."""

    __tablename__ = "project_progress"
    __table_args__ = (
        UniqueConstraint("project_id", "month"),
        CheckConstraint(_in("stage", PROJECT_STAGES), name="stage"),
        CheckConstraint("investment_month_yuan >= 0", name="investment_month"),
        CheckConstraint("investment_to_date_yuan >= 0", name="investment_to_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    #: The first day of the month reported.
    month: Mapped[date]
    investment_month_yuan: Mapped[int] = mapped_column(BigInteger)
    investment_to_date_yuan: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(16))
    #: The day the stage was reached (None: by the end of the month reported).
    stage_reached_on: Mapped[date | None]
    problems: Mapped[str] = mapped_column(Text, default="")
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(default=utc_now)


class Appeal(Base):
    """A problem an enterprise brings to the bureau, assigned to a department, answered, closed
    and rated."""

    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint(_in("category", APPEAL_CATEGORIES), name="category"),
        CheckConstraint(_in("status", APPEAL_STATES), name="status"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: The department's key (the region's departments list).
    department: Mapped[str | None] = mapped_column(String(40))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime]
    first_answer_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: Who closed it: "enterprise" (confirmed) or "bureau".
    closed_by_side: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)


class AppealEvent(Base):
    """Each step of an appeal's thread: who did what, when, with what words."""

    __tablename__ = "appeal_events"
    __table_args__ = (CheckConstraint(_in("kind", APPEAL_EVENT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
