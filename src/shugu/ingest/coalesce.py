"""Many small requests, one pass through the ingest door.

An MQTT device sends a handful of values per message; validating and committing each message on
its own costs far more than its values (measured: about 330 µs of event-loop time per 10-value
message). The coalescer gathers the requests of held senders that arrive within one turn of the
event loop, from every connection, and has the door (`ingest/door.py`) validate them as one set
of columns and store them as one batch; then it settles each request's own future with its own
outcome. Held, not refused: while the store's backlog is full the batch waits for room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shugu.domain.errors import OverloadedError
from shugu.ingest.columns import Decoded

#: Flush at once beyond this many values, without waiting for the end of the loop turn.
MAX_ROWS = 50_000

Outcome = TypeVar("Outcome")
#: Validates and stores requests (each with its transport) together; one outcome per request.
IngestTogether = Callable[[list[tuple[Decoded, str]]], Awaitable[list[Outcome]]]


@dataclass(slots=True)
class _Pending(Generic[Outcome]):
    decoded: Decoded
    transport: str
    future: asyncio.Future[Outcome]


class Coalescer(Generic[Outcome]):
    def __init__(
        self,
        ingest_together: IngestTogether[Outcome],
        wait_for_room: Callable[[], Awaitable[None]],
    ) -> None:
        self._ingest_together = ingest_together
        self._wait_for_room = wait_for_room
        self._pending: list[_Pending[Outcome]] = []
        self._rows = 0
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    def ingest(self, decoded: Decoded, transport: str) -> asyncio.Future[Outcome]:
        """The request's outcome, once the batch it joins is durable."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._pending.append(_Pending(decoded, transport, future))
        self._rows += len(decoded)
        if self._rows >= MAX_ROWS:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._scheduled = False
        items, self._pending, self._rows = self._pending, [], 0
        if items:
            task = asyncio.ensure_future(self._run(items))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, items: list[_Pending[Outcome]]) -> None:
        requests = [(item.decoded, item.transport) for item in items]
        try:
            while True:
                # Held, not refused: the senders' acknowledgements wait, and so do they.
                await self._wait_for_room()
                try:
                    outcomes = await self._ingest_together(requests)
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
