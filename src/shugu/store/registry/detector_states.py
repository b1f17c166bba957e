"""Detectors' learned state per rule and device (decision 0068): saved by the monitor that
evaluates a device, read back by whichever monitor evaluates it next."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_

from shugu.store.registry.core import RegistryCore
from shugu.store.registry.models_detector import DetectorState

#: Rows written or read per statement (well under SQLite's and PostgreSQL's parameter limits).
CHUNK = 500


class DetectorStateMixin(RegistryCore):
    def save_detector_states(
        self,
        states: Sequence[tuple[str, int, str, bytes]],
        *,
        model_at: datetime | None = None,
    ) -> None:
        """Save ``(rule_ref, device_id, layout_key, blob)`` rows, each replacing the device's
        earlier state under that rule, in one transaction.

        ``model_at`` is when the model that learned them was made. A row of another layout
        learned by a model made later is kept, not replaced: it belongs to a newer model of the
        rule (a fit on stored readings, decision 0076) than the one the saver still runs.
        """
        if not states:
            return
        now = self._now()

        def write() -> None:
            self._replace_states(states, now, model_at)

        # Another monitor saving the same device at the same moment (a handover) makes one
        # insert collide: written again, it replaces the other's row.
        self._upsert(write)

    def _replace_states(
        self,
        states: Sequence[tuple[str, int, str, bytes]],
        now: datetime,
        model_at: datetime | None,
    ) -> None:
        with self._session() as session:
            for at in range(0, len(states), CHUNK):
                chunk = states[at : at + CHUNK]
                for key in sorted({k for _ref, _device, k, _blob in chunk}):
                    rows = [row for row in chunk if row[2] == key]
                    pairs = [(ref, device) for ref, device, _key, _blob in rows]
                    mine = tuple_(DetectorState.rule_ref, DetectorState.device_id).in_(pairs)
                    replaceable = (
                        mine
                        if model_at is None
                        else and_(
                            mine,
                            or_(
                                DetectorState.layout_key == key,
                                DetectorState.model_at.is_(None),
                                DetectorState.model_at <= model_at,
                            ),
                        )
                    )
                    gone = session.execute(delete(DetectorState).where(replaceable))
                    # Every row replaced (a periodic save's usual case): none was kept.
                    replaced_all = (gone.rowcount or 0) == len(pairs)  # type: ignore[attr-defined]
                    if model_at is not None and not replaced_all:
                        newer = {
                            (str(ref), int(device))
                            for ref, device in session.execute(
                                select(DetectorState.rule_ref, DetectorState.device_id).where(mine)
                            )
                        }
                        rows = [row for row in rows if (row[0], row[1]) not in newer]
                    if not rows:
                        continue
                    # One executemany, not an ORM object per row: a save writes thousands.
                    session.execute(
                        insert(DetectorState),
                        [
                            {"rule_ref": ref, "device_id": device, "layout_key": key,
                             "saved_at": now, "model_at": model_at, "state": blob}
                            for ref, device, key, blob in rows
                        ],
                    )  # fmt: skip

    def detector_states(
        self, rule_ref: str, layout_key: str, devices: Sequence[int]
    ) -> dict[int, bytes]:
        """The saved blobs of ``devices`` under a rule, of this layout only."""
        out: dict[int, bytes] = {}
        with self._session() as session:
            for at in range(0, len(devices), CHUNK):
                rows = session.execute(
                    select(DetectorState.device_id, DetectorState.state).where(
                        and_(
                            DetectorState.rule_ref == rule_ref,
                            DetectorState.layout_key == layout_key,
                            DetectorState.device_id.in_(list(devices[at : at + CHUNK])),
                        )
                    )
                )
                out.update({int(device): bytes(blob) for device, blob in rows})
        return out

    def detector_state_devices(
        self, rule_ref: str, layout_key: str, devices: Sequence[int]
    ) -> set[int]:
        """Which of ``devices`` have a saved state under a rule, of this layout."""
        out: set[int] = set()
        with self._session() as session:
            for at in range(0, len(devices), CHUNK):
                out.update(
                    int(device)
                    for device in session.scalars(
                        select(DetectorState.device_id).where(
                            and_(
                                DetectorState.rule_ref == rule_ref,
                                DetectorState.layout_key == layout_key,
                                DetectorState.device_id.in_(list(devices[at : at + CHUNK])),
                            )
                        )
                    )
                )
        return out

    def device_detector_states(
        self, device_id: int, rule_refs: Collection[str]
    ) -> dict[str, tuple[str, datetime, bytes]]:
        """A device's saved states under ``rule_refs``: per rule, its layout key, when it was
        saved and the blob."""
        if not rule_refs:
            return {}
        with self._session() as session:
            rows = session.execute(
                select(
                    DetectorState.rule_ref,
                    DetectorState.layout_key,
                    DetectorState.saved_at,
                    DetectorState.state,
                ).where(
                    and_(
                        DetectorState.device_id == device_id,
                        DetectorState.rule_ref.in_(list(rule_refs)),
                    )
                )
            )
            return {str(ref): (str(key), at, bytes(blob)) for ref, key, at, blob in rows}

    def prune_detector_states(
        self, keep_refs: Collection[str], *, saved_before: datetime | None = None
    ) -> int:
        """Forget the states of rules that no longer exist (only those saved before
        ``saved_before``, when given); how many rows went."""
        gone_rule = DetectorState.rule_ref.not_in(list(keep_refs))
        where = (
            gone_rule
            if saved_before is None
            else and_(gone_rule, DetectorState.saved_at < saved_before)
        )
        with self._session() as session:
            gone = session.execute(delete(DetectorState).where(where))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    def detector_state_count(self) -> tuple[int, int]:
        """(rows, bytes) of saved detector state."""
        with self._session() as session:
            rows, size = session.execute(
                select(func.count(), func.coalesce(func.sum(func.length(DetectorState.state)), 0))
            ).one()
            return int(rows), int(size)
