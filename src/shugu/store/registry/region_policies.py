"""The registry's part for the bureau's system: policies (惠企政策) as saved versions, grant
batches of policies granted without applying (免申即享), their lines, and each step of a batch and
its objections.

The registry keeps the rows consistent (a batch moves computed → approved or discarded once; an
objection is made to a granted line of an approved batch within its window and resolved once);
who may do what, and what an amount is, are the service's questions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shugu.domain.errors import ConflictError
from shugu.store.registry.core import RegistryCore, missing
from shugu.store.registry.models import utc_now
from shugu.store.registry.models_policies import (
    GrantBatch,
    GrantEvent,
    GrantLine,
    PolicyVersion,
)


@dataclass(frozen=True, slots=True)
class PolicyVersionRecord:
    code: str
    version: int
    definition: dict[str, Any]
    saved_by: str
    saved_at: datetime


@dataclass(frozen=True, slots=True)
class NewGrantLine:
    enterprise_id: int
    amount_wan: float
    #: The explanation's lines (each {zh, en, amount_wan, depth}) and the facts used.
    explanation: list[dict[str, Any]]
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GrantEventRecord:
    id: int
    batch_id: int
    line_id: int | None
    at: datetime
    kind: str
    by: str
    note: str
    amount_before: float | None
    amount_after: float | None


@dataclass(frozen=True, slots=True)
class GrantLineRecord:
    id: int
    batch_id: int
    enterprise_id: int
    computed_wan: float
    amount_wan: float
    explanation: list[dict[str, Any]]
    facts: dict[str, Any]
    status: str
    objection: str | None
    objected_by: str | None
    objected_at: datetime | None
    policy_code: str
    batch_status: str
    objections_until: date | None
    events: tuple[GrantEventRecord, ...]


@dataclass(frozen=True, slots=True)
class GrantBatchRecord:
    id: int
    policy_code: str
    policy_version: int
    status: str
    total_wan: float
    computed_by: str
    computed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    objections_until: date | None
    lines: tuple[GrantLineRecord, ...]
    #: Steps of the batch itself (computed, approved, discarded); lines hold their own.
    events: tuple[GrantEventRecord, ...]


def _event(row: GrantEvent) -> GrantEventRecord:
    return GrantEventRecord(
        row.id,
        row.batch_id,
        row.line_id,
        row.at,
        row.kind,
        row.by,
        row.note,
        row.amount_before,
        row.amount_after,
    )


def _loads(text: str, empty: Any) -> Any:
    value = json.loads(text)
    return value if isinstance(value, type(empty)) else empty


def _line(row: GrantLine, batch: GrantBatch, events: list[GrantEventRecord]) -> GrantLineRecord:
    return GrantLineRecord(
        id=row.id,
        batch_id=row.batch_id,
        enterprise_id=row.enterprise_id,
        computed_wan=row.computed_wan,
        amount_wan=row.amount_wan,
        explanation=_loads(row.explanation, []),
        facts=_loads(row.facts, {}),
        status=row.status,
        objection=row.objection,
        objected_by=row.objected_by,
        objected_at=row.objected_at,
        policy_code=batch.policy_code,
        batch_status=batch.status,
        objections_until=batch.objections_until,
        events=tuple(e for e in events if e.line_id == row.id),
    )


class PolicyMixin(RegistryCore):
    """Policies (惠企政策), computed entitlements, objections."""

    # -- policy versions --------------------------------------------------------------------

    def save_policy_version(
        self, code: str, definition: dict[str, Any], by: str
    ) -> PolicyVersionRecord:
        """A new version of the policy (the first saved is 1; 0 is the shipped definition)."""
        with self._session() as s:
            newest = s.scalar(
                select(func.max(PolicyVersion.version)).where(PolicyVersion.code == code)
            )
            row = PolicyVersion(
                code=code,
                version=(newest or 0) + 1,
                definition=json.dumps(definition, ensure_ascii=False),
                saved_by=by,
                saved_at=utc_now(),
            )
            s.add(row)
            s.flush()
            return _version(row)

    def policy_versions(self, code: str | None = None) -> list[PolicyVersionRecord]:
        """Saved versions, oldest first (of one policy, or of all)."""
        with self._session() as s:
            query = select(PolicyVersion).order_by(PolicyVersion.code, PolicyVersion.version)
            if code is not None:
                query = query.where(PolicyVersion.code == code)
            return [_version(row) for row in s.scalars(query)]

    def latest_policy_versions(self) -> dict[str, PolicyVersionRecord]:
        latest: dict[str, PolicyVersionRecord] = {}
        for record in self.policy_versions():
            latest[record.code] = record
        return latest

    # -- grant batches ----------------------------------------------------------------------

    def add_grant_batch(
        self, policy_code: str, policy_version: int, lines: list[NewGrantLine], by: str
    ) -> GrantBatchRecord:
        """A computed batch; an earlier batch of the policy not yet approved is discarded."""
        now = utc_now()
        with self._session() as s:
            for old in s.scalars(
                select(GrantBatch).where(
                    GrantBatch.policy_code == policy_code, GrantBatch.status == "computed"
                )
            ):
                old.status, old.decided_by, old.decided_at = "discarded", by, now
                s.add(_new_event(old.id, None, "discarded", by, "superseded", now))
            batch = GrantBatch(
                policy_code=policy_code,
                policy_version=policy_version,
                status="computed",
                total_wan=round(sum(line.amount_wan for line in lines), 4),
                computed_by=by,
                computed_at=now,
            )
            s.add(batch)
            s.flush()
            for line in lines:
                s.add(
                    GrantLine(
                        batch_id=batch.id,
                        enterprise_id=line.enterprise_id,
                        computed_wan=line.amount_wan,
                        amount_wan=line.amount_wan,
                        explanation=json.dumps(line.explanation, ensure_ascii=False),
                        facts=json.dumps(line.facts, ensure_ascii=False, default=str),
                        status="listed",
                    )
                )
            s.add(_new_event(batch.id, None, "computed", by, f"{len(lines)} lines", now))
            s.flush()
            return self._batch(s, batch)

    def get_grant_batch(self, batch_id: int) -> GrantBatchRecord:
        with self._session() as s:
            batch = s.get(GrantBatch, batch_id)
            if batch is None:
                raise missing("grant batch")
            return self._batch(s, batch)

    def list_grant_batches(self, policy_code: str | None = None) -> list[GrantBatchRecord]:
        """Newest first, each with its lines."""
        with self._session() as s:
            query = select(GrantBatch).order_by(GrantBatch.id.desc())
            if policy_code is not None:
                query = query.where(GrantBatch.policy_code == policy_code)
            return [self._batch(s, b) for b in s.scalars(query)]

    def decide_grant_batch(
        self, batch_id: int, by: str, *, approve: bool, objections_until: date | None = None
    ) -> GrantBatchRecord:
        """Approve (every line granted, objections open until the given day) or discard."""
        now = utc_now()
        with self._session() as s:
            batch = s.get(GrantBatch, batch_id, with_for_update=True)
            if batch is None:
                raise missing("grant batch")
            if batch.status != "computed":
                raise ConflictError(
                    f"the batch is {batch.status} already", code="grant_batch_decided"
                )
            batch.status = "approved" if approve else "discarded"
            batch.decided_by, batch.decided_at = by, now
            if approve:
                batch.objections_until = objections_until
                for line in s.scalars(select(GrantLine).where(GrantLine.batch_id == batch_id)):
                    line.status = "granted"
            kind = "approved" if approve else "discarded"
            s.add(_new_event(batch.id, None, kind, by, "", now))
            s.flush()
            return self._batch(s, batch)

    # -- entitlements and objections --------------------------------------------------------

    def get_grant_line(self, line_id: int) -> GrantLineRecord:
        with self._session() as s:
            line = s.get(GrantLine, line_id)
            if line is None:
                raise missing("entitlement")
            return self._line(s, line)

    def grant_lines_of(self, enterprise_id: int) -> list[GrantLineRecord]:
        """The enterprise's entitlements: its lines in approved batches, newest first."""
        with self._session() as s:
            rows = s.scalars(
                select(GrantLine)
                .join(GrantBatch, GrantBatch.id == GrantLine.batch_id)
                .where(GrantLine.enterprise_id == enterprise_id, GrantBatch.status == "approved")
                .order_by(GrantLine.id.desc())
            )
            return [self._line(s, row) for row in rows]

    def object_to_grant_line(
        self, line_id: int, by: str, reason: str, today: date
    ) -> GrantLineRecord:
        now = utc_now()
        with self._session() as s:
            line = s.get(GrantLine, line_id, with_for_update=True)
            if line is None:
                raise missing("entitlement")
            batch = s.get(GrantBatch, line.batch_id)
            assert batch is not None
            if batch.status != "approved":
                raise missing("entitlement")
            if batch.objections_until is not None and today > batch.objections_until:
                raise ConflictError(
                    f"objections closed on {batch.objections_until.isoformat()}",
                    code="objection_window_closed",
                )
            if line.status != "granted" or line.objection is not None:
                raise ConflictError(
                    "an objection to this entitlement was made already",
                    code="objection_exists",
                )
            line.status, line.objection, line.objected_by, line.objected_at = (
                "objected",
                reason,
                by,
                now,
            )
            s.add(_new_event(batch.id, line.id, "objected", by, reason, now))
            s.flush()
            return self._line(s, line)

    def resolve_grant_objection(
        self, line_id: int, by: str, *, upheld: bool, amount_wan: float | None, note: str
    ) -> GrantLineRecord:
        """Upheld: the amount becomes ``amount_wan`` (0: the entitlement is removed); rejected:
        the amount stands. Either way with the bureau's note."""
        now = utc_now()
        with self._session() as s:
            line = s.get(GrantLine, line_id, with_for_update=True)
            if line is None:
                raise missing("entitlement")
            if line.status != "objected":
                raise ConflictError(
                    "this entitlement has no objection waiting", code="objection_not_open"
                )
            before = line.amount_wan
            if upheld:
                after = round(amount_wan or 0.0, 4)
                line.amount_wan = after
                line.status = "amended" if after > 0 else "removed"
                kind = "upheld"
            else:
                after = before
                line.status = "granted"
                kind = "rejected"
            s.add(_new_event(line.batch_id, line.id, kind, by, note, now, before, after))
            batch = s.get(GrantBatch, line.batch_id)
            assert batch is not None
            total = s.scalar(
                select(func.sum(GrantLine.amount_wan)).where(GrantLine.batch_id == batch.id)
            )
            batch.total_wan = round(float(total or 0.0), 4)
            s.flush()
            return self._line(s, line)

    # -- reading ----------------------------------------------------------------------------

    def _events(self, s: Session, batch_id: int) -> list[GrantEventRecord]:
        rows = s.scalars(
            select(GrantEvent).where(GrantEvent.batch_id == batch_id).order_by(GrantEvent.id)
        )
        return [_event(row) for row in rows]

    def _line(self, s: Session, line: GrantLine) -> GrantLineRecord:
        batch = s.get(GrantBatch, line.batch_id)
        assert batch is not None
        return _line(line, batch, self._events(s, batch.id))

    def _batch(self, s: Session, batch: GrantBatch) -> GrantBatchRecord:
        events = self._events(s, batch.id)
        lines = s.scalars(
            select(GrantLine).where(GrantLine.batch_id == batch.id).order_by(GrantLine.id)
        )
        return GrantBatchRecord(
            id=batch.id,
            policy_code=batch.policy_code,
            policy_version=batch.policy_version,
            status=batch.status,
            total_wan=batch.total_wan,
            computed_by=batch.computed_by,
            computed_at=batch.computed_at,
            decided_by=batch.decided_by,
            decided_at=batch.decided_at,
            objections_until=batch.objections_until,
            lines=tuple(_line(row, batch, events) for row in lines),
            events=tuple(e for e in events if e.line_id is None),
        )


def _version(row: PolicyVersion) -> PolicyVersionRecord:
    return PolicyVersionRecord(
        row.code, row.version, _loads(row.definition, {}), row.saved_by, row.saved_at
    )


def _new_event(
    batch_id: int,
    line_id: int | None,
    kind: str,
    by: str,
    note: str,
    at: datetime,
    before: float | None = None,
    after: float | None = None,
) -> GrantEvent:
    return GrantEvent(
        batch_id=batch_id,
        line_id=line_id,
        at=at,
        kind=kind,
        by=by,
        note=note,
        amount_before=before,
        amount_after=after,
    )
