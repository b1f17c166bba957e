"""An ingest worker of a cluster in the registry: its heartbeat, its node number, and the
highest row sequence its telemetry store has confirmed, which monitor workers read up to
(``monitor/feed.py``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from shugu.domain.errors import ShuguError
from shugu.domain.logthrottle import ThrottledLog
from shugu.store.registry import Registry
from shugu.store.registry.cluster import HEARTBEAT_S
from shugu.store.registry.models import utc_now

log = logging.getLogger(__name__)

#: What a turn survives: the registry or the store out of reach for a while.
TURN_FAILURES = (ShuguError, SQLAlchemyError, OSError)

#: How often the confirmed sequence is published: the bound on what it adds to alarm delay.
PUBLISH_S = 0.25


class IngestBeat:
    def __init__(
        self,
        member_id: str,
        registry: Registry,
        committed_seq: Callable[[], int],
        *,
        role: str = "ingest",
        address: str = "",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.member_id = member_id
        self._registry = registry
        self._committed_seq = committed_seq
        self._role = role
        self._address = address
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._published = 0
        self._errors = ThrottledLog(log)

    def join(self) -> int:
        """Beat once and claim this worker's node number (before its store is opened)."""
        self._registry.heartbeat(self.member_id, self._role, self._clock(), self._address)
        return self._registry.claim_node_number(self.member_id)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shugu-ingest-beat", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.publish()
            # Gone at once: monitors read everything it wrote without waiting for its beats to
            # age out. The row stays (its node number with it) until it is forgotten.
            self._registry.leave_cluster(self.member_id, self._clock())
        except TURN_FAILURES as exc:
            log.warning("the ingest worker could not publish its last sequence: %s", exc)

    def publish(self) -> None:
        seq = self._committed_seq()
        if seq > self._published:
            self._registry.publish_fed(self.member_id, seq)
            self._published = seq

    def _run(self) -> None:
        beats_every = max(1, round(HEARTBEAT_S / PUBLISH_S))
        turn = 0
        while not self._stop.wait(PUBLISH_S):
            try:
                self.publish()
                turn += 1
                if turn % beats_every == 0:
                    self._registry.heartbeat(
                        self.member_id, self._role, self._clock(), self._address
                    )
            except TURN_FAILURES as exc:
                self._errors.warning("ingest heartbeat failed, retrying: %s", exc)
