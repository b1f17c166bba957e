"""The HTTP long poll a device holds open for what the server has for it (shared-attribute
changes, RPC requests): one at a time per device, and when it last polled.

A poll is an asyncio future, which is not thread-safe: completed from another thread (a sync
route's worker, the control socket's), the loop is not woken and the poll waits out its timeout
(asyncio's debug mode refuses outright). Whatever ends polls from outside the loop goes through
``call_on_loop``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

#: How long a caller in another thread waits for the event loop to end a device's polls.
HAND_OVER_WAIT_S = 10.0


def call_on_loop(loop: asyncio.AbstractEventLoop | None, work: Callable[[], None]) -> None:
    """Run ``work`` on ``loop``, the event loop the polls wait on, and wait until it has run:
    at once on that loop's own thread (or when the loop is not running, as nothing waits on it
    then), else handed to the loop."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or running is loop or loop.is_closed() or not loop.is_running():
        work()
        return
    done: concurrent.futures.Future[None] = concurrent.futures.Future()

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            done.set_exception(exc)
            raise
        done.set_result(None)

    try:
        loop.call_soon_threadsafe(run)
    except RuntimeError:  # the loop closed meanwhile: no poll is left to end
        return
    try:
        done.result(timeout=HAND_OVER_WAIT_S)
    except concurrent.futures.TimeoutError:
        log.warning("the event loop did not end a device's polls within %g s", HAND_OVER_WAIT_S)


@dataclass(slots=True)
class LongPoll(Generic[T]):
    """A device's waiting poll, if any, and when it last polled (monotonic seconds).

    A newer poll ends the older one with the caller's "nothing" value, as if there were nothing
    to hand it, so a device cannot hold more than one connection open here."""

    waiter: asyncio.Future[T] | None = None
    seen: float = 0.0
    #: The access token the waiting poll came with, re-checked by ingest.poll_sweep.
    credential: str | None = None

    def waiting(self) -> bool:
        return self.waiter is not None and not self.waiter.done()

    def hand(self, value: T) -> bool:
        """Answer the waiting poll with ``value``; False when no poll is waiting."""
        if self.waiter is None or self.waiter.done():
            return False
        self.waiter.set_result(value)
        return True

    async def wait(self, timeout_s: float, nothing: T) -> T | None:
        """Wait for what is handed to this poll, ending an older one with ``nothing``; None
        after ``timeout_s``."""
        self.hand(nothing)
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        finally:
            if self.waiter is waiter:
                self.waiter = None
            self.seen = time.monotonic()
