"""Flapping alarms: an alarm held open while its rule flips, with the number of flips.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs with defaults: SQLite need not rebuild the table.
    op.add_column(
        "alarms",
        sa.Column("flapping", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "alarms", sa.Column("flips", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )


def downgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("flips")
        batch.drop_column("flapping")
