"""Saving and restoring what the monitor's detectors learned (decision 0068).

The monitor saves every few minutes, when it stops, and before it hands devices to another
monitor worker; it restores a device's state under a rule the first time it is about to
evaluate that device under that rule (after a restart, a new rule layout or a handover). A
state saved under another layout (the rule now reads another metric, the detector has other
parameters) is not read: the rule learns that device afresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shugu.monitor.detector_state import Layout
from shugu.monitor.engine import RuleEngine
from shugu.store.registry import Registry

log = logging.getLogger(__name__)

#: Seconds between saves while the monitor runs: what a crash can lose of learning.
SAVE_EVERY_S = 300.0
#: Devices' states copied out per hold of the engine lock, packed and written together.
CHUNK = 256


@dataclass(frozen=True, slots=True)
class KeptStates:
    """What one save or restore did."""

    devices: int
    bytes: int
    seconds: float
    #: Saved states that could not be read (another layout's size, a damaged blob).
    rejected: int = 0


class StateKeeper:
    """Saves and restores the learned state of one monitor's rules (the caller holds the
    monitor's engine lock around :meth:`restore`; :meth:`save` takes it in turns)."""

    def __init__(self, registry: Registry, engine: RuleEngine) -> None:
        self._registry = registry
        self._engine = engine
        #: Per (rule, layout key): devices already restored or asked for.
        self._asked: dict[tuple[str, str], set[int]] = {}

    def _wanted(self) -> dict[tuple[str, str], list[int]]:
        wanted: dict[tuple[str, str], list[int]] = {}
        for ref, compiled in self._engine.rules().items():
            layout = compiled.evaluator.state_layout() if compiled.evaluator else None
            if layout is None:
                continue
            asked = self._asked.setdefault((ref, layout.key), set())
            # A device that left this monitor's scope is asked for again if it comes back:
            # the monitor that had it meanwhile saved what it learned.
            asked &= compiled.effective.keys()
            wanted[(ref, layout.key)] = sorted(set(compiled.effective) - asked)
        for key in set(self._asked) - set(wanted):
            del self._asked[key]
        return wanted

    def forget_stale(self) -> None:
        """Forget which devices were asked for under models the rules no longer run: a rule
        changed back to an earlier model must read that model's states again (after the
        engine was reconfigured)."""
        current = {
            (ref, layout.key)
            for ref, compiled in self._engine.rules().items()
            if compiled.evaluator is not None
            and (layout := compiled.evaluator.state_layout()) is not None
        }
        for key in set(self._asked) - current:
            del self._asked[key]

    def forget(self, ref: str, devices: Collection[int]) -> None:
        """Ask for ``ref``'s state of ``devices`` again at the next restore."""
        for key, asked in self._asked.items():
            if key[0] == ref:
                asked.difference_update(devices)

    def restore(self) -> KeptStates:
        """Read the saved state of every device not yet asked for, into its rules."""
        started = time.perf_counter()
        devices = size = rejected = 0
        for (ref, key), wanted in self._wanted().items():
            if not wanted:
                continue
            evaluator = self._engine.rules()[ref].evaluator
            assert evaluator is not None
            blobs = self._registry.detector_states(ref, key, wanted)
            refused = evaluator.import_states(blobs)
            for device, reason in refused.items():
                log.warning("saved state of rule %s on device %d not used: %s", ref, device, reason)
            rejected += len(refused)
            devices += len(blobs) - len(refused)
            size += sum(len(b) for d, b in blobs.items() if d not in refused)
            self._asked[(ref, key)].update(wanted)
        took = time.perf_counter() - started
        if devices or rejected:
            log.info("restored %d detector states (%d bytes) in %.2f s", devices, size, took)
        return KeptStates(devices, size, took, rejected)

    def save(self, lock: AbstractContextManager[object], *, prune: bool) -> KeptStates:
        """Save the state of every device whose detectors learned since the last save.

        ``lock`` is the monitor's engine lock. It is held only while a chunk of states is
        copied out; packing and writing happen without it, so evaluation waits a few
        milliseconds per chunk, not for the whole save.
        """
        started = time.perf_counter()
        devices = size = 0
        with lock:
            work = []
            for ref, compiled in self._engine.rules().items():
                evaluator = compiled.evaluator
                layout = evaluator.state_layout() if evaluator is not None else None
                if evaluator is not None and layout is not None:
                    work.append((ref, evaluator, layout.key, evaluator.state_devices()))
        for ref, evaluator, key, changed in work:
            for at in range(0, len(changed), CHUNK):
                chunk = changed[at : at + CHUNK]
                with lock:
                    now = self._engine.rules().get(ref)
                    if now is None or now.evaluator is not evaluator:
                        # The rule went or was changed meanwhile: what the old evaluator learned
                        # must not replace a state saved for the new one (decision 0076).
                        break
                    rows = evaluator.export_rows(chunk)
                states = [
                    (ref, device, key, Layout.pack(row))
                    for device, row in zip(chunk, rows, strict=True)
                ]
                # A state saved for a newer model of the rule (a fit on stored readings made
                # while this save copied, or before this monitor heard of it) is not replaced.
                self._registry.save_detector_states(states, model_at=evaluator.made_at)
                devices += len(states)
                size += sum(len(s[3]) for s in states)
        if prune:
            # A rule this monitor does not know yet (made since its last look, its states
            # saved with it, decision 0076) keeps its states until it has had time to look.
            settled = datetime.now(UTC) - timedelta(seconds=2 * SAVE_EVERY_S)
            self._registry.prune_detector_states(set(self._engine.rules()), saved_before=settled)
        return KeptStates(devices, size, time.perf_counter() - started)
