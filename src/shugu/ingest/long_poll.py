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
from typing import Any, Generic, TypeVar

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


P = TypeVar("P", bound=LongPoll[Any])


class DevicePolls(Generic[P]):
    """Each device's long poll of one kind (attribute updates, RPC requests) and the event loop
    they wait on; ending a poll answers it with the kind's "nothing"."""

    def __init__(self, make: Callable[[], P], nothing: object) -> None:
        self._make = make
        self._nothing = nothing
        self.by_device: dict[int, P] = {}
        #: The event loop the polls wait on (set by the first poll).
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self, device_id: int) -> P:
        """The device's poll, made on first use; called on the event loop the polls wait on."""
        self._loop = asyncio.get_running_loop()
        poll = self.by_device.get(device_id)
        if poll is None:
            poll = self.by_device[device_id] = self._make()
        return poll

    def forget(self, device_id: int) -> None:
        """The device's credentials were revoked: end its waiting poll, drop what was queued.
        Safe from any thread: it waits until the polls' event loop has done it."""
        call_on_loop(self._loop, lambda: self._forget_now(device_id))

    def _forget_now(self, device_id: int) -> None:
        poll = self.by_device.pop(device_id, None)
        if poll is not None:
            poll.hand(self._nothing)

    def waiting_credentials(self) -> dict[int, str]:
        """Device id → the access token its waiting poll came with."""
        return {
            device_id: poll.credential
            for device_id, poll in self.by_device.items()
            if poll.credential is not None and poll.waiting()
        }

    def end_poll(self, device_id: int, credential: str) -> bool:
        """End the device's waiting poll and drop what was queued if the poll came with
        ``credential`` (found revoked); False when a poll with other credentials waits now."""
        poll = self.by_device.get(device_id)
        if poll is None or poll.credential != credential or not poll.waiting():
            return False
        self._forget_now(device_id)
        return True
