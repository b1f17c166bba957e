"""The processes of a cluster and their heartbeats, from which monitor workers divide devices.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_members",
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_cluster_members")),
    )
    op.create_index(
        "ix_cluster_members_role_heartbeat_at",
        "cluster_members",
        ["role", "heartbeat_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_cluster_members_role_heartbeat_at", table_name="cluster_members")
    op.drop_table("cluster_members")
