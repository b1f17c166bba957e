"""The delivery service: takes notices from the alarm path and gets them out, in the background.

Design (decision 0010):

- ``submit`` only appends to an in-memory queue and returns: the alarm path, and ingest behind
  it, never waits on a chat robot or a mail server, and ``submit`` never raises.
- One lane per channel (by name), each a bounded queue with one sender task. A dead channel
  therefore fills and drops only its own lane; the others keep delivering. Within a lane notices
  go out in order, so "cleared" never overtakes "raised".
- A retryable failure keeps the notice at the head of its lane and waits ``base_delay_s``,
  doubling per consecutive failure of the channel up to ``max_delay_s`` (2 s, 4 s, … 5 min by
  default): the channel, not each notice, is what is down, so one back-off per channel keeps a
  recovering robot from being hammered by a backlog. A notice older than ``max_age_s`` (1 h) is
  given up and counted as failed; a non-retryable failure (bad secret, refused recipient) is
  counted as failed at once.
- A channel's failure is logged once when it starts failing and once when it recovers, with
  what happened in between; a full lane likewise once when it starts dropping and once when it
  accepts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from shugu.domain.errors import UnavailableError
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.model import AlarmNotice

from .channels import ChannelConfig
from .errors import DeliveryError
from .senders import Sender
from .targets import TargetGuard

log = logging.getLogger(__name__)

#: Sends one notice to one channel once, raising ``DeliveryError`` on failure.
SendFn = Callable[[ChannelConfig, AlarmNotice], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One channel as a health view shows it."""

    name: str
    kind: str
    #: True from the first failed attempt until the next delivery succeeds.
    failing: bool
    last_error: str | None
    last_error_at_ms: int | None
    last_delivered_at_ms: int | None
    #: Notices waiting in the lane, the one being retried included.
    queued: int
    delivered: int
    retried: int
    failed: int
    dropped: int


@dataclass(frozen=True, slots=True)
class NotifierStatus:
    running: bool
    delivered: int
    retried: int
    failed: int
    dropped: int
    queued: int
    channels: dict[str, ChannelStatus]


@dataclass(slots=True)
class _Delivery:
    notice: AlarmNotice
    channel: ChannelConfig
    #: ``clock()`` when submitted; the age limit counts from here.
    accepted_at: float
    attempts: int = 0


@dataclass(slots=True, eq=False)
class _Lane:
    name: str
    kind: str
    queue: deque[_Delivery] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    #: Consecutive failed attempts; sets the back-off, reset by a success.
    failures: int = 0
    failing_since: float | None = None
    gave_up_in_outage: int = 0
    full: bool = False
    dropped_while_full: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    last_error: str | None = None
    last_error_at_ms: int | None = None
    last_delivered_at_ms: int | None = None


