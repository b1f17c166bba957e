"""What the feed of points to monitor workers needs: ingest node numbers and confirmed
sequences, monitor watermarks, change signals, and one numbering of metric names.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cluster_members") as batch:
        batch.add_column(sa.Column("node_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fed_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("progress", sa.Text(), nullable=False, server_default=""))
        batch.create_unique_constraint("uq_cluster_members_node_number", ["node_number"])
    op.create_table(
        "cluster_signals",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_signals")),
    )
    op.create_table(
        "metric_names",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_names")),
        sa.UniqueConstraint("name", name=op.f("uq_metric_names_name")),
    )


def downgrade() -> None:
    op.drop_table("metric_names")
    op.drop_table("cluster_signals")
    with op.batch_alter_table("cluster_members") as batch:
        batch.drop_constraint("uq_cluster_members_node_number", type_="unique")
        batch.drop_column("progress")
        batch.drop_column("fed_seq")
        batch.drop_column("node_number")
