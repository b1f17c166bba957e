"""Tables of a shugu cluster: which processes are alive, and in which role.

Each process of a cluster (ingest worker, monitor worker, API node) writes its own row and
refreshes it by a heartbeat; a row whose heartbeat is older than the agreed bound is a member
that left, cleanly or not. Monitor workers divide the enterprises among the live monitor
members (``monitor/partitions.py``), so every one of them must read the same list.

The rows also carry what the feed of points to monitor workers needs (``monitor/feed.py``): each
ingest worker's node number (the low bits of every row sequence it writes) and the highest
sequence it has confirmed stored; each monitor worker's watermarks, from which another picks up
its enterprises when it leaves. Metric names are numbered here, once for every telemetry node.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shugu.store.registry.models import Base


class ClusterMember(Base):
    """One running process of the cluster, as it last reported itself."""

    __tablename__ = "cluster_members"
    __table_args__ = (
        Index("ix_cluster_members_role_heartbeat_at", "role", "heartbeat_at"),
        UniqueConstraint("node_number", name="uq_cluster_members_node_number"),
    )

    #: Chosen by the process at start (host, pid and a random part): never reused.
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    #: Where its peers reach it (host:port of its control or RPC endpoint); may be empty.
    address: Mapped[str] = mapped_column(String(256), default="")
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    #: An ingest worker's number (1..1023), the low bits of every row sequence it writes.
    node_number: Mapped[int | None] = mapped_column(Integer, default=None)
    #: An ingest worker's highest row sequence confirmed stored on every shard.
    fed_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: A monitor worker's watermarks: JSON ``{node number: highest sequence evaluated}``.
    progress: Mapped[str] = mapped_column(Text, default="", server_default="")


class ClusterSignal(Base):
    """A counter per kind of change (``monitor``: rules, devices, overrides, incidents) that a
    process bumps after changing it, so that the others reload it when they see it move."""

    __tablename__ = "cluster_signals"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class MetricName(Base):
    """A telemetry metric's number, the same on every telemetry node of a cluster."""

    __tablename__ = "metric_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