class Notifier:
    """Background delivery of alarm notices to channels.

    Use as ``async with Notifier() as notifier: notifier.submit(notice, channels)`` or call
    ``await start()`` and ``await aclose()``. ``submit`` may be called before ``start`` (notices
    wait) and from other threads (it hands over to the notifier's event loop).
    """

    def __init__(
        self,
        *,
        queue_size: int = 500,
        base_delay_s: float = 2.0,
        max_delay_s: float = 300.0,
        max_age_s: float = 3600.0,
        timeout_s: float = 10.0,
        drain_s: float = 5.0,
        client: httpx.AsyncClient | None = None,
        guard: TargetGuard | None = None,
        send: SendFn | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = utc_now_ms,
    ) -> None:
        """``queue_size`` bounds each channel's lane. ``timeout_s`` applies to HTTP requests of
        a client made here (one passed in keeps its own). ``drain_s`` is how long ``aclose``
        lets healthy channels finish their queue. ``guard`` says where notices may go (by
        default: public addresses only). ``send`` replaces the real senders (for callers'
        tests); ``clock`` measures ages and ``wall_ms`` stamps the status view."""
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if not 0 < base_delay_s <= max_delay_s:
            raise ValueError("need 0 < base_delay_s <= max_delay_s")
        self._queue_size = queue_size
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._drain_s = drain_s
        self._client = client
        self._owns_client = False
        self.guard = guard if guard is not None else TargetGuard()
        self._send = send
        self._clock = clock
        self._wall_ms = wall_ms
        self._lanes: dict[str, _Lane] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._closing = False
        self._closed = False
        self._dropped_after_close = 0
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop is not None:
            return
        if self._closing:
            raise RuntimeError("a closed Notifier cannot be started again")
        self._loop = asyncio.get_running_loop()
        if self._send is None:
            if self._client is None:
                # No proxy from the environment: the connection must go where the guard looked.
                self._client = httpx.AsyncClient(
                    timeout=httpx.Timeout(self._timeout_s), trust_env=False
                )
                self._owns_client = True
            self._send = Sender(self._client, guard=self.guard, wall_ms=self._wall_ms).send
        for lane in self._lanes.values():
            self._ensure_task(lane)

    async def aclose(self, drain_s: float | None = None) -> None:
        """Stop accepting; give healthy channels ``drain_s`` to deliver what is queued; a
        channel in back-off stops at once. What is left is counted as failed."""
        if self._closing:
            return
        self._closing = True
        self._stop.set()
        for lane in self._lanes.values():
            lane.wake.set()
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if tasks:
            _, unfinished = await asyncio.wait(
                tasks, timeout=self._drain_s if drain_s is None else drain_s
            )
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        left = 0
        for lane in self._lanes.values():
            if lane.queue:
                left += len(lane.queue)
                lane.failed += len(lane.queue)
                lane.queue.clear()
        self._pending = 0
        self._idle.set()
        if left:
            log.warning("notifier closed with %d notice deliveries not done", left)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
        self._closed = True

    async def __aenter__(self) -> Notifier:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def join(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued notice is delivered or given up; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    # -- the alarm path's entry ------------------------------------------------------------

    def submit(self, notice: AlarmNotice, channels: Iterable[ChannelConfig]) -> None:
        """Queue ``notice`` for each channel and return at once. Never blocks, never raises:
        a full lane or a closed notifier counts the notice as dropped."""
        targets = list(channels)
        loop = self._loop
        if loop is not None:
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                # asyncio's structures belong to their loop's thread; hand the work over.
                try:
                    loop.call_soon_threadsafe(self._enqueue, notice, targets)
                except RuntimeError:
                    self._drop_after_close(len(targets))
                return
        self._enqueue(notice, targets)

    def _enqueue(self, notice: AlarmNotice, channels: list[ChannelConfig]) -> None:
        if self._closing:
            self._drop_after_close(len(channels))
            return
        now = self._clock()
        for channel in channels:
            lane = self._lanes.get(channel.name)
            if lane is None:
                lane = self._lanes[channel.name] = _Lane(channel.name, channel.kind)
            if len(lane.queue) >= self._queue_size:
                lane.dropped += 1
                lane.dropped_while_full += 1
                if not lane.full:
                    lane.full = True
                    log.warning(
                        "notification channel %s: %d notices waiting, dropping new ones "
                        "until it catches up",
                        lane.name,
                        len(lane.queue),
                    )
                continue
            if lane.full:
                lane.full = False
                log.info(
                    "notification channel %s: accepting notices again, %d dropped meanwhile",
                    lane.name,
                    lane.dropped_while_full,
                )
                lane.dropped_while_full = 0
            lane.queue.append(_Delivery(notice, channel, now))
            self._pending += 1
            self._idle.clear()
            lane.wake.set()
            self._ensure_task(lane)

    def _drop_after_close(self, count: int) -> None:
        if self._dropped_after_close == 0:
            log.warning("notifier is closed: dropping notices submitted after shutdown")
        self._dropped_after_close += count

    async def send_now(self, channel: ChannelConfig, notice: AlarmNotice) -> None:
        """One attempt to deliver ``notice`` to ``channel`` at once, past the lanes: no queue,
        no retry, and the ``DeliveryError`` of a failed attempt raised to the caller. For a
        person checking a channel, who wants to know now whether it works and why not."""
        if self._send is None or self._closing:
            raise UnavailableError("the notifier is not running", code="unavailable")
        await self._send(channel, notice)

    # -- status ------------------------------------------------------------------------------

    @property
    def delivered(self) -> int:
        return sum(lane.delivered for lane in self._lanes.values())

    @property
    def retried(self) -> int:
        return sum(lane.retried for lane in self._lanes.values())

    @property
    def failed(self) -> int:
        return sum(lane.failed for lane in self._lanes.values())

    @property
    def dropped(self) -> int:
        return sum(lane.dropped for lane in self._lanes.values()) + self._dropped_after_close

    def status(self) -> NotifierStatus:
        channels = {
            lane.name: ChannelStatus(
                name=lane.name,
                kind=lane.kind,
                failing=lane.failing_since is not None,
                last_error=lane.last_error,
                last_error_at_ms=lane.last_error_at_ms,
                last_delivered_at_ms=lane.last_delivered_at_ms,
                queued=len(lane.queue),
                delivered=lane.delivered,
                retried=lane.retried,
                failed=lane.failed,
                dropped=lane.dropped,
            )
            for lane in self._lanes.values()
        }
        return NotifierStatus(
            running=self._loop is not None and not self._closing,
            delivered=self.delivered,
            retried=self.retried,
            failed=self.failed,
            dropped=self.dropped,
            queued=sum(item.queued for item in channels.values()),
            channels=channels,
        )

    # -- the lanes ---------------------------------------------------------------------------

    def _ensure_task(self, lane: _Lane) -> None:
        if self._loop is None or lane.task is not None:
            return
        lane.task = self._loop.create_task(self._run(lane), name=f"notify:{lane.name}")

    def _done(self, lane: _Lane) -> None:
        lane.queue.popleft()
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()

    def _backoff(self, failures: int, retry_after_s: float | None) -> float:
        delay: float = self._base_delay_s * float(2 ** min(max(failures, 1) - 1, 30))
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return min(delay, self._max_delay_s)

    async def _pause(self, seconds: float) -> None:
        # A back-off that ``aclose`` can cut short.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    async def _run(self, lane: _Lane) -> None:
        send = self._send
        assert send is not None  # set by start(), which creates the lane tasks
        while True:
            if not lane.queue:
                if self._closing:
                    return
                lane.wake.clear()
                await lane.wake.wait()
                continue
            delivery = lane.queue[0]
            age = self._clock() - delivery.accepted_at
            if age > self._max_age_s:
                self._give_up(lane, delivery, age)
                continue
            delivery.attempts += 1
            if delivery.attempts > 1:
                lane.retried += 1
            try:
                await send(delivery.channel, delivery.notice)
            except DeliveryError as exc:
                self._failed_attempt(lane, exc.message, retrying=exc.retryable)
                if not exc.retryable:
                    lane.failed += 1
                    self._done(lane)
                    continue
                if self._closing:
                    return
                delay = self._backoff(lane.failures, exc.retry_after_s)
                # Never sleep past the notice's age limit: the last try comes at the limit.
                await self._pause(max(0.0, min(delay, self._max_age_s - age)))
                continue
            except Exception as exc:
                # A fault in shugu itself (a renderer bug, say) must cost this one notice, not
                # stop the channel for good: logged with its traceback, counted as failed.
                log.exception("notification channel %s: unexpected error", lane.name)
                self._failed_attempt(
                    lane, f"internal error: {type(exc).__name__}: {exc}", retrying=False
                )
                lane.failed += 1
                self._done(lane)
                continue
            lane.delivered += 1
            lane.last_delivered_at_ms = self._wall_ms()
            self._done(lane)
            self._recovered(lane)

    def _failed_attempt(self, lane: _Lane, message: str, *, retrying: bool) -> None:
        lane.failures += 1
        lane.last_error = message
        lane.last_error_at_ms = self._wall_ms()
        if lane.failing_since is None:
            lane.failing_since = self._clock()
            log.warning(
                "notification channel %s (%s) is failing: %s; %s",
                lane.name,
                lane.kind,
                message,
                "retrying with back-off" if retrying else "not retried (the request was refused)",
            )
        else:
            log.debug("notification channel %s: attempt failed again: %s", lane.name, message)

    def _give_up(self, lane: _Lane, delivery: _Delivery, age: float) -> None:
        lane.failed += 1
        lane.gave_up_in_outage += 1
        if lane.gave_up_in_outage == 1:
            log.warning(
                "notification channel %s: giving up notices older than %.1f s "
                "(alarm %d after %d attempts); further ones are counted, not logged",
                lane.name,
                self._max_age_s,
                delivery.notice.alarm_id,
                delivery.attempts,
            )
        self._done(lane)

    def _recovered(self, lane: _Lane) -> None:
        if lane.failing_since is not None:
            log.info(
                "notification channel %s (%s) is delivering again after %.1f s and %d failed "
                "attempts; %d notices given up meanwhile",
                lane.name,
                lane.kind,
                self._clock() - lane.failing_since,
                lane.failures,
                lane.gave_up_in_outage,
            )
        lane.failures = 0
        lane.failing_since = None
        lane.gave_up_in_outage = 0
