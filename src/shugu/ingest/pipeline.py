"""Validated columns → Batch → durable store, with every refusal counted and sampled.

The same pipeline serves every transport (HTTP device API, batch API, and later MQTT): a
transport decodes its bytes into columns, and this module applies the rules that do not depend
on the transport, vectorised over the whole request:

- timestamps more than ``max_future_ms`` ahead are refused (``future_timestamp``), and so are
  points older than the retention (``too_old``), which would otherwise vanish at the next purge;
- non-finite values are refused (``not_finite``);
- a metric the device's profile does not know is refused when the profile is strict
  (``unknown_metric``);
- a value outside its metric's plausible range is stored with the out-of-range quality flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shugu.config import Settings
from shugu.domain.batch import QUALITY_OUT_OF_RANGE, Batch
from shugu.domain.entities import DeviceRef
from shugu.domain.errors import OverloadedError
from shugu.domain.profiles import Profile, get_profile
from shugu.ingest.ingest_meter import HTTP, IngestMeter
from shugu.ingest.refusal_tally import RefusalTally
from shugu.ingest.thingsboard import ParsedTelemetry, TelemetryDecoder
from shugu.store.telemetry import AttributeRecord, RejectRecord, Rejects, TelemetryStore

_DAY_MS = 86_400_000
MAX_METRIC_NAME = 128
#: Examples kept per device and reason when many rows are refused for one reason.
SAMPLES_PER_REFUSAL = 10
#: New metric names are numbered for good; a request may add only so many at once.
MAX_NEW_METRICS_PER_REQUEST = 1000


#: How often a held sender looks for room again; a few ms against commits of tens of ms.
_ROOM_POLL_S = 0.005


def printable(text: str | None) -> str | None:
    """Text that any JSON encoder takes: lone surrogates a device sent are escaped."""
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def valid_metric_name(name: str) -> bool:
    """1–128 printable characters that are valid UTF-8 (no lone surrogates)."""
    if not 0 < len(name) <= MAX_METRIC_NAME or not name.isprintable():
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    rejects: Rejects

    def as_json(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejects.total,
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


@dataclass(slots=True)
class Columns:
    """Points of one request before validation; metric names are dictionary-encoded."""

    device: npt.NDArray[np.int32]
    metric_names: list[str]
    metric_index: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]


class IngestPipeline:
    def __init__(
        self, store: TelemetryStore, settings: Settings, clock: Callable[[], int] = now_ms
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._samples = SampleBudget()
        #: Refusals of requests that store nothing (bad device tokens), written in bulk.
        self.refusals = RefusalTally(store.submit)
        #: profile name → its decoder (a decoder holds no state between payloads)
        self._decoders: dict[str, TelemetryDecoder] = {}
        #: HTTP ingest requests being read, decoded and stored right now (event loop only).
        self._requests_in_flight = 0
        #: Requests refused because too many were in flight (shown by /api/health).
        self.busy_refusals = 0
        #: Points accepted and refused per transport, for the platform's health.
        self.meter = IngestMeter()

    # -- decoding helpers shared by transports ----------------------------------------------

    def decoder_for(self, device: DeviceRef) -> TelemetryDecoder:
        decoder = self._decoders.get(device.profile)
        if decoder is None:
            profile = get_profile(device.profile)
            bool_metrics = {name for name, spec in profile.metrics.items() if spec.bool_as_number}
            states = {name: spec for name, spec in profile.metrics.items() if spec.states}
            decoder = TelemetryDecoder(self._clock, bool_metrics, states)
            self._decoders[device.profile] = decoder
        return decoder

    def columns_from_parsed(self, device: DeviceRef, parsed: ParsedTelemetry) -> Columns:
        index: dict[str, int] = {}
        codes = np.fromiter(
            (index.setdefault(m, len(index)) for m in parsed.metrics),
            dtype=np.int32,
            count=len(parsed.metrics),
        )
        return Columns(
            device=np.full(len(parsed), device.id, np.int32),
            metric_names=list(index),
            metric_index=codes,
            ts=np.asarray(parsed.ts, dtype=np.int64),
            value=np.asarray(parsed.values, dtype=np.float64),
        )

    def refusals_to_rejects(
        self, device: DeviceRef | None, parsed: ParsedTelemetry, rejects: Rejects
    ) -> None:
        received = self._clock()
        dev = device.id if device else None
        for r in parsed.refusals:
            rejects.add(
                RejectRecord(received, dev, r.code, r.reason, r.metric, r.ts, r.sample), r.count
            )

    # -- the pipeline proper ---------------------------------------------------------------

    def validate(self, cols: Columns, profiles: dict[int, str], rejects: Rejects) -> Batch:
        """Apply the transport-independent rules; refused rows go to ``rejects``."""
        return self.validate_rows(cols, profiles, rejects)[0]

    def validate_rows(
        self, cols: Columns, profiles: dict[int, str], rejects: Rejects
    ) -> tuple[Batch, npt.NDArray[np.bool_]]:
        """Like ``validate``, also returning which rows were kept."""
        now = self._clock()
        n = len(cols.ts)
        keep = np.ones(n, dtype=bool)
        future = cols.ts > now + self._settings.max_future_ms
        self._refuse(
            cols,
            future & keep,
            keep,
            rejects,
            "future_timestamp",
            "timestamp is more than "
            f"{self._settings.max_future_ms // 60000} minutes ahead of the server clock",
        )
        old = cols.ts < now - self._settings.retention_days * _DAY_MS
        self._refuse(
            cols,
            old & keep,
            keep,
            rejects,
            "too_old",
            f"timestamp is older than the retention of {self._settings.retention_days} days",
        )
        bad = ~np.isfinite(cols.value)
        self._refuse(
            cols, bad & keep, keep, rejects, "not_finite", "NaN and infinity are not values"
        )
        bad_name = np.array([not valid_metric_name(m) for m in cols.metric_names], dtype=bool)
        if bad_name.any():
            self._refuse(
                cols,
                bad_name[cols.metric_index] & keep,
                keep,
                rejects,
                "bad_metric_name",
                f"a metric name is 1 to {MAX_METRIC_NAME} printable characters",
            )

        quality = np.zeros(n, np.uint8)
        unknown, low, high, state_flags = self._profile_tables(cols, profiles)
        if unknown is not None:
            self._refuse(
                cols,
                unknown & keep,
                keep,
                rejects,
                "unknown_metric",
                "the device's profile does not define this metric",
            )
        with np.errstate(invalid="ignore"):
            out_of_range = (cols.value < low) | (cols.value > high)
        quality[out_of_range | state_flags] = QUALITY_OUT_OF_RANGE

        self._limit_new_metrics(cols, keep, rejects)
        # Only the names of stored rows get a number: refused names leave no trace.
        used = _used_metrics(cols, keep)
        metric_ids = np.full(len(cols.metric_names), -1, np.int32)
        if len(used):
            metric_ids[used] = self._store.metric_ids([cols.metric_names[i] for i in used])
        batch = Batch(
            cols.device,
            metric_ids[cols.metric_index] if n else np.empty(0, np.int32),
            cols.ts,
            cols.value,
            quality,
        )
        return (batch if keep.all() else batch.take(keep)), keep

    def _limit_new_metrics(
        self, cols: Columns, keep: npt.NDArray[np.bool_], rejects: Rejects
    ) -> None:
        used = _used_metrics(cols, keep).tolist()
        new = [i for i in used if self._store.metric_id(cols.metric_names[i]) is None]
        if len(new) <= MAX_NEW_METRICS_PER_REQUEST:
            return
        excess = np.zeros(len(cols.metric_names), dtype=bool)
        excess[new[MAX_NEW_METRICS_PER_REQUEST:]] = True
        self._refuse(
            cols,
            excess[cols.metric_index] & keep,
            keep,
            rejects,
            "too_many_new_metrics",
            f"one request may introduce at most {MAX_NEW_METRICS_PER_REQUEST} new metric names",
        )

    def _profile_tables(
        self, cols: Columns, profiles: dict[int, str]
    ) -> tuple[
        npt.NDArray[np.bool_] | None,
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
    ]:
        """Per-row unknown-metric mask, plausible bounds and undeclared-state flags.

        Looked up once per distinct (profile, metric) pair of the request, then spread to rows.
        """
        n = len(cols.ts)
        profile_names = sorted(set(profiles.values()))
        if len(profile_names) == 1:
            row_profile = np.zeros(n, np.int64)
        else:
            pos = {name: i for i, name in enumerate(profile_names)}
            devs, inverse = np.unique(cols.device, return_inverse=True)
            per_dev = np.array([pos[profiles[int(d)]] for d in devs], np.int64)
            row_profile = per_dev[inverse]
        pair = row_profile * len(cols.metric_names) + cols.metric_index
        uniq, inverse = np.unique(pair, return_inverse=True)
        known = np.ones(len(uniq), dtype=bool)
        lows = np.full(len(uniq), -np.inf)
        highs = np.full(len(uniq), np.inf)
        loaded: dict[str, Profile] = {}
        states: list[tuple[int, npt.NDArray[np.float64]]] = []
        for i, p in enumerate(uniq.tolist()):
            pname = profile_names[p // len(cols.metric_names)]
            profile = loaded.get(pname) or loaded.setdefault(pname, get_profile(pname))
            spec = profile.metrics.get(cols.metric_names[p % len(cols.metric_names)])
            if spec is None:
                known[i] = not profile.strict
                continue
            if spec.min is not None:
                lows[i] = spec.min
            if spec.max is not None:
                highs[i] = spec.max
            if spec.states:
                states.append((i, np.array(sorted(spec.states), np.float64)))
        unknown = None if known.all() else ~known[inverse]
        state_flags = np.zeros(n, dtype=bool)
        for i, allowed in states:
            rows = inverse == i
            state_flags[rows] = ~np.isin(cols.value[rows], allowed)
        return unknown, lows[inverse], highs[inverse], state_flags

    def _refuse(
        self,
        cols: Columns,
        mask: npt.NDArray[np.bool_],
        keep: npt.NDArray[np.bool_],
        rejects: Rejects,
        code: str,
        reason: str,
    ) -> None:
        if not mask.any():
            return
        keep &= ~mask
        rows = np.flatnonzero(mask)
        devices, counts = np.unique(cols.device[rows], return_counts=True)
        received = self._clock()
        for dev, count in zip(devices.tolist(), counts.tolist(), strict=True):
            of_device = rows[cols.device[rows] == dev]
            # One example per distinct metric, a few at most: enough to see what went wrong.
            _, firsts = np.unique(cols.metric_index[of_device], return_index=True)
            examples = of_device[np.sort(firsts)[:SAMPLES_PER_REFUSAL]]
            for i, row in enumerate(examples.tolist()):
                rejects.add(
                    RejectRecord(
                        received,
                        int(dev),
                        code,
                        reason,
                        cols.metric_names[int(cols.metric_index[row])],
                        int(cols.ts[row]),
                        repr(float(cols.value[row])),
                    ),
                    count=count if i == 0 else 0,
                )

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
        try:
            yield
        finally:
            self._requests_in_flight -= 1

    async def wait_for_room(self) -> None:
        """Wait until the store's backlog is down to half its bound.

        Senders that can be slowed (MQTT connections, the broker bridge) wait here instead of
        being refused: their acknowledgements come later, their windows fill, and they stop
        reading. Half the bound leaves room for HTTP senders, who are refused rather than held.
        """
        store = self._store
        while store.backlog_rows > store.max_backlog_rows // 2:
            await asyncio.sleep(_ROOM_POLL_S)

    @property
    def congested(self) -> bool:
        store = self._store
        return store.backlog_rows > store.max_backlog_rows // 2

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
        stored = await asyncio.wrap_future(self._store.submit(batch, kept))
        if transport is not None:
            self.meter.count(transport, stored, rejects.total)
        return stored

    async def ingest_parsed(
        self,
        device: DeviceRef,
        parsed: ParsedTelemetry,
        rejects: Rejects | None = None,
        *,
        transport: str = HTTP,
    ) -> IngestResult:
        rejects = rejects if rejects is not None else Rejects()
        self.refusals_to_rejects(device, parsed, rejects)
        batch = self.validate(
            self.columns_from_parsed(device, parsed), {device.id: device.profile}, rejects
        )
        stored = await self.store(batch, rejects, transport)
        return IngestResult(stored, rejects)

    async def ingest_columns(
        self,
        cols: Columns,
        profiles: dict[int, str],
        rejects: Rejects,
        *,
        transport: str | None = None,
    ) -> IngestResult:
        batch = self.validate(cols, profiles, rejects)
        stored = await self.store(batch, rejects, transport)
        return IngestResult(stored, rejects)

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


def _used_metrics(cols: Columns, keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Indices of the metric names that kept rows use (a presence mask: no sort needed)."""
    present = np.zeros(len(cols.metric_names), dtype=bool)
    present[cols.metric_index[keep]] = True
    return np.flatnonzero(present)


def dictionary_encode(names: Sequence[str]) -> tuple[list[str], npt.NDArray[np.int32]]:
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(m, len(index)) for m in names), np.int32, len(names))
    return list(index), codes


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
