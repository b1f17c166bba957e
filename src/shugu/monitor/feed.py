"""The feed of a cluster's monitor worker: every new point of its enterprises' devices, read from
the telemetry store's feed exactly once per ingest node (``store/feed_reader.py``), handed to its
monitor; its share recomputed when members come and go (decision 0051).

Enterprises, not devices, are divided among the live monitor workers (rendezvous hashing,
``partitions.py``) so that an enterprise's incidents, grouped by its asset tree and links, stay
on one worker. A worker saves its watermarks in the registry every second. When enterprises
move to it, it takes their previous owner's saved watermarks: the last hour of those devices'
points up to them rebuilds rule state (``Monitor.warm``: the previous owner already raised what
they called for), and what lies above them is evaluated as new. What the previous owner did in
the last second before it died may so be evaluated twice; nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.exc import SQLAlchemyError

from shugu.domain.errors import ShuguError
from shugu.domain.logthrottle import ThrottledLog
from shugu.monitor.partitions import owners
from shugu.monitor.service import Monitor
from shugu.store.feed_reader import FeedReader, FeedSource, nodes_of, seq_at, within
from shugu.store.registry import Registry
from shugu.store.registry.cluster import HEARTBEAT_S, MEMBER_TIMEOUT_S, MemberRecord
from shugu.store.registry.models import utc_now

log = logging.getLogger(__name__)

#: What a turn survives: the registry or the store out of reach for a while.
TURN_FAILURES = (ShuguError, SQLAlchemyError, OSError)

FEED_POLL_S = 0.25
#: How often watermarks are saved, signals read and the device list refreshed.
SAVE_EVERY_S = 1.0
DEVICES_EVERY_S = 5.0
#: Points of the devices a worker takes over that rebuild their rule state.
WARM_S = 3600
#: A device created since the last look has its points of this long evaluated.
NEW_DEVICE_S = 60
#: Rows of members silent this long are removed (their node numbers freed).
FORGET_MEMBERS_AFTER = timedelta(days=1)
#: How often a worker looks for such rows.
FORGET_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class FeedStats:
    members: int
    enterprises: int
    devices: int
    read_rows: int
    warm_rows: int
    reads: int


class ClusterFeed:
    """The monitor worker's loop: membership, its share, the reads of the feed."""

    def __init__(
        self,
        member_id: str,
        registry: Registry,
        store: FeedSource,
        monitor: Monitor,
        *,
        address: str = "",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.member_id = member_id
        self._registry = registry
        self._store = store
        self._monitor = monitor
        self._address = address
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors = ThrottledLog(log)
        self._reader = FeedReader(registry, store, clock)
        self._members: list[str] = []
        self._mine: frozenset[int] = frozenset()
        self._devices_by_enterprise: dict[int, list[int]] = {}
        self._enterprise_of: dict[int, int] = {}
        self._owned = np.empty(0, np.int32)
        self._signals: dict[str, int] | None = None
        self._forgotten_at: datetime | None = None
        self._read_rows = 0
        self._warm_rows = 0

    @property
    def watermarks(self) -> dict[int, int]:
        """Ingest node number → highest sequence of it handed to the monitor (or passed over)."""
        return self._reader.watermarks

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        self._registry.heartbeat(self.member_id, "monitor", self._clock(), self._address)
        self._thread = threading.Thread(target=self._run, name="shugu-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading, let the monitor (still running) evaluate what was handed to it, then
        save the watermarks and leave: whoever takes the enterprises over starts there."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        deadline = time.monotonic() + timeout
        while self._monitor.stats().pending_rows and time.monotonic() < deadline:
            time.sleep(0.05)
        # What its detectors learned is saved before it leaves, for whoever takes over.
        self._monitor.checkpoint()
        try:
            self._registry.save_watermarks(self.member_id, self.watermarks)
            self._registry.leave_cluster(self.member_id, self._clock())
        except TURN_FAILURES as exc:
            log.warning("the monitor worker could not leave the cluster cleanly: %s", exc)

    def stats(self) -> FeedStats:
        return FeedStats(
            len(self._members),
            len(self._mine),
            len(self._owned),
            self._read_rows,
            self._warm_rows,
            self._reader.reads,
        )

    def _run(self) -> None:
        next_beat = next_save = next_devices = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_devices:
                    next_devices = now + DEVICES_EVERY_S
                    self._refresh_devices()
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_S
                    self._beat()
                self.poll()
                if now >= next_save:
                    next_save = now + SAVE_EVERY_S
                    self._registry.save_watermarks(self.member_id, self.watermarks)
                    self._check_signals()
            except TURN_FAILURES as exc:
                # A registry or store out of reach: the watermarks stay, the next turn retries.
                self._errors.warning("monitor feed turn failed, retrying: %s", exc)
            self._stop.wait(FEED_POLL_S)

    # -- membership and share ----------------------------------------------------------------

    def _beat(self) -> None:
        at = self._clock()
        self._registry.heartbeat(self.member_id, "monitor", at, self._address)
        live = [m.member_id for m in self._registry.live_members("monitor", at, MEMBER_TIMEOUT_S)]
        if self.member_id not in live:
            live = sorted([*live, self.member_id])
        if live != self._members:
            self._rescope(live)
        if self._forgotten_at is None or at - self._forgotten_at >= FORGET_EVERY:
            self._forgotten_at = at
            self._registry.forget_members_before(at - FORGET_MEMBERS_AFTER)

    def _refresh_devices(self) -> None:
        by_enterprise: dict[int, list[int]] = {}
        for device in self._registry.all_devices():
            by_enterprise.setdefault(device.enterprise_id, []).append(device.id)
        if by_enterprise != self._devices_by_enterprise:
            before = set(self._owned.tolist())
            self._devices_by_enterprise = by_enterprise
            self._enterprise_of = {d: e for e, ds in by_enterprise.items() for d in ds}
            if self._members:
                self._rescope(self._members, new_devices_from=before)

    def _check_signals(self) -> None:
        signals = self._registry.signal_versions()
        if self._signals is not None and signals != self._signals:
            self._monitor.resync()
            self._refresh_devices()
        self._signals = signals

    def _share(self, members: Sequence[str]) -> frozenset[int]:
        enterprises = sorted(self._devices_by_enterprise)
        if not enterprises or self.member_id not in members:
            return frozenset()
        index = owners(enterprises, members)
        me = list(members).index(self.member_id)
        return frozenset(e for e, i in zip(enterprises, index.tolist(), strict=True) if i == me)

    def _rescope(self, members: list[str], new_devices_from: set[int] | None = None) -> None:
        before, previous = self._mine, self._members
        mine = self._share(members)
        self._members = members
        self._mine = mine
        self._owned = np.array(
            sorted(d for e in mine for d in self._devices_by_enterprise.get(e, ())), np.int32
        )
        self._monitor.set_scope(mine)
        gained = mine - before
        if gained:
            log.info(
                "monitor worker %s now watches %d enterprises (%d new) among %d workers",
                self.member_id,
                len(mine),
                len(gained),
                len(members),
            )
            self._take_over(gained, previous)
        if new_devices_from is not None:
            fresh = [d for d in self._owned.tolist() if d not in new_devices_from]
            kept = [d for d in fresh if self._enterprise_of.get(d) not in gained]
            if kept:
                self._catch_up(kept, {}, seq_at(time.time() - NEW_DEVICE_S))

    def _take_over(self, gained: frozenset[int], previous: Sequence[str]) -> None:
        rows = {r.member_id: r for r in self._registry.members(("monitor", "all"))}
        if not self.watermarks:
            self._start_watermarks(rows)
        by_owner: dict[str | None, list[int]] = {}
        ordered = sorted(gained)
        if previous:
            index = owners(ordered, previous).tolist()
            for enterprise, i in zip(ordered, index, strict=True):
                by_owner.setdefault(previous[i], []).append(enterprise)
        else:
            by_owner[None] = ordered
        saved = [r.progress for r in rows.values() if r.member_id != self.member_id and r.progress]
        for owner, enterprises in by_owner.items():
            if owner is not None and owner in rows and rows[owner].progress:
                handed = dict(rows[owner].progress)
            else:
                # Nobody known: the slowest saved watermark of any worker, else from now.
                handed = _lowest(saved) if saved else dict(self.watermarks)
            devices = [d for e in enterprises for d in self._devices_by_enterprise.get(e, ())]
            self._catch_up(devices, handed, seq_at(time.time() - WARM_S))

    def _start_watermarks(self, rows: Mapping[str, MemberRecord]) -> None:
        """Before the first read: every ingest node from what it has published by now, or
        from the lowest watermark a worker saved for it."""
        self._reader.start_from_published()
        saved = [r.progress for r in rows.values() if r.progress]
        for node, seq in _lowest(saved).items():
            self.watermarks.setdefault(node, seq)

    def _catch_up(self, devices: list[int], handed: Mapping[int, int], floor: int) -> None:
        """Points of ``devices`` up to this worker's watermarks: up to ``handed`` (evaluated by
        the previous owner) they rebuild state; above, they are evaluated as new."""
        if not devices or not self.watermarks:
            return
        ids = np.array(sorted(devices), np.int32)
        low = min(floor, *handed.values()) if handed else floor
        batch, seq = self._store.feed_rows(ids, low, max(self.watermarks.values()))
        if not len(batch):
            return
        # Up to this worker's watermarks, of the nodes it has watermarks for: the rest its
        # next poll reads.
        upto = within(seq, {}, self.watermarks, 0) & np.isin(nodes_of(seq), list(self.watermarks))
        warm = upto & ~within(seq, handed, {}, floor)
        new = upto & within(seq, handed, {}, floor)
        self._learn_metrics(batch.metric)
        self._monitor.warm(batch.take(warm))
        self._monitor.on_batch(batch.take(new))
        self._warm_rows += int(warm.sum())
        self._read_rows += int(new.sum())

    # -- the reads ---------------------------------------------------------------------------

    def poll(self) -> int:
        """Read and hand over what is new; how many points."""
        taken = self._reader.read(self._owned)
        if len(taken):
            self._learn_metrics(taken.metric)
            self._monitor.on_batch(taken)
            self._read_rows += len(taken)
        return len(taken)

    def _learn_metrics(self, metric: npt.NDArray[np.int32]) -> None:
        """Metrics numbered by ingest nodes since: the rules that name them see them."""
        if self._reader.learn_metrics(metric):
            self._monitor.configure()


def _lowest(progresses: Sequence[Mapping[int, int]]) -> dict[int, int]:
    lowest: dict[int, int] = {}
    for progress in progresses:
        for node, seq in progress.items():
            lowest[node] = min(lowest.get(node, seq), seq)
    return lowest
