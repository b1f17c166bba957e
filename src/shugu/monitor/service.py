"""The monitor of one shugu process: sees every stored batch, keeps alarms, runs rounds.

The store's writer hands each committed batch over without waiting; one monitor thread takes
everything that has queued up, concatenates it and evaluates all rules on it at once, so a
burst of small commits costs one evaluation. Alarm writes and notices happen on that thread
too, never on the ingest path.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from shugu.domain.batch import Batch
from shugu.domain.errors import ShuguError
from shugu.domain.logthrottle import ThrottledLog
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.alarms import AlarmBook, NotifyConfig
from shugu.monitor.config import all_bindings, all_overrides, device_infos, notify_settings
from shugu.monitor.engine import DeviceInfo, RuleEngine, split_turn
from shugu.monitor.incidents import load_rules
from shugu.monitor.incidents_desk import build_topology
from shugu.monitor.model import AlarmNotice
from shugu.monitor.notify.channels import ChannelConfig
from shugu.monitor.rules import RuleSpec
from shugu.monitor.state_keeper import SAVE_EVERY_S, KeptStates, StateKeeper
from shugu.store.exit_stop import stop_at_exit
from shugu.store.registry import Registry
from shugu.store.telemetry import TelemetryStore

log = logging.getLogger(__name__)

#: Rows waiting for the monitor beyond which new batches are counted as skipped, not queued:
#: the store has them; only their evaluation is lost, and that is logged.
MAX_PENDING_ROWS = 5_000_000
#: Moments of one device evaluated per turn; later ones wait for the next turns (``split_turn``).
MOMENTS_PER_DEVICE_PER_TURN = 32
#: Points carried over to later turns beyond which the oldest of them are skipped: a fifth of
#: the queue, so devices that flood cannot fill the room the others' batches need.
MAX_CARRIED_ROWS = MAX_PENDING_ROWS // 5
TICK_S = 1.0
ESCALATION_EVERY_S = 15.0
REFRESH_MIN_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class MonitorStats:
    evaluated_points: int
    pending_rows: int
    skipped_rows: int
    alarms_raised: int
    alarms_cleared: int
    rules: int
    devices: int
    #: Seconds from a batch's commit to the end of its evaluation, recent median and max.
    lag_p50_s: float
    lag_max_s: float


class Monitor:
    def __init__(
        self,
        registry: Registry,
        store: TelemetryStore,
        *,
        notify: Callable[[AlarmNotice, list[ChannelConfig]], None] | None = None,
        clock: Callable[[], int] = utc_now_ms,
        max_lag_ms: int | None = None,
        link: Callable[[int], str | None] = lambda _id: None,
        keep_states: bool = True,
    ) -> None:
        self._registry = registry
        self._store = store
        self._clock = clock
        self.engine = (
            RuleEngine(store.metric_id)
            if max_lag_ms is None
            else RuleEngine(store.metric_id, max_lag_ms=max_lag_ms)
        )
        self._notify_cache: dict[int, NotifyConfig] = {}
        #: What anomaly and plant rules learned, saved and restored (decision 0068); a process
        #: that evaluates nothing (an API node of a cluster) keeps none.
        self.states = StateKeeper(registry, self.engine)
        self._keeps_states = keep_states
        self._states_due = False
        self._save_lock = threading.Lock()
        self.book = AlarmBook(
            registry,
            rule_of=self.rule_of,
            device_of=self.device,
            notify_config=self._notify_config,
            notify=notify,
            forget=self._forget,
            clock=clock,
            link=link,
        )
        self._pending: collections.deque[tuple[float, Batch]] = collections.deque()
        self._pending_rows = 0
        #: Points of devices that sent more moments than a turn takes, with their arrival.
        self._carry: tuple[float, Batch] | None = None
        self._skipped_rows = 0
        self._dropped_log = ThrottledLog(log)
        self._skipping = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._lock = threading.Lock()
        #: Held while the engine is reconfigured or evaluates: requests reconfigure it too.
        self._engine_lock = threading.RLock()
        self._last_refresh = 0.0
        self._lags: collections.deque[float] = collections.deque(maxlen=2000)
        self._thread: threading.Thread | None = None
        self._saver: threading.Thread | None = None
        #: The enterprises this monitor watches; None: all (one process). In a cluster each
        #: monitor worker watches its share (``monitor/feed.py``).
        self._scope: frozenset[int] | None = None
        #: Called after every reconfiguration made here (an API node tells the monitor workers).
        self.on_configured: Callable[[], None] | None = None
        self.configure()
        latest = store.latest(None)
        self.engine.seed_last_seen(
            latest.column("device").to_numpy().astype(np.int64),
            latest.column("ts").to_numpy().astype(np.int64),
        )

    # -- configuration -----------------------------------------------------------------------

    def configure(self) -> None:
        """(Re)read devices, rules, overrides and notification settings from the registry."""
        devices = device_infos(self._registry)
        if self._scope is not None:
            devices = [d for d in devices if d.enterprise_id in self._scope]
        bindings = all_bindings(self._registry)
        overrides = all_overrides(self._registry)
        with self._engine_lock:
            problems = self.engine.configure(devices, bindings, overrides)
            self.states.forget_stale()
            # A changed rule starts with fresh state: its open alarms must still clear.
            self.engine.restore_active(self.book.open_pairs())
        self._states_due = self._keeps_states
        for problem in problems:
            log.warning("rule override ignored: %s", problem)
        self.book.clear_orphans(set(self.engine.rules()))
        self.book.incidents.set_topology(build_topology(self._registry, self._store, load_rules()))
        self._notify_cache.clear()
        self._last_refresh = time.monotonic()
        if self.on_configured is not None:
            self.on_configured()

    def set_scope(self, enterprises: frozenset[int] | None) -> None:
        """Watch only these enterprises' devices from now on (None: every device)."""
        # What this monitor learned of devices it may hand over is saved for the next one
        # (outside the engine lock, which a save takes in turns after its own lock).
        self.checkpoint()
        with self._engine_lock:
            self._scope = enterprises
            self.resync()

    def resync(self) -> None:
        """Read alarms, incidents and configuration back from the registry: what another
        process of a cluster changed becomes this monitor's view."""
        with self._engine_lock:
            before = set(self.book.open_pairs())
            self.book.reload_open()
            # Closed elsewhere (cleared by hand, say): a condition still holding raises anew,
            # as after a clear made in this process.
            for ref, device in before - set(self.book.open_pairs()):
                self._forget_locked(ref, device)
            self.book.incidents.abandon()
            self.configure()

    def warm(self, batch: Batch) -> None:
        """Rebuild rule state from points another monitor already evaluated (a handover):
        evaluated in time order as they came, their transitions dropped, and the alarm state
        taken from the registry's open alarms, which that monitor kept."""
        if not len(batch):
            return
        order = np.argsort(batch.ts, kind="stable")
        batch = batch.pick(order)
        step = self.engine.max_lag_ms // 2
        with self._engine_lock:
            self._restore_states()
            start = 0
            while start < len(batch):
                end = int(np.searchsorted(batch.ts, batch.ts[start] + step, side="left"))
                end = max(end, start + 1)
                chunk = batch.pick(slice(start, end))
                self.engine.evaluate(chunk, int(chunk.ts.max()))
                start = end
            self.engine.reset_active(np.unique(batch.device).astype(np.int64))
            self.engine.restore_active(self.book.open_pairs())

    def ensure_device(self, device_id: int) -> None:
        """Reconfigure now if the device is new to the monitor (created since the last look)."""
        if device_id not in self.engine.devices:
            self.configure()

    def reload(self) -> None:
        """Ask for a reconfiguration before the next evaluation (rules or devices changed)."""
        self._reload.set()
        self._wake.set()

    def saves_held(self) -> AbstractContextManager[bool]:
        """Hold off the saving of learned states (``with monitor.saves_held(): …``): registry
        writes of states and the reconfiguration that takes them up happen with no save of the
        old model's states in between (decision 0076)."""
        return self._save_lock

    def reread_states(self, ref: str, devices: Collection[int]) -> None:
        """Read the saved states of ``ref`` on ``devices`` again before the next evaluation,
        even if its model asked for them already (states saved for it since)."""
        with self._engine_lock:
            self.states.forget(ref, devices)
            self._states_due = self._keeps_states

    def now_ms(self) -> int:
        """The monitor's clock: what it judges fresh by."""
        return self._clock()

    @property
    def store(self) -> TelemetryStore:
        """The store the monitor reads device history from (a plant rule's fit, decision
        0076)."""
        return self._store

    def rule_of(self, ref: str, device_id: int) -> RuleSpec | None:
        compiled = self.engine.rules().get(ref)
        if compiled is None:
            return None
        return compiled.effective.get(device_id, compiled.binding.rule)

    def rule_open_to(self, ref: str, enterprise_id: int) -> bool:
        """Whether an enterprise may name a rule: a profile default or one of its own rules.

        Another enterprise's rule must look exactly like one that does not exist.
        """
        compiled = self.engine.rules().get(ref)
        return compiled is not None and compiled.binding.enterprise_id in (None, enterprise_id)

    def device(self, device_id: int) -> DeviceInfo | None:
        return self.engine.devices.get(device_id)

    def _notify_config(self, enterprise_id: int) -> NotifyConfig:
        config = self._notify_cache.get(enterprise_id)
        if config is None:
            try:
                channels, policy = notify_settings(self._registry, enterprise_id)
            except ShuguError as exc:
                log.error("notification settings of enterprise %d unusable: %s", enterprise_id, exc)
                channels, policy = {}, None
            config = NotifyConfig(channels, policy)
            self._notify_cache[enterprise_id] = config
        return config

    def _forget(self, ref: str, device_id: int) -> None:
        with self._engine_lock:
            self._forget_locked(ref, device_id)

    def _forget_locked(self, ref: str, device_id: int) -> None:
        compiled = self.engine.rules().get(ref)
        if compiled is None:
            return
        if compiled.evaluator is not None and device_id < len(compiled.evaluator.active):
            compiled.evaluator.active[device_id] = False
        elif device_id < len(compiled.active):
            compiled.active[device_id] = False

    # -- the stream --------------------------------------------------------------------------

    def on_batch(self, batch: Batch) -> None:
        """The store's listener: queue and return."""
        if not len(batch):
            return
        with self._lock:
            if self._pending_rows + len(batch) > MAX_PENDING_ROWS:
                self._skipped_rows += len(batch)
                if not self._skipping:
                    log.error("monitor is behind by %d rows; skipping batches", self._pending_rows)
                    self._skipping = True
                return
            if self._skipping:
                log.warning("monitor caught up; evaluating every batch again")
                self._skipping = False
            self._pending.append((time.monotonic(), batch))
            self._pending_rows += len(batch)
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shugu-monitor", daemon=True)
        self._thread.start()
        # Saves run beside evaluation, which waits only while a chunk of states is copied.
        self._saver = threading.Thread(
            target=self._save_every, name="shugu-monitor-states", daemon=True
        )
        self._saver.start()
        stop_at_exit(self.stop)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._saver is not None:
            self._saver.join(timeout)
        self.checkpoint()

    # -- learned state (decision 0068) ------------------------------------------------------

    def _restore_states(self) -> None:
        """Before evaluating: the saved state of devices the rules have not seen yet (the
        caller holds the engine lock)."""
        if self._states_due:
            self._states_due = False
            self.states.restore()

    def _save_every(self) -> None:
        while not self._stop.wait(SAVE_EVERY_S):
            self.checkpoint(prune=True)

    def checkpoint(self, prune: bool = False) -> None:
        """Save what the detectors learned since the last save; a failure is logged."""
        try:
            self.save_states(prune=prune)
        except Exception:
            # Evaluation goes on; what was learned since is saved by the next save that works.
            log.exception("detector states not saved")

    def save_states(self, *, prune: bool = False) -> KeptStates | None:
        """Save what the detectors learned since the last save; None if this monitor keeps
        no state."""
        if not self._keeps_states:
            return None
        # One save at a time, so that an older copy is never written over a newer one.
        with self._save_lock:
            return self.states.save(self._engine_lock, prune=prune)

    def _take(self) -> tuple[float, Batch] | None:
        """One turn's points: everything queued, but at most ``MOMENTS_PER_DEVICE_PER_TURN``
        moments of any one device; its later points are carried to the next turns, so a
        flooding device cannot make a turn long for everyone else."""
        with self._lock:
            items = list(self._pending)
            self._pending.clear()
            carry, self._carry = self._carry, None
        if carry is not None:
            items.insert(0, carry)
        if not items:
            return None
        oldest = min(arrived for arrived, _b in items)
        now, later = split_turn(Batch.concat([b for _, b in items]), MOMENTS_PER_DEVICE_PER_TURN)
        dropped = 0
        if later is not None and len(later) > MAX_CARRIED_ROWS:
            # Devices sending faster than they can be evaluated: their oldest points go first,
            # so that the queue keeps room for every other device's.
            newest = np.zeros(len(later), np.bool_)
            newest[np.argsort(later.ts, kind="stable")[-MAX_CARRIED_ROWS:]] = True
            dropped = len(later) - MAX_CARRIED_ROWS
            later = later.take(newest)
            self._dropped_log.warning(
                "monitor: %d points of flooding devices not evaluated (stored)", dropped
            )
        with self._lock:
            self._pending_rows -= len(now) + dropped
            self._skipped_rows += dropped
            if later is not None:
                self._carry = (oldest, later)
        if later is not None:
            self._wake.set()  # the carried points are due at once, not at the next batch
        return oldest, now

    def _run(self) -> None:
        next_tick = time.monotonic()
        next_escalation = time.monotonic() + ESCALATION_EVERY_S
        while not self._stop.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            try:
                self.process_pending()
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + TICK_S
                    with self._engine_lock:
                        transitions = self.engine.tick(self._clock())
                    self.book.apply(transitions)
                    self.book.settle_flapping()
                if now >= next_escalation:
                    next_escalation = now + ESCALATION_EVERY_S
                    self.book.tick()
            except Exception:
                # The monitor must outlive a fault of its own or of the registry; the next
                # batches are evaluated as usual.
                log.exception("monitor evaluation failed")

    def process_pending(self) -> None:
        """One turn: evaluate what is queued, at most MOMENTS_PER_DEVICE_PER_TURN moments of any
        device (the monitor thread's step; tests call it directly)."""
        if self._reload.is_set():
            self._reload.clear()
            self.configure()
        taken = self._take()
        if taken is None:
            return
        oldest, batch = taken
        if not self.engine.knows(batch.device):
            # A device created since the last look: wait out the refresh interval rather than
            # evaluate its first points without its rules.
            wait = REFRESH_MIN_INTERVAL_S - (time.monotonic() - self._last_refresh)
            if wait > 0:
                time.sleep(wait)
            self.configure()
        with self._engine_lock:
            self._restore_states()
            transitions = self.engine.evaluate(batch, self._clock())
        self.book.apply(transitions)
        self.book.observe(batch.device, batch.ts)
        self._lags.append(time.monotonic() - oldest)

    def stats(self) -> MonitorStats:
        lags = sorted(self._lags)
        return MonitorStats(
            evaluated_points=self.engine.evaluated_points,
            pending_rows=self._pending_rows,
            skipped_rows=self._skipped_rows,
            alarms_raised=self.book.raised,
            alarms_cleared=self.book.cleared,
            rules=len(self.engine.rules()),
            devices=len(self.engine.devices),
            lag_p50_s=lags[len(lags) // 2] if lags else 0.0,
            lag_max_s=lags[-1] if lags else 0.0,
        )
