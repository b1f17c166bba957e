"""Detectors' learned state per rule and device (decision 0068): saved by the monitor that
evaluates a device, read back by whichever monitor evaluates it next."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, tuple_

from shugu.store.registry.core import RegistryCore
from shugu.store.registry.models_detector import DetectorState

#: Rows written or read per statement (well under SQLite's and PostgreSQL's parameter limits).
CHUNK = 500


class DetectorStateMixin(RegistryCore):
    def save_detector_states(self, states: Sequence[tuple[str, int, str, bytes]]) -> None:
        """Save ``(rule_ref, device_id, layout_key, blob)`` rows, each replacing the device's
        earlier state under that rule, in one transaction."""
        if not states:
            return
        now = self._now()

        def write() -> None:
            self._replace_states(states, now)

        # Another monitor saving the same device at the same moment (a handover) makes one
        # insert collide: written again, it replaces the other's row.
        self._upsert(write)

    def _replace_states(self, states: Sequence[tuple[str, int, str, bytes]], now: datetime) -> None:
        with self._session() as session:
            for at in range(0, len(states), CHUNK):
                chunk = states[at : at + CHUNK]
                keys = [(ref, device) for ref, device, _key, _blob in chunk]
                session.execute(
                    delete(DetectorState).where(
                        tuple_(DetectorState.rule_ref, DetectorState.device_id).in_(keys)
                    )
                )
                # One executemany, not an ORM object per row: a save writes thousands.
                session.execute(
                    insert(DetectorState),
                    [
                        {"rule_ref": ref, "device_id": device, "layout_key": key,
                         "saved_at": now, "state": blob}
                        for ref, device, key, blob in chunk
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

    def prune_detector_states(self, keep_refs: Collection[str]) -> int:
        """Forget the states of rules that no longer exist; how many rows went."""
        with self._session() as session:
            gone = session.execute(
                delete(DetectorState).where(DetectorState.rule_ref.not_in(list(keep_refs)))
            )
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    def detector_state_count(self) -> tuple[int, int]:
        """(rows, bytes) of saved detector state."""
        with self._session() as session:
            rows, size = session.execute(
                select(func.count(), func.coalesce(func.sum(func.length(DetectorState.state)), 0))
            ).one()
            return int(rows), int(size)
