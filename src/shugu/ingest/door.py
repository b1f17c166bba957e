"""The ingest door: the one way points get from any transport into the telemetry store.

Every transport (MQTT endpoint, broker bridge, HTTP device API, HTTP batch API, and the
simulator's backfill through the batch API) decodes its bytes with a codec
(`ingest/codecs.py`) and hands the ``Decoded`` to ``IngestDoor.ingest`` with its name. The door
then does the same for all of them: validation (`ingest/validation.py`, pure), one Batch, the
store's ``submit`` (the only way out), the wait until durable, the ingest meter.

How a request goes through depends on how its sender can be slowed, so the door decides it
from the transport, not the transport itself:
- senders that can be held (MQTT device connections, the broker bridge) are coalesced: the
  requests of one event-loop turn share one validation and one commit, and wait for room in the
  store's backlog rather than being refused (`ingest/coalesce.py`);
- HTTP requests and gateway messages go alone, so that their answer can list their own
  refusals; they were admitted at the door (``admitted``) and are refused when the backlog is
  full (HTTP 429).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from shugu.config import Settings
from shugu.domain.batch import Batch
from shugu.domain.entities import DeviceRef
from shugu.domain.errors import OverloadedError, UnavailableError
from shugu.ingest.coalesce import Coalescer
from shugu.ingest.codecs import Decoders, DeviceJson
from shugu.ingest.columns import Decoded, as_arrays
from shugu.ingest.ingest_meter import BROKER, MQTT, IngestMeter
from shugu.ingest.refusal_tally import RefusalTally
from shugu.ingest.thingsboard import TelemetryDecoder
from shugu.ingest.validation import Limits, check, to_batch
from shugu.store.telemetry import AttributeRecord, IngestStore, RejectRecord, Rejects

#: Transports whose senders wait for room instead of being refused; their requests coalesce.
HELD_TRANSPORTS = frozenset({MQTT, BROKER})
#: Set while an HTTP request is admitted (:meth:`IngestDoor.admitted`): its points are refused, not
#: held, when the backlog is full by the time they are ready to store.
_ADMITTED: ContextVar[bool] = ContextVar("ingest_admitted", default=False)
#: How often a held sender looks for room again; a few ms against commits of tens of ms.
_ROOM_POLL_S = 0.005
#: The reason given for values a shared batch refused, which only the rejects log details.
REFUSED_IN_BATCH = "values were refused; the rejects log says why"


def printable(text: str | None) -> str | None:
    """Text that any JSON encoder takes: lone surrogates a device sent are escaped."""
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class IngestResult:
    """What became of one request: values stored, and its refusals.

    A request that went alone has all its refusals in ``rejects``. One that shared a batch has
    there those of its decoding; ``refused_in_batch`` more were refused by validation, and
    only the rejects log has their reasons.
    """

    accepted: int
    rejects: Rejects
    refused_in_batch: int = 0

    @property
    def refused(self) -> int:
        return self.rejects.total + self.refused_in_batch

    @property
    def reason(self) -> str:
        """The first reason a value was refused for."""
        return self.rejects.samples[0].reason if self.rejects.samples else REFUSED_IN_BATCH

    def as_json(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "rejected": self.refused,
            "errors": [
                {
                    "key": printable(r.metric),
                    "ts": r.ts,
                    "code": r.code,
                    "message": r.reason,
                    "sample": printable(r.sample),
                }
                for r in self.rejects.samples
            ],
        }


class IngestDoor:
    def __init__(
        self, store: IngestStore, settings: Settings, clock: Callable[[], int] = now_ms
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._limits = Limits(settings.max_future_ms, settings.retention_days)
        self._samples = SampleBudget()
        self._decoders = Decoders(clock)
        self._coalescer = Coalescer(self._ingest_together, self.wait_for_room)
        #: Refusals of requests that store nothing (bad device tokens), written in bulk.
        self.refusals = RefusalTally(store.submit)
        #: HTTP ingest requests being read, decoded and stored right now (event loop only).
        self._requests_in_flight = 0
        #: Requests refused because too many were in flight (shown by /api/health).
        self.busy_refusals = 0
        #: Points accepted and refused per transport, for the platform's health.
        self.meter = IngestMeter()
        #: Batches the store could not keep (disk full, store failed), refused to their senders
        #: (HTTP 503, MQTT connection closed); per process in /api/health's ``workers``.
        self.store_failures = 0
        #: Batches of held senders (MQTT, the bridge) that had to wait for room in the backlog.
        self.held_for_room = 0

    # -- codecs bound to this door's decoders and clock

    @property
    def decoders(self) -> Decoders:
        return self._decoders

    def decoder_for(self, device: DeviceRef) -> TelemetryDecoder:
        return self._decoders(device)

    def device_json(self, device: DeviceRef) -> DeviceJson:
        return DeviceJson(device, self._decoders)

    # -- the one call

    def ingest(self, decoded: Decoded, transport: str) -> Awaitable[IngestResult]:
        """Validate and store one request's points; the answer comes once they are durable."""
        if transport in HELD_TRANSPORTS:
            return self._coalescer.ingest(decoded, transport)
        return self._ingest_alone(decoded, transport)

    async def _ingest_alone(self, decoded: Decoded, transport: str) -> IngestResult:
        rejects = decoded.rejects
        if not len(decoded):
            # Nothing to validate; what was refused while decoding is still kept in the log.
            if rejects:
                await self.store(Batch.empty(), rejects, transport)
            return IngestResult(0, rejects)
        cols = as_arrays([decoded.columns])
        checked = check(
            cols, decoded.profiles, rejects, self._limits, self._clock(), self._numbered
        )
        batch = to_batch(cols, checked, self._store.metric_ids)
        if len(batch) and _ADMITTED.get():
            # Requests admitted together while their bodies were read would all cross the
            # backlog's bound; one that finds it full now is refused before it adds to it.
            self.admit()
        stored = await self.store(batch, rejects, transport)
        return IngestResult(stored, rejects)

    async def _ingest_together(self, requests: list[tuple[Decoded, str]]) -> list[IngestResult]:
        """Requests of held senders as one batch; each keeps its own outcome."""
        rejects = Rejects()
        profiles: dict[int, str] = {}
        sets = []
        for decoded, _ in requests:
            if decoded.rejects.counts:
                _merge_into(rejects, decoded.rejects)
            profiles.update(decoded.profiles)
            sets.append(decoded.columns)
        cols = as_arrays(sets)
        checked = check(cols, profiles, rejects, self._limits, self._clock(), self._numbered)
        await self.store(to_batch(cols, checked, self._store.metric_ids), rejects)
        # Kept rows per request from one running sum; a request may have no rows at all.
        bounds = np.cumsum([0, *(len(c) for c in sets)])
        kept_before = np.concatenate(([0], np.cumsum(checked.keep, dtype=np.int64)))
        kept = (kept_before[bounds[1:]] - kept_before[bounds[:-1]]).tolist()
        sizes = np.diff(bounds).tolist()
        results = [
            IngestResult(accepted, decoded.rejects, size - accepted)
            for (decoded, _), size, accepted in zip(requests, sizes, kept, strict=True)
        ]
        self._meter_together(requests, results, sum(kept), rejects.total)
        return results

    def _meter_together(
        self,
        requests: list[tuple[Decoded, str]],
        results: list[IngestResult],
        stored: int,
        refused: int,
    ) -> None:
        """Count a shared batch by transport, in one step when it came by one transport."""
        transport = requests[0][1]
        if all(t == transport for _, t in requests):
            self.meter.count(transport, stored, refused)
            return
        counts: dict[str, list[int]] = {}
        for (_, transport), result in zip(requests, results, strict=True):
            figures = counts.setdefault(transport, [0, 0])
            figures[0] += result.accepted
            figures[1] += result.refused
        for transport, (accepted, refused) in counts.items():
            self.meter.count(transport, accepted, refused)

    def _numbered(self, name: str) -> bool:
        return self._store.metric_id(name) is not None

    # -- admission and back-pressure

    def admit(self) -> None:
        """Refuse at the door while the store's backlog is full, before spending any work on
        the request; the refusal says when to come back (HTTP 429 with Retry-After)."""
        if self._store.backlog_rows >= self._store.max_backlog_rows:
            raise self._store.overloaded()

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Admission of one HTTP ingest request, held while it is read, decoded and stored.

        Beyond ``max_ingest_requests`` at once a request is refused (429, Retry-After) before
        its body is read: more requests in progress would not be stored sooner on this
        machine's cores, each holds its body in memory, and every one would wait longer.
        """
        self.admit()
        if self._requests_in_flight >= self._settings.max_ingest_requests:
            self.busy_refusals += 1
            raise OverloadedError(
                "too many ingest requests are being handled at once; slow down and retry",
                retry_after_s=1.0,
                in_flight=self._requests_in_flight,
            )
        self._requests_in_flight += 1
        admitted = _ADMITTED.set(True)
        try:
            yield
        finally:
            _ADMITTED.reset(admitted)
            self._requests_in_flight -= 1

    async def wait_for_room(self) -> None:
        """Wait until the store's backlog is down to half its bound.

        Senders that can be slowed (MQTT connections, the broker bridge) wait here instead of
        being refused: their acknowledgements come later, their windows fill, and they stop
        reading. Half the bound leaves room for HTTP senders, who are refused rather than held.
        """
        if self.congested:
            self.held_for_room += 1
        while self.congested:
            await asyncio.sleep(_ROOM_POLL_S)

    @property
    def congested(self) -> bool:
        store = self._store
        return store.backlog_rows > store.max_backlog_rows // 2

    # -- the way out

    async def store(self, batch: Batch, rejects: Rejects, transport: str | None = None) -> int:
        """Hand a batch to the store and wait until it is durable; what came in by
        ``transport`` is counted by the meter once durable.

        Refusal counts are always stored; samples only within the per-minute budget, so that a
        device stuck sending the same bad payload cannot flood the rejects log.
        """
        kept = rejects
        if rejects.samples:
            # The answer to the sender keeps every reason; the log keeps the budgeted samples.
            kept = Rejects(rejects.counts, self._samples.admit(rejects.samples, self._clock()))
        try:
            stored = await asyncio.wrap_future(self._store.submit(batch, kept))
        except UnavailableError:
            self.store_failures += 1
            raise
        if transport is not None:
            self.meter.count(transport, stored, rejects.total)
        return stored

    async def store_attributes(self, records: list[AttributeRecord]) -> None:
        """Keep device attributes; returns once they are durable."""
        await asyncio.wrap_future(self._store.submit(Batch.empty(), None, records))

    def record_refusal_nowait(self, record: RejectRecord) -> None:
        """Keep a refusal without waiting for it to be durable (for callers outside a request)."""
        rejects = Rejects()
        rejects.add(record)
        rejects.samples = self._samples.admit(rejects.samples, self._clock())
        self._store.submit(Batch.empty(), rejects)

    async def record_refusal(self, record: RejectRecord) -> None:
        """Keep a whole-payload refusal (bad token, malformed body) in the rejects log."""
        rejects = Rejects()
        rejects.add(record)
        await self.store(Batch.empty(), rejects)


def _merge_into(into: Rejects, more: Rejects) -> None:
    for key, count in more.counts.items():
        into.counts[key] = into.counts.get(key, 0) + count
    room = into.max_samples - len(into.samples)
    if room > 0:
        into.samples.extend(more.samples[:room])


class SampleBudget:
    """At most ``per_window`` kept samples per (device, code) in each ``window_ms``."""

    def __init__(self, per_window: int = 20, window_ms: int = 60_000) -> None:
        self._per_window = per_window
        self._window_ms = window_ms
        self._window = -1
        self._used: dict[tuple[int | None, str], int] = {}

    def admit(self, samples: list[RejectRecord], now: int) -> list[RejectRecord]:
        window = now // self._window_ms
        if window != self._window:
            self._window = window
            self._used.clear()
        kept = []
        for sample in samples:
            key = (sample.device, sample.code)
            used = self._used.get(key, 0)
            if used < self._per_window:
                self._used[key] = used + 1
                kept.append(sample)
        return kept
