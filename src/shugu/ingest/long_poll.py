"""The HTTP long poll a device holds open for what the server has for it (shared-attribute
changes, RPC requests): one at a time per device, and when it last polled."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class LongPoll(Generic[T]):
    """A device's waiting poll, if any, and when it last polled (monotonic seconds).

    A newer poll ends the older one with the caller's "nothing" value, as if there were nothing
    to hand it, so a device cannot hold more than one connection open here."""

    waiter: asyncio.Future[T] | None = None
    seen: float = 0.0

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
