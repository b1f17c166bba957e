"""Many small messages, one pass through the pipeline.

An MQTT device sends a handful of values per message; validating and committing each message on
its own costs far more than its values (measured: about 330 µs of event-loop time per 10-value
message). The coalescer gathers the messages that arrive within one turn of the event loop, from
every connection, validates them as one set of columns, hands them to the store as one batch,
and then settles each message's own future with its own outcome.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import OverloadedError
from shugu.ingest.ingest_meter import MQTT
from shugu.ingest.pipeline import Columns, IngestPipeline, dictionary_encode
from shugu.ingest.thingsboard import ParsedTelemetry
from shugu.store.telemetry import Rejects

#: Flush at once beyond this many values, without waiting for the end of the loop turn.
MAX_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """What became of one message: values stored and values refused (with a first reason)."""

    accepted: int
    refused: int
    reason: str | None


@dataclass(slots=True)
class _Pending:
    device: DeviceRef
    parsed: ParsedTelemetry
    future: asyncio.Future[MessageOutcome]


class Coalescer:
    def __init__(self, pipeline: IngestPipeline) -> None:
        self._pipeline = pipeline
        self._pending: list[_Pending] = []
        self._rows = 0
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    async def ingest(self, device: DeviceRef, parsed: ParsedTelemetry) -> MessageOutcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[MessageOutcome] = loop.create_future()
        self._pending.append(_Pending(device, parsed, future))
        self._rows += len(parsed)
        if self._rows >= MAX_ROWS:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        items, self._pending, self._rows = self._pending, [], 0
        if items:
            task = asyncio.ensure_future(self._run(items))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, items: list[_Pending]) -> None:
        try:
            while True:
                # Held, not refused: the senders' acknowledgements wait, and so do they.
                await self._pipeline.wait_for_room()
                try:
                    outcomes = await self._ingest_all(items)
                    break
                except OverloadedError:
                    continue  # HTTP senders filled the room first; wait again
        except Exception as exc:  # noqa: BLE001 - not swallowed: every waiting caller gets it
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        for item, outcome in zip(items, outcomes, strict=True):
            if not item.future.done():
                item.future.set_result(outcome)

    async def _ingest_all(self, items: list[_Pending]) -> list[MessageOutcome]:
        pipeline = self._pipeline
        rejects = Rejects()
        profiles: dict[int, str] = {}
        # Plain lists across all messages, turned into arrays once: per-message arrays would
        # cost more than the values they hold.
        devices: list[int] = []
        metrics: list[str] = []
        stamps: list[int] = []
        values: list[float] = []
        for item in items:
            parsed = item.parsed
            if parsed.refusals:
                pipeline.refusals_to_rejects(item.device, parsed, rejects)
            devices.extend([item.device.id] * len(parsed))
            metrics.extend(parsed.metrics)
            stamps.extend(parsed.ts)
            values.extend(parsed.values)
            profiles[item.device.id] = item.device.profile
        names, codes = dictionary_encode(metrics)
        columns = Columns(
            device=np.asarray(devices, dtype=np.int32),
            metric_names=names,
            metric_index=codes,
            ts=np.asarray(stamps, dtype=np.int64),
            value=np.asarray(values, dtype=np.float64),
        )
        batch, keep = pipeline.validate_rows(columns, profiles, rejects)
        await pipeline.store(batch, rejects, MQTT)
        bounds = np.cumsum([0, *(len(item.parsed) for item in items)])
        kept = np.add.reduceat(keep.astype(np.int64), bounds[:-1]) if len(keep) else None
        outcomes = []
        for i, item in enumerate(items):
            size = int(bounds[i + 1] - bounds[i])
            accepted = int(kept[i]) if kept is not None and size else 0
            refused = size - accepted + sum(r.count for r in item.parsed.refusals)
            reason = item.parsed.refusals[0].reason if item.parsed.refusals else None
            if refused and reason is None:
                reason = "values were refused; the rejects log says why"
            outcomes.append(MessageOutcome(accepted, refused, reason))
        return outcomes
