"""Tables of a shugu cluster: which processes are alive, and in which role.

Each process of a cluster (ingest worker, monitor worker, API node) writes its own row and
refreshes it by a heartbeat; a row whose heartbeat is older than the agreed bound is a member
that left, cleanly or not. Monitor workers divide the devices among the live monitor members
(``monitor/partitions.py``), so every one of them must read the same list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base


class ClusterMember(Base):
    """One running process of the cluster, as it last reported itself."""

    __tablename__ = "cluster_members"
    __table_args__ = (Index("ix_cluster_members_role_heartbeat_at", "role", "heartbeat_at"),)

    #: Chosen by the process at start (host, pid and a random part): never reused.
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    #: Where its peers reach it (host:port of its control or RPC endpoint); may be empty.
    address: Mapped[str] = mapped_column(String(256), default="")
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
