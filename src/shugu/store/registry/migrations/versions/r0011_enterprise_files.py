"""Enterprise files (一企一档): yearly figures, certifications and versions of tier criteria.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CERTIFICATION_KINDS = ("高企", "专精特新", "小巨人", "单项冠军", "瞪羚", "独角兽", "雏鹰", "科小")
YEAR_FLOATS = (
    "revenue_wan",
    "main_business_revenue_wan",
    "high_tech_revenue_wan",
    "output_value_wan",
    "rd_spend_wan",
)
YEAR_INTS = ("staff", "tech_staff")
MORE_FLOATS = (
    "energy_tce",
    "total_assets_wan",
    "total_liabilities_wan",
    "vc_raised_wan",
    "new_equity_wan",
    "valuation_usd_yi",
)


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _enterprise_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["enterprise_id"],
        ["enterprises.id"],
        name=op.f(f"fk_{table}_enterprise_id_enterprises"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "enterprise_year_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in YEAR_FLOATS),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in YEAR_INTS),
        *(sa.Column(name, sa.Float(), nullable=True) for name in MORE_FLOATS),
        sa.Column("global_share_rank", sa.Integer(), nullable=True),
        sa.Column("niche_years", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        _timestamp("updated_at"),
        _enterprise_fk("enterprise_year_figures"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_year_figures")),
        sa.UniqueConstraint(
            "enterprise_id", "year", name=op.f("uq_enterprise_year_figures_enterprise_id_year")
        ),
    )
    op.create_index(
        op.f("ix_enterprise_year_figures_enterprise_id"),
        "enterprise_year_figures",
        ["enterprise_id"],
    )
    kinds = ", ".join(repr(k) for k in CERTIFICATION_KINDS)
    op.create_table(
        "enterprise_certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint(f"kind IN ({kinds})", name=op.f("ck_enterprise_certifications_kind")),
        _enterprise_fk("enterprise_certifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_certifications")),
    )
    op.create_index(
        op.f("ix_enterprise_certifications_enterprise_id"),
        "enterprise_certifications",
        ["enterprise_id"],
    )
    op.create_table(
        "tier_criteria_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.String(length=64), nullable=False),
        _timestamp("saved_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_criteria_versions")),
        sa.UniqueConstraint("tier", "version", name=op.f("uq_tier_criteria_versions_tier_version")),
    )


def downgrade() -> None:
    op.drop_table("tier_criteria_versions")
    op.drop_table("enterprise_certifications")
    op.drop_table("enterprise_year_figures")
