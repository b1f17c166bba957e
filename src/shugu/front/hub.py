"""The main process's end of the front channel: batches in, acknowledgements after the commit.

Every front connects to ``<data>/fronts.sock`` (mode 0600; the peer's user id is checked as
the control socket does). For each batch the hub

- maps the front's metric numbers to the store's (names a front introduces come in the batch's
  head and are numbered by the store here, the one place that numbers them);
- hands the batch to the store with its refusals and attributes, exactly as the door in this
  process would: the store's listeners (the monitor, the KPI engine) see it like any other
  batch, and a device's batches stay in order since one device is on one connection, which is
  on one front, which sends on one channel;
- answers once the batch is durable (ACK with the backlog), at once when the backlog is full
  (FULL, the same refusal a local sender gets), or when the store failed (FAILED).

The hub also routes RPC requests and attribute changes to the front holding a device
(`front/routes.py`), tells every front to cut a device off (its credentials were revoked here) and
collects the fronts' counters for ``/api/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shugu.domain.errors import OverloadedError, ShuguError
from shugu.front import wire
from shugu.front.routes import MainRoutes
from shugu.front.sessions import MainSessions, decode_session, encode_session, parse_ask
from shugu.store.datadir import listen_private, peer_uid
from shugu.store.telemetry import TelemetryStore

log = logging.getLogger(__name__)

#: How long /api/health waits for the fronts' counters.
STATS_WAIT_S = 1.0
#: How long a revocation waits for the fronts to confirm they closed the device's connections.
REVOKE_WAIT_S = 5.0


@dataclass(eq=False)
class FrontLink:
    """One connected front."""

    writer: asyncio.StreamWriter
    pid: int = 0
    #: The front's metric number → the store's (0: not yet named by the front).
    metrics: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(64, np.int32))
    #: Questions asked of the front (counters, revocations) → their answers.
    asked: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    def send(self, kind: int, number: int, payload: bytes = b"") -> None:
        if not self.writer.is_closing():
            self.writer.write(wire.frame(kind, number, payload))

    def learn(self, names: dict[int, str], store: TelemetryStore) -> None:
        if not names:
            return
        top = max(names)
        if top >= len(self.metrics):
            grown = np.zeros(max(top + 1, 2 * len(self.metrics)), np.int32)
            grown[: len(self.metrics)] = self.metrics
            self.metrics = grown
        ids = store.metric_ids(list(names.values()))
        self.metrics[list(names)] = ids


class FrontHub:
    def __init__(
        self, store: TelemetryStore, data_dir: Path, routes: MainRoutes | None = None
    ) -> None:
        self._store = store
        self._routes = routes
        #: (device, client id) → the front that last took the session (None: main itself).
        self._sessions: dict[tuple[int, str], FrontLink | None] = {}
        #: Closes main's own connection of a client that connected again elsewhere.
        self.close_local: Callable[[int, str], None] = lambda _device, _client: None
        self.path = data_dir / wire.FRONTS_SOCKET
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.links: set[FrontLink] = set()
        self._asked = 0
        #: Persistent MQTT sessions, kept here for every process (`front/sessions.py`).
        self.sessions = MainSessions()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by a main process that was killed
        listener = listen_private(self.path, 64)
        self._server = await asyncio.start_unix_server(
            self._serve, sock=listener, limit=wire.MAX_FRAME_BYTES
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self.links):
            link.writer.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        uid = peer_uid(writer.get_extra_info("socket"))
        if uid is not None and uid not in (0, os.getuid()):
            log.warning("front channel: refused a connection from user id %d", uid)
            writer.close()
            return
        link = FrontLink(writer)
        try:
            while (got := await wire.read_frame(reader)) is not None:
                self._on_frame(link, *got)
        except (wire.ChannelError, ConnectionError) as exc:
            log.warning("front %d: channel closed (%s)", link.pid, exc)
        finally:
            self.links.discard(link)
            if self._routes is not None:
                self._routes.front_gone(link)
            self.sessions.front_gone(link)
            for key in [k for k, holder in self._sessions.items() if holder is link]:
                del self._sessions[key]
            for waiting in link.asked.values():
                if not waiting.done():
                    waiting.cancel()
            writer.close()

    def _on_frame(self, link: FrontLink, kind: int, number: int, payload: bytes) -> None:
        if kind == wire.BATCH:
            self._store_batch(link, number, payload)
        elif kind == wire.HELLO:
            link.pid = int(wire.from_json(payload).get("pid", 0))
            # Only now: a broadcast must not reach a front before its welcome.
            self.links.add(link)
            store = self._store
            link.send(
                wire.WELCOME, 0, wire.encode_ack(0, store.backlog_rows, store.max_backlog_rows)
            )
        elif kind == wire.SESSION_TAKE:
            device_id, client_id, clean_start = parse_ask(payload)
            task = asyncio.ensure_future(
                self._give_session(link, number, device_id, client_id, clean_start)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif kind == wire.SESSION_RETURN:
            self.sessions.returned(link, decode_session(payload))
        elif kind == wire.TAKEN:
            device_id, client = wire.device_and_body(payload)
            self.session_taken(link, device_id, client.decode("utf-8", "replace"))
        elif (
            kind in (wire.DEVICE, wire.RPC_ANSWER, wire.ATTRIBUTES_ASK) and self._routes is not None
        ):
            self._routes.on_frame(link, link.send, kind, number, payload)
        elif kind in (wire.STATS, wire.REVOKED):
            waiting = link.asked.pop(number, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(wire.from_json(payload))
        else:
            raise wire.ChannelError(f"a frame of unknown kind {kind}")

    def _store_batch(self, link: FrontLink, number: int, payload: bytes) -> None:
        submission = wire.decode_batch(payload)
        link.learn(submission.new_names, self._store)
        batch = submission.batch
        if len(batch):
            local = batch.metric
            if int(local.max()) >= len(link.metrics) or not link.metrics[local].all():
                raise wire.ChannelError("a batch names a metric number the front never named")
            batch = type(batch)(
                batch.device, link.metrics[local], batch.ts, batch.value, batch.quality
            )
        future = self._store.submit(batch, submission.rejects, submission.attributes)
        loop = self._loop
        assert loop is not None

        def settled(done: Future[int]) -> None:
            loop.call_soon_threadsafe(self._answer, link, number, done)

        if future.done():
            self._answer(link, number, future)
        else:
            future.add_done_callback(settled)

    def _answer(self, link: FrontLink, number: int, done: Future[int]) -> None:
        store = self._store
        exc = done.exception()
        if exc is None:
            ack = wire.encode_ack(done.result(), store.backlog_rows, store.max_backlog_rows)
            link.send(wire.ACK, number, ack)
        elif isinstance(exc, OverloadedError):
            body = {"message": exc.message, "retry_after_s": exc.retry_after_s}
            link.send(wire.FULL, number, wire.json_payload(body))
        else:
            message = exc.message if isinstance(exc, ShuguError) else str(exc)
            link.send(wire.FAILED, number, wire.json_payload({"message": message}))

    # -- MQTT takeover and sessions across processes

    async def _give_session(
        self, link: FrontLink, number: int, device_id: int, client_id: str, clean_start: bool
    ) -> None:
        # The takeover first: the process holding the session closes its connection and
        # gives the session back, which the take waits for.
        self.session_taken(link, device_id, client_id)
        session = await self.sessions.take(link, device_id, client_id, clean_start)
        link.send(wire.SESSION_GIVEN, number, encode_session(session) if session else b"")

    def session_taken(self, taker: FrontLink | None, device_id: int, client_id: str) -> None:
        """A client took its session in ``taker`` (None: main): the process that held it
        before closes its connection, as one process does for a second CONNECT."""
        key = (device_id, client_id)
        known = key in self._sessions
        before = self._sessions.get(key)
        self._sessions[key] = taker
        if not known or before is taker:
            return
        if before is None:
            self.close_local(device_id, client_id)
        else:
            before.send(wire.TAKEN, 0, wire.for_device(device_id, client_id.encode()))

    # -- what the main process asks of every front

    def disconnect_device(self, device_id: int, reason: str) -> int:
        """Tell every front to forget the device and close its connections; returns how many
        they closed. From outside the hub's loop (sync routes, the control socket) it waits
        until each front has confirmed, as a local revocation is done when it returns."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return 0
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        work = self._revoke(device_id, reason)
        if running is loop:
            loop.create_task(work)
            return 0
        try:
            future = asyncio.run_coroutine_threadsafe(work, loop)
        except RuntimeError:  # the loop closed meanwhile: no front is left to tell
            work.close()
            return 0
        try:
            return future.result(timeout=REVOKE_WAIT_S + 1.0)
        except TimeoutError:
            return 0

    async def _revoke(self, device_id: int, reason: str) -> int:
        self.sessions.forget_device(device_id)
        answers = await self._ask_all(
            wire.REVOKE, wire.json_payload({"device": device_id, "reason": reason}), REVOKE_WAIT_S
        )
        return sum(int(answer.get("closed", 0)) for answer in answers)

    async def _ask_all(self, kind: int, payload: bytes, wait_s: float) -> list[dict[str, Any]]:
        """Ask every connected front; the answers that come within ``wait_s``."""
        loop = asyncio.get_running_loop()
        waits = []
        for link in list(self.links):
            self._asked += 1
            waiting: asyncio.Future[dict[str, Any]] = loop.create_future()
            link.asked[self._asked] = waiting
            link.send(kind, self._asked, payload)
            waits.append(waiting)
        if not waits:
            return []
        done, _ = await asyncio.wait(waits, timeout=wait_s)
        return [w.result() for w in done if not w.cancelled() and w.exception() is None]

    async def gather_stats(self) -> list[dict[str, Any]]:
        """Every connected front's counters (those that answer within ``STATS_WAIT_S``)."""
        return await self._ask_all(wire.ASK_STATS, b"", STATS_WAIT_S)

    def stats(self) -> list[dict[str, Any]]:
        """:meth:`gather_stats` from a thread outside the hub's event loop (sync routes)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return []
        future = asyncio.run_coroutine_threadsafe(self.gather_stats(), loop)
        try:
            return future.result(timeout=STATS_WAIT_S + 1.0)
        except TimeoutError:
            return []
