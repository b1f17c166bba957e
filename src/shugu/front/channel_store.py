"""A front's telemetry store: what the ingest door needs of one, over the channel to main.

The door (`ingest/door.py`) asks a store to number metric names, take a batch and say when it
is durable, and tell how full the backlog is. In a front process this store does that over the
front channel (`front/wire.py`):

- metric names get the front's own numbers, which the main process maps to the store's; a name
  travels once per connection, in the head of the first batch that uses it;
- ``submit`` sends the batch and its future settles when main's answer comes: the row count
  once main's store has committed it, the store's own refusal (OverloadedError) when main's
  backlog is full, or UnavailableError when the store failed or the channel is gone;
- the backlog is main's, as of its last answer, plus the rows this front has sent and not yet
  seen answered, counted once per process of the node: a front reaches the bound when its own
  rows in flight reach its share of what main has left, so main's backlog and every front's
  rows in flight together stay within main's one bound. The door holds MQTT senders and
  refuses HTTP ones on that figure, as it would on the store's own. Main's figure comes only
  with its answers, so with nothing in flight it would never change: a front held on it would
  wait forever. Older than ``STALE_S`` with nothing in flight, it is no longer believed; the
  next batch asks again, and main's answer (an ACK with its backlog, or FULL) is the new figure.

Reads the door does not do (queries, attributes) are not served here: ``attributes`` answers
UnavailableError (the front has no copy of the store). A device's attribute request is asked of
main instead (``ask``, `front/routes.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shugu.domain.batch import Batch
from shugu.domain.errors import OverloadedError, UnavailableError
from shugu.front import wire
from shugu.store.datadir import unix_socket_address
from shugu.store.telemetry import AttributeRecord, Rejects

log = logging.getLogger(__name__)

#: Seconds main's backlog, as of its last answer, is believed while nothing is in flight.
STALE_S = 0.1

#: A revocation heard from main: device id, reason → connections closed.
OnRevoke = Callable[[int, str], int]


def _gone() -> UnavailableError:
    return UnavailableError(
        "the main process is gone; the points were not stored", code="store_unavailable"
    )


class ChannelStore:
    def __init__(self, data_dir: Path, processes: int = 1) -> None:
        self.path = data_dir / wire.FRONTS_SOCKET
        #: The node's processes (``--workers``): this front's rows in flight count that often.
        self._processes = max(1, processes)
        self._names: dict[str, int] = {}
        self._unsent: dict[int, str] = {}
        self._pending: dict[int, tuple[Future[int], int]] = {}
        #: Questions asked of main (``ask``) → their answers.
        self._asks: dict[int, asyncio.Future[bytes]] = {}
        self._number = 0
        self._in_flight_rows = 0
        self._main_backlog = 0
        self._max_backlog = 1
        #: When main last answered (time.monotonic()): how fresh ``_main_backlog`` is.
        self._answered_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        #: Called when main revokes a device's credentials.
        self.on_revoke: OnRevoke = lambda _device, _reason: 0
        #: Called with an RPC request (its number, and the device's id and request) from main.
        self.on_rpc: Callable[[int, bytes], None] = lambda _number, _payload: None
        #: Called with shared-attribute changes (the device's id and the changes) from main.
        self.on_push: Callable[[bytes], None] = lambda _payload: None
        #: Called with (device id, client id) when the client connected again elsewhere.
        self.on_taken: Callable[[int, str], None] = lambda _device, _client: None
        #: Called when main asks for this front's counters.
        self.stats: Callable[[], dict[str, Any]] = dict
        #: Set once the channel has ended (main stopped or died).
        self.closed = asyncio.Event()
        self.refusals = 0

    async def connect(self) -> None:
        """Join main's channel and learn its backlog bound."""
        self._loop = asyncio.get_running_loop()
        with unix_socket_address(self.path) as address:
            reader, writer = await asyncio.open_unix_connection(address, limit=wire.MAX_FRAME_BYTES)
        self._writer = writer
        writer.write(wire.frame(wire.HELLO, 0, wire.json_payload({"pid": os.getpid()})))
        got = await wire.read_frame(reader)
        if got is None or got[0] != wire.WELCOME:
            raise wire.ChannelError("main did not welcome this front")
        _, self._main_backlog, self._max_backlog = wire.decode_ack(got[2])
        self._answered_at = time.monotonic()
        self._reader_task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while (got := await wire.read_frame(reader)) is not None:
                self._on_frame(*got)
        except (wire.ChannelError, ConnectionError) as exc:
            log.warning("front channel broken: %s", exc)
        finally:
            self._end()

    def _end(self) -> None:
        pending, self._pending = self._pending, {}
        for future, _rows in pending.values():
            if not future.done():
                future.set_exception(_gone())
        self._in_flight_rows = 0
        asks, self._asks = self._asks, {}
        for waiting in asks.values():
            if not waiting.done():
                waiting.set_exception(_gone())
        self.closed.set()

    def _on_frame(self, kind: int, number: int, payload: bytes) -> None:
        if kind in (wire.ACK, wire.FULL, wire.FAILED):
            entry = self._pending.pop(number, None)
            if entry is None:
                raise wire.ChannelError(f"an answer to batch {number}, which is not waiting")
            future, rows = entry
            self._in_flight_rows -= rows
            self._answered_at = time.monotonic()
            if kind == wire.ACK:
                stored, self._main_backlog, self._max_backlog = wire.decode_ack(payload)
                future.set_result(stored)
            elif kind == wire.FULL:
                body = wire.from_json(payload)
                self.refusals += 1
                # Main's backlog had no room for the batch: full, as far as this front knows.
                self._main_backlog = self._max_backlog
                future.set_exception(
                    OverloadedError(body["message"], retry_after_s=float(body["retry_after_s"]))
                )
            else:
                message = str(wire.from_json(payload).get("message", "the store failed"))
                future.set_exception(UnavailableError(message, code="store_unavailable"))
        elif kind in (wire.ATTRIBUTES_ANSWER, wire.SESSION_GIVEN):
            waiting = self._asks.pop(number, None)
            if waiting is None:
                raise wire.ChannelError(f"an answer to question {number}, which is not waiting")
            if not waiting.done():
                waiting.set_result(payload)
        elif kind == wire.REVOKE:
            body = wire.from_json(payload)
            closed = self.on_revoke(int(body["device"]), str(body["reason"]))
            self.send(wire.REVOKED, number, wire.json_payload({"closed": closed}))
        elif kind == wire.RPC_REQUEST:
            self.on_rpc(number, payload)
        elif kind == wire.ATTRIBUTES_PUSH:
            self.on_push(payload)
        elif kind == wire.TAKEN:
            device_id, client = wire.device_and_body(payload)
            self.on_taken(device_id, client.decode("utf-8", "replace"))
        elif kind == wire.ASK_STATS:
            self.send(wire.STATS, number, wire.json_payload(self.stats()))
        else:
            raise wire.ChannelError(f"a frame of unknown kind {kind}")

    def send(self, kind: int, number: int, payload: bytes) -> None:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(wire.frame(kind, number, payload))

    async def ask(self, kind: int, payload: bytes) -> bytes:
        """Ask main a question; its answer's payload. UnavailableError once the channel ends."""
        if self.closed.is_set():
            raise _gone()
        # Numbered with the batches: one counter, so no answer can be taken for another's.
        self._number += 1
        number = self._number
        waiting: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._asks[number] = waiting
        self.send(kind, number, payload)
        try:
            return await waiting
        finally:
            self._asks.pop(number, None)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._reader_task is not None:
            await self._reader_task

    # -- what the door asks

    def metric_ids(self, names: Sequence[str]) -> npt.NDArray[np.int32]:
        ids = self._names
        out = np.empty(len(names), np.int32)
        with self._lock:
            for i, name in enumerate(names):
                number = ids.get(name)
                if number is None:
                    number = ids[name] = len(ids) + 1
                    self._unsent[number] = name
                out[i] = number
        return out

    def metric_id(self, name: str) -> int | None:
        return self._names.get(name)

    def submit(
        self,
        batch: Batch,
        rejects: Rejects | None = None,
        attributes: Sequence[AttributeRecord] | None = None,
    ) -> Future[int]:
        future: Future[int] = Future()
        future.set_running_or_notify_cancel()
        loop = self._loop
        if loop is None or self.closed.is_set():
            future.set_exception(_gone())
            return future
        records = list(attributes) if attributes else None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._send_batch(future, batch, rejects, records)
        else:
            loop.call_soon_threadsafe(self._send_batch, future, batch, rejects, records)
        return future

    def _send_batch(
        self,
        future: Future[int],
        batch: Batch,
        rejects: Rejects | None,
        attributes: list[AttributeRecord] | None,
    ) -> None:
        if self.closed.is_set():
            future.set_exception(_gone())
            return
        with self._lock:
            names, self._unsent = self._unsent, {}
        self._number += 1
        self._pending[self._number] = (future, len(batch))
        self._in_flight_rows += len(batch)
        self.send(wire.BATCH, self._number, wire.encode_batch(batch, rejects, attributes, names))

    @property
    def backlog_rows(self) -> int:
        main = self._main_backlog
        if not self._pending and time.monotonic() - self._answered_at > STALE_S:
            main = 0  # nothing in flight would bring a newer figure: the next batch asks
        return main + self._in_flight_rows * self._processes

    @property
    def rows_in_flight(self) -> int:
        """Rows sent to main and not yet answered: what this front holds for the store."""
        return self._in_flight_rows

    @property
    def max_backlog_rows(self) -> int:
        return self._max_backlog

    def overloaded(self) -> OverloadedError:
        self.refusals += 1
        return OverloadedError(
            "more telemetry is arriving than can be stored; slow down and retry",
            retry_after_s=1.0,
            backlog_points=self.backlog_rows,
        )

    def attributes(self, device: int, scope: str | None = None) -> list[AttributeRecord]:
        raise UnavailableError(
            "attributes are read from the main process, not from this front",
            code="store_unavailable",
        )
