"""Incidents (事件): alarms that share a cause, grouped, with the alarm → incident link; the
gateway that carries a device (devices.gateway_id), learnt by ingest.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("cause_alarm_id", sa.Integer(), nullable=True),
        sa.Column("alarm_count", sa.Integer(), nullable=False),
        sa.Column("escalation", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'closed')", name=op.f("ck_incidents_state")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_incidents_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ix_incidents_enterprise_id_state", "incidents", ["enterprise_id", "state"])
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_alarms_incident_id"), ["incident_id"])
        batch.create_foreign_key(
            batch.f("fk_alarms_incident_id_incidents"),
            "incidents",
            ["incident_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("gateway_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_devices_gateway_id_devices"),
            "devices",
            ["gateway_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_constraint("fk_devices_gateway_id_devices", type_="foreignkey")
        batch.drop_column("gateway_id")
    with op.batch_alter_table("alarms") as batch:
        batch.drop_constraint("fk_alarms_incident_id_incidents", type_="foreignkey")
        batch.drop_index("ix_alarms_incident_id")
        batch.drop_column("incident_id")
    op.drop_table("incidents")
