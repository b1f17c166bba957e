"""Flap detection: a rule that keeps changing its verdict on a device is held, not re-raised.

Like Nagios's flap detection, with a count in place of its weighted percentage: each change of
state of a (rule, device), raised or cleared, is stamped with its point's time. When
``flap_start`` changes fall within ``flap_window_s`` the pair is flapping: the alarm book keeps
one alarm open and marked, counting flips, with no new alarm and no notice per flip. It stops
flapping once fewer than ``flap_stop`` changes remain in the window (the lower threshold is the
hysteresis that keeps it from flapping in and out of flapping), and settles into the rule's
latest verdict: held open if the condition holds, cleared if not.

Only the newest ``flap_start`` changes are kept per pair: the window holds at least that many
exactly when the oldest of them is inside it, so memory stays bounded during a flood.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from shugu.monitor.rules import RuleSpec

Key = tuple[str, int]


class FlapVerdict(Enum):
    #: Not flapping: the change is an ordinary raise or clear.
    normal = "normal"
    #: This change made the pair flap.
    started = "started"
    #: Flapping already: the change only counts as a flip.
    holding = "holding"


@dataclass(frozen=True, slots=True)
class FlapLimits:
    window_ms: int
    start: int
    stop: int

    @classmethod
    def of(cls, rule: RuleSpec) -> FlapLimits:
        return cls(int(rule.flap_window_s * 1000), rule.flap_start, rule.flap_stop)


@dataclass(slots=True)
class FlapState:
    changes: collections.deque[int]
    flapping: bool = False
    #: Changes counted since the pair started flapping (those that made it flap included).
    flips: int = 0
    #: The rule's latest verdict: True while the condition holds.
    condition: bool = False
    #: Flips counted since they were last written.
    dirty: bool = False
    #: After a restart the changes are unknown: stay flapping at least until then (ms).
    hold_until_ms: int | None = None
    restored: bool = False


@dataclass(frozen=True, slots=True)
class Settled:
    key: Key
    condition: bool
    flips: int


@dataclass(slots=True)
class FlapTracker:
    _states: dict[Key, FlapState] = field(default_factory=dict)

    def change(self, key: Key, raised: bool, ts_ms: int, limits: FlapLimits) -> FlapVerdict:
        """Count one change of state of a pair."""
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = FlapState(collections.deque(maxlen=limits.start))
        elif state.changes.maxlen != limits.start:  # the rule's limits were changed
            state.changes = collections.deque(state.changes, maxlen=limits.start)
        state.condition = raised
        state.changes.append(ts_ms)
        if state.flapping:
            state.flips += 1
            state.dirty = True
            return FlapVerdict.holding
        if _within(state.changes, ts_ms, limits.window_ms) >= limits.start:
            state.flapping = True
            state.flips = limits.start
            state.dirty = False
            return FlapVerdict.started
        return FlapVerdict.normal

    def restore(self, key: Key, flips: int) -> None:
        """A flapping alarm found open at start: flapping until a window has passed."""
        self._states[key] = FlapState(
            collections.deque(), flapping=True, flips=flips, condition=True, restored=True
        )

    def forget(self, key: Key) -> None:
        self._states.pop(key, None)

    def flapping(self, key: Key) -> bool:
        state = self._states.get(key)
        return state is not None and state.flapping

    def held_clear(self, key: Key) -> bool:
        """Flapping with the condition not holding: the engine must not count it active."""
        state = self._states.get(key)
        return state is not None and state.flapping and not state.condition

    def flips(self, key: Key) -> int:
        state = self._states.get(key)
        return state.flips if state is not None else 0

    def dirty(self) -> list[tuple[Key, int]]:
        """Flapping pairs whose flip count changed since the last call."""
        out = []
        for key, state in self._states.items():
            if state.dirty:
                state.dirty = False
                out.append((key, state.flips))
        return out

    def settle(self, now_ms: int, limits_of: Callable[[Key], FlapLimits | None]) -> list[Settled]:
        """Pairs that stop flapping now; forgets quiet pairs, so memory follows activity."""
        out: list[Settled] = []
        for key in list(self._states):
            state = self._states[key]
            limits = limits_of(key)
            if limits is None:
                del self._states[key]
                continue
            if not state.flapping:
                if _within(state.changes, now_ms, limits.window_ms) == 0:
                    del self._states[key]
                continue
            if state.restored:
                state.restored = False
                state.hold_until_ms = now_ms + limits.window_ms
            if state.hold_until_ms is not None and now_ms < state.hold_until_ms:
                continue
            if _within(state.changes, now_ms, limits.window_ms) < limits.stop:
                out.append(Settled(key, state.condition, state.flips))
                del self._states[key]
        return out

    def __len__(self) -> int:
        return len(self._states)


def _within(changes: collections.deque[int], now_ms: int, window_ms: int) -> int:
    """How many of the kept changes fall within the window ending now (newest last)."""
    count = 0
    for ts in reversed(changes):
        if ts <= now_ms - window_ms:
            break
        count += 1
    return count
