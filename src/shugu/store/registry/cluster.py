"""The cluster's members in the registry: each process's heartbeat, and who is alive now.

A member is alive while its last heartbeat is younger than the bound the caller states (the
same for every member of a role: ``MEMBER_TIMEOUT_S`` of ``monitor/partitions.py`` for monitor
workers). Times are the members' own clocks, which a cluster keeps in step by NTP; the bound is
seconds, the skew milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from shugu.domain.errors import ConflictError, ValidationError
from shugu.store.clickhouse_schema import NODE_BITS
from shugu.store.registry.core import RegistryCore
from shugu.store.registry.models_cluster import ClusterMember, ClusterSignal, MetricName

#: What a process of a cluster does; ``all`` is one process doing everything.
ROLES = ("ingest", "api", "monitor", "all")
#: A member is gone when it has not beaten for this long; a member beats every ``HEARTBEAT_S``
#: seconds, so three beats may be lost to a slow database before it is.
HEARTBEAT_S = 2.0
MEMBER_TIMEOUT_S = 3 * HEARTBEAT_S + 1.0
#: Node numbers fill the low bits of a row sequence (``clickhouse_schema.NODE_BITS``); 0 is a
#: store outside any cluster.
MAX_NODE_NUMBER = (1 << NODE_BITS) - 1


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member_id: str
    role: str
    address: str
    started_at: datetime
    heartbeat_at: datetime
    node_number: int | None = None
    fed_seq: int = 0
    #: A monitor worker's watermarks, node number → highest sequence evaluated.
    progress: Mapping[int, int] = field(default_factory=dict)


def _progress(text: str) -> dict[int, int]:
    if not text:
        return {}
    return {int(node): int(seq) for node, seq in json.loads(text).items()}


def _record(row: ClusterMember) -> MemberRecord:
    return MemberRecord(
        row.member_id,
        row.role,
        row.address,
        row.started_at,
        row.heartbeat_at,
        row.node_number,
        row.fed_seq,
        _progress(row.progress),
    )


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

    def members(self, roles: Sequence[str]) -> list[MemberRecord]:
        """Every member row of ``roles``, alive or not (those not yet forgotten), by member id."""
        with self._session() as session:
            rows = session.scalars(
                select(ClusterMember)
                .where(ClusterMember.role.in_(tuple(roles)))
                .order_by(ClusterMember.member_id)
            )
            return [_record(r) for r in rows]

    def claim_node_number(self, member_id: str) -> int:
        """The member's node number, claiming the lowest free one on the first call. Numbers
        of members not yet forgotten stay taken: their rows may still be waiting to be read."""
        for _attempt in range(8):
            with self._session() as session:
                row = session.get(ClusterMember, member_id)
                if row is None:
                    raise ValidationError(
                        "a member claims a node number after its first heartbeat",
                        code="unknown_member",
                    )
                if row.node_number is not None:
                    return row.node_number
                taken = set(
                    session.scalars(
                        select(ClusterMember.node_number).where(
                            ClusterMember.node_number.is_not(None)
                        )
                    )
                )
                free = next((n for n in range(1, MAX_NODE_NUMBER + 1) if n not in taken), None)
                if free is None:
                    raise ConflictError(
                        f"all {MAX_NODE_NUMBER} node numbers are taken", code="no_node_number"
                    )
                row.node_number = free
                try:
                    session.flush()
                except IntegrityError:
                    # Another member took the same number at the same moment: look again.
                    session.rollback()
                    continue
                return free
        raise ConflictError("no node number could be claimed", code="no_node_number")

    def publish_fed(self, member_id: str, seq: int) -> None:
        """An ingest worker's rows up to ``seq`` are on every shard, ready to read."""
        with self._session() as session:
            session.execute(
                update(ClusterMember)
                .where(ClusterMember.member_id == member_id, ClusterMember.fed_seq < seq)
                .values(fed_seq=seq)
            )

    def save_watermarks(self, member_id: str, watermarks: Mapping[int, int]) -> None:
        """A monitor worker's watermarks, for whoever takes its enterprises over."""
        text = json.dumps({str(k): int(v) for k, v in sorted(watermarks.items())})
        with self._session() as session:
            session.execute(
                update(ClusterMember)
                .where(ClusterMember.member_id == member_id)
                .values(progress=text)
            )

    # -- change signals ----------------------------------------------------------------------

    def bump_signal(self, name: str) -> None:
        """Tell every process that what ``name`` covers has changed."""

        def write() -> None:
            with self._session() as session:
                row = session.get(ClusterSignal, name)
                if row is None:
                    session.add(ClusterSignal(name=name, version=1))
                    session.flush()
                else:
                    session.execute(
                        update(ClusterSignal)
                        .where(ClusterSignal.name == name)
                        .values(version=ClusterSignal.version + 1)
                    )

        self._upsert(write)

    def signal_versions(self) -> dict[str, int]:
        with self._session() as session:
            return {r.name: r.version for r in session.scalars(select(ClusterSignal))}

    # -- metric numbering --------------------------------------------------------------------

    def number_metrics(self, names: Sequence[str]) -> dict[str, int]:
        """The number of each name, numbering the new ones; every caller on every node gets
        the same numbers (the name is unique, the number the database's own sequence)."""
        wanted = list(dict.fromkeys(names))
        found = self._metric_numbers(wanted)
        for name in wanted:
            if name in found:
                continue
            try:
                with self._session() as session:
                    session.add(MetricName(name=name))
            except (IntegrityError, ConflictError):
                pass  # numbered by another node meanwhile; read below
        return self._metric_numbers(wanted)

    def _metric_numbers(self, names: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        with self._session() as session:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                rows = session.execute(
                    select(MetricName.name, MetricName.id).where(MetricName.name.in_(chunk))
                )
                found.update({name: number for name, number in rows})
        return found

    def all_metric_numbers(self) -> dict[str, int]:
        with self._session() as session:
            return {
                name: number
                for name, number in session.execute(select(MetricName.name, MetricName.id))
            }

    def leave_cluster(self, member_id: str, at: datetime) -> None:
        """A member stopping cleanly at ``at`` is gone at once rather than when its beats age
        out. Its row stays until it is forgotten: the others still need its watermarks and
        the rows under its node number."""
        gone = at - timedelta(seconds=MEMBER_TIMEOUT_S + 1)
        with self._session() as session:
            session.execute(
                update(ClusterMember)
                .where(ClusterMember.member_id == member_id)
                .values(heartbeat_at=gone)
            )

    def forget_members_before(self, at: datetime) -> int:
        """Rows of members silent since before ``at`` (gone for good); how many."""
        with self._session() as session:
            done = session.execute(delete(ClusterMember).where(ClusterMember.heartbeat_at < at))
            return int(getattr(done, "rowcount", 0) or 0)
