"""Park officials (an account bound to a park) and the enterprise file's own fields: industry
class, division, date of establishment, key-enterprise and listed flags.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("park_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_users_park_id"), ["park_id"])
        batch.create_foreign_key(batch.f("fk_users_park_id_parks"), "parks", ["park_id"], ["id"])
        batch.create_check_constraint(
            "role_park",
            "(role = 'park_official' AND park_id IS NOT NULL) OR "
            "(role <> 'park_official' AND park_id IS NULL)",
        )
    with op.batch_alter_table("enterprises") as batch:
        batch.add_column(sa.Column("industry_code", sa.String(length=4), nullable=True))
        batch.add_column(sa.Column("division_code", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("established_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("key_enterprise", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        for column in ("listed", "key_enterprise", "established_on", "division_code"):
            batch.drop_column(column)
        batch.drop_column("industry_code")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("ck_users_role_park", type_="check")
        batch.drop_constraint("fk_users_park_id_parks", type_="foreignkey")
        batch.drop_index("ix_users_park_id")
        batch.drop_column("park_id")
