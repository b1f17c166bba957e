"""Consents name their grantee: the bureau (every consent so far) or the platform operator.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a default: existing consents were all given to the bureau.
    op.add_column(
        "consents",
        sa.Column("grantee", sa.String(16), nullable=False, server_default="bureau"),
    )


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("grantee")
