"""The cluster's members in the registry: each process's heartbeat, and who is alive now.

A member is alive while its last heartbeat is younger than the bound the caller states (the
same for every member of a role: ``MEMBER_TIMEOUT_S`` of ``monitor/partitions.py`` for monitor
workers). Times are the members' own clocks, which a cluster keeps in step by NTP; the bound is
seconds, the skew milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from shugu.domain.errors import ValidationError
from shugu.store.registry.core import RegistryCore
from shugu.store.registry.models_cluster import ClusterMember

#: What a process of a cluster does; ``all`` is one process doing everything.
ROLES = ("ingest", "api", "monitor", "all")


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member_id: str
    role: str
    address: str
    started_at: datetime
    heartbeat_at: datetime


def _record(row: ClusterMember) -> MemberRecord:
    return MemberRecord(row.member_id, row.role, row.address, row.started_at, row.heartbeat_at)


class ClusterMixin(RegistryCore):
    def heartbeat(self, member_id: str, role: str, at: datetime, address: str = "") -> None:
        """Say that the member is alive at ``at``: its row is made on the first beat."""
        if role not in ROLES:
            raise ValidationError(f"no cluster role {role!r}", code="unknown_role", field="role")

        def write() -> None:
            with self._session() as session:
                row = session.get(ClusterMember, member_id)
                if row is None:
                    session.add(
                        ClusterMember(
                            member_id=member_id,
                            role=role,
                            address=address,
                            started_at=at,
                            heartbeat_at=at,
                        )
                    )
                    session.flush()
                else:
                    # A late beat (a slow transaction) never moves the heartbeat back.
                    row.heartbeat_at = max(row.heartbeat_at, at)
                    row.role, row.address = role, address

        self._upsert(write)

    def live_members(self, role: str, at: datetime, timeout_s: float) -> list[MemberRecord]:
        """Members of ``role`` (and of role ``all``) whose last beat is within ``timeout_s``
        of ``at``, by member id: every reader with the same ``at`` sees the same list."""
        since = at - timedelta(seconds=timeout_s)
        with self._session() as session:
            rows = session.scalars(
                select(ClusterMember)
                .where(ClusterMember.role.in_((role, "all")), ClusterMember.heartbeat_at > since)
                .order_by(ClusterMember.member_id)
            )
            return [_record(r) for r in rows]

    def leave_cluster(self, member_id: str) -> None:
        """A member stopping cleanly leaves at once rather than when its beats age out."""
        with self._session() as session:
            session.execute(delete(ClusterMember).where(ClusterMember.member_id == member_id))

    def forget_members_before(self, at: datetime) -> int:
        """Rows of members silent since before ``at`` (gone for good); how many."""
        with self._session() as session:
            done = session.execute(delete(ClusterMember).where(ClusterMember.heartbeat_at < at))
            return int(getattr(done, "rowcount", 0) or 0)
