"""Enterprise particulars (企业特定事项): the facts policies ask about, with their history.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprise_particulars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("fact", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_enterprise_particulars_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_particulars")),
    )
    op.create_index(
        op.f("ix_enterprise_particulars_enterprise_id"), "enterprise_particulars", ["enterprise_id"]
    )
    op.create_index(
        "ix_enterprise_particulars_enterprise_id_fact",
        "enterprise_particulars",
        ["enterprise_id", "fact"],
    )


def downgrade() -> None:
    op.drop_table("enterprise_particulars")
