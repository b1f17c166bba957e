"""Flap detection: a rule that keeps changing its verdict on a device is held, not re-raised.

Like Nagios's flap detection, with a count in place of its weighted percentage: each change of
state of a (rule, device), raised or cleared, is stamped with its point's time. When
``flap_start`` changes fall within ``flap_window_s`` the pair is flapping: the alarm book keeps
one alarm open and marked, counting flips, with no new alarm and no notice per flip. It stops
flapping once fewer than ``flap_stop`` changes remain in the window (the lower threshold is the
hysteresis that keeps it from flapping in and out of flapping), and settles into the rule's
latest verdict: held open if the condition holds, cleared if not.

One clock per pair (decision 0019): the window is measured on the clock its changes are stamped
with. For rules on values that is the device's own clock, the time of its points: the window
ends at the newest point seen from the device, so a device whose clock runs ahead, or history
uploaded late, settles when its later points say so, not when the server's clock passes. The
server's clock only measures silence: a device that sent nothing for a whole window, by the
server's clock, cannot be flapping any more, and settles (otherwise a device that falls silent
mid-flap would stay flapping until it speaks again). The two are never compared with each
other. Offline rules stamp their changes with the server's clock, and are measured on it.

Only the newest ``flap_start`` changes are kept per pair: the window holds at least that many
exactly when the oldest of them is inside it, so memory stays bounded during a flood.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import numpy.typing as npt

from shugu.monitor.rules import RuleKind, RuleSpec

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
    #: The pair's changes are stamped with the server's clock (offline rules), not point time.
    server_clock: bool = False

    @classmethod
    def of(cls, rule: RuleSpec) -> FlapLimits:
        return cls(
            int(rule.flap_window_s * 1000),
            rule.flap_start,
            rule.flap_stop,
            server_clock=rule.kind is RuleKind.no_data,
        )


@dataclass(slots=True)
class DeviceClock:
    """What a device's points say the time is, and when the server last heard from it."""

    #: The newest point time seen from the device (ms, the device's clock).
    point_ms: int
    #: When its last points arrived (ms, the server's clock).
    heard_ms: int


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
    #: After a restart the changes are unknown: stay flapping at least until then (ms, on the
    #: pair's clock).
    hold_until_ms: int | None = None
    restored: bool = False
    #: When the server started tracking the pair (ms, server's clock): silence counts from here
    #: for a restored pair whose device has not been heard from since.
    since_ms: int = 0


@dataclass(frozen=True, slots=True)
class Settled:
    key: Key
    condition: bool
    flips: int


@dataclass(slots=True)
class FlapTracker:
    _states: dict[Key, FlapState] = field(default_factory=dict)
    #: Clocks of the devices that have tracked pairs.
    _clocks: dict[int, DeviceClock] = field(default_factory=dict)

    def observe(
        self, device: npt.NDArray[np.integer], ts: npt.NDArray[np.int64], heard_ms: int
    ) -> None:
        """Points of a turn arrived at ``heard_ms``: advance the clocks of the devices that have
        tracked pairs (others need none; their first change is observed in the same turn)."""
        if not self._states or not len(device):
            return
        tracked = np.fromiter({key[1] for key in self._states}, np.int64)
        mine = np.isin(device, tracked)
        if not mine.any():
            return
        ids, position = np.unique(device[mine], return_inverse=True)
        newest = np.full(len(ids), np.iinfo(np.int64).min, np.int64)
        np.maximum.at(newest, position, ts[mine])
        for device_id, point_ms in zip(ids.tolist(), newest.tolist(), strict=True):
            clock = self._clocks.get(device_id)
            if clock is None:
                self._clocks[device_id] = DeviceClock(point_ms, heard_ms)
            else:
                # A late point does not turn the device's clock back.
                clock.point_ms = max(clock.point_ms, point_ms)
                clock.heard_ms = heard_ms

    def change(
        self, key: Key, raised: bool, ts_ms: int, limits: FlapLimits, now_ms: int
    ) -> FlapVerdict:
        """Count one change of state of a pair, stamped ``ts_ms`` on the pair's clock, seen at
        ``now_ms`` on the server's."""
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = FlapState(
                collections.deque(maxlen=limits.start), since_ms=now_ms
            )
        elif state.changes.maxlen != limits.start:  # the rule's limits were changed
            state.changes = collections.deque(state.changes, maxlen=limits.start)
        state.condition = raised
        state.changes.append(ts_ms)
        if not limits.server_clock:
            # The change's point is news from the device, like any other point.
            clock = self._clocks.get(key[1])
            if clock is None:
                self._clocks[key[1]] = DeviceClock(ts_ms, now_ms)
            else:
                clock.point_ms = max(clock.point_ms, ts_ms)
                clock.heard_ms = max(clock.heard_ms, now_ms)
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

    def restore(self, key: Key, flips: int, now_ms: int) -> None:
        """A flapping alarm found open at start (``now_ms``, the server's clock): flapping until
        a window has passed on the pair's clock, or the device was silent for one."""
        self._states[key] = FlapState(
            collections.deque(),
            flapping=True,
            flips=flips,
            condition=True,
            restored=True,
            since_ms=now_ms,
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
        """Pairs that stop flapping now (``now_ms``: the server's clock); forgets quiet pairs
        and the clocks of devices with none left, so memory follows activity."""
        out: list[Settled] = []
        for key in list(self._states):
            state = self._states[key]
            limits = limits_of(key)
            if limits is None:
                del self._states[key]
                continue
            pair_now, silent = self._pair_clock(key[1], state, limits, now_ms)
            quiet = silent or (
                pair_now is not None and _within(state.changes, pair_now, limits.window_ms) == 0
            )
            if not state.flapping:
                if quiet:
                    del self._states[key]
                continue
            if state.restored and pair_now is not None:
                state.restored = False
                state.hold_until_ms = pair_now + limits.window_ms
            if not silent:
                if pair_now is None:
                    continue  # nothing heard since the restart: the window cannot be judged
                if state.hold_until_ms is not None and pair_now < state.hold_until_ms:
                    continue
                if _within(state.changes, pair_now, limits.window_ms) >= limits.stop:
                    continue
            out.append(Settled(key, state.condition, state.flips))
            del self._states[key]
        devices = {key[1] for key in self._states}
        for device_id in [d for d in self._clocks if d not in devices]:
            del self._clocks[device_id]
        return out

    def _pair_clock(
        self, device_id: int, state: FlapState, limits: FlapLimits, now_ms: int
    ) -> tuple[int | None, bool]:
        """Where the pair's window ends (None: unknown yet), and whether the device has been
        silent for a whole window by the server's clock."""
        if limits.server_clock:
            return now_ms, False  # the window itself is on the server's clock
        clock = self._clocks.get(device_id)
        heard = max(state.since_ms, clock.heard_ms if clock is not None else 0)
        silent = now_ms - heard >= limits.window_ms
        return (clock.point_ms if clock is not None else None), silent

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
