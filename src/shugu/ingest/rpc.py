"""Server-side RPC, as ThingsBoard defines it: shugu asks a device, the device answers.

A request goes to the device on ``v1/devices/me/rpc/request/{id}`` as
``{"method": ..., "params": ...}``; a two-way request waits for the device to publish its answer
on ``v1/devices/me/rpc/response/{id}``. The hub numbers requests per device, hands them to
whichever transport holds the device's connection, and matches answers to waiting callers.

A device without a connection may fetch its requests over HTTP instead
(``GET /api/v1/{token}/rpc?timeout=``, answered with ``POST /api/v1/{token}/rpc/{id}``): while
it polls, and for ``POLLED_RECENTLY_S`` after its last poll, requests for it wait in a mailbox
until its next poll or their own timeout.

Client-side RPC (the device asks shugu) is answered by a few built-in methods; ThingsBoard hands
such requests to its rule engine, which shugu does not have.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from shugu.domain.errors import NotFoundError, ShuguError, ValidationError
from shugu.ingest.long_poll import DevicePolls, LongPoll


class RpcError(ShuguError):
    code = "rpc_failed"
    http_status = 409


class DeviceOffline(RpcError):
    code = "device_offline"
    http_status = 409


class RpcTimeout(RpcError):
    code = "rpc_timeout"
    http_status = 504


#: Delivers (request id, JSON payload) to a connected device; returns False if it cannot.
Deliver = Callable[[int, bytes], bool]

#: How long after its last poll a device that polls over HTTP still counts as reachable.
POLLED_RECENTLY_S = 60.0
#: Requests kept for one polling device; beyond, it is treated as not taking commands.
MAILBOX_LIMIT = 100
#: How long a one-way request waits in a mailbox (a two-way one waits for its call's timeout).
ONEWAY_KEEP_S = 60.0

#: A request handed to a device that polls: (request id, ``{"id", "method", "params"}``).
Polled = tuple[int, bytes]


@dataclass(slots=True)
class _Mailbox(LongPoll[Polled | None]):
    """Requests for a device that polls over HTTP, with their deadlines (monotonic seconds)."""

    queue: deque[tuple[int, bytes, float]] = field(default_factory=deque)

    def reachable(self, now: float, recently_s: float) -> bool:
        return self.waiting() or now - self.seen <= recently_s

    def put(self, request_id: int, payload: bytes, deadline: float) -> bool:
        if self.hand((request_id, payload)):
            return True
        if len(self.queue) >= MAILBOX_LIMIT:
            return False
        self.queue.append((request_id, payload, deadline))
        return True

    def take(self, now: float) -> Polled | None:
        while self.queue:
            request_id, payload, deadline = self.queue.popleft()
            if deadline >= now:
                return request_id, payload
        return None


class RpcHub:
    def __init__(self, polled_recently_s: float = POLLED_RECENTLY_S) -> None:
        #: How long after its last poll a device that polls over HTTP counts as reachable.
        self.polled_recently_s = polled_recently_s
        self._routes: dict[int, Deliver] = {}
        self._ids = itertools.count(1)
        self._waiting: dict[tuple[int, int], asyncio.Future[Any]] = {}
        self._mailboxes: DevicePolls[_Mailbox] = DevicePolls(_Mailbox, nothing=None)

    def attach(self, device_id: int, deliver: Deliver) -> None:
        """A transport now holds this device's connection (replacing any earlier one)."""
        self._routes[device_id] = deliver

    def detach(self, device_id: int, deliver: Deliver) -> None:
        if self._routes.get(device_id) is deliver:
            del self._routes[device_id]

    def is_online(self, device_id: int) -> bool:
        return device_id in self._routes

    def route(self, device_id: int) -> Deliver | None:
        """How requests reach the device's connection now, if one holds it."""
        return self._routes.get(device_id)

    def _polled_route(self, device_id: int, timeout_s: float, oneway: bool) -> Deliver | None:
        """A route into the mailbox of a device that polls over HTTP, if it polled lately."""
        mailbox = self._mailboxes.by_device.get(device_id)
        now = time.monotonic()
        if mailbox is None or not mailbox.reachable(now, self.polled_recently_s):
            return None
        deadline = now + (ONEWAY_KEEP_S if oneway else timeout_s)
        return lambda request_id, payload: mailbox.put(request_id, payload, deadline)

    async def call(
        self, device_id: int, method: str, params: Any, timeout_s: float, oneway: bool
    ) -> Any:
        deliver = self._routes.get(device_id) or self._polled_route(device_id, timeout_s, oneway)
        if deliver is None:
            raise DeviceOffline(
                "the device is not connected over MQTT and has not polled for commands over "
                "HTTP lately; it cannot take commands"
            )
        request_id = next(self._ids)
        payload = orjson.dumps({"method": method, "params": params})
        if oneway:
            if not deliver(request_id, payload):
                raise DeviceOffline("the device has not subscribed to RPC requests")
            return None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[(device_id, request_id)] = future
        try:
            if not deliver(request_id, payload):
                raise DeviceOffline("the device has not subscribed to RPC requests")
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise RpcTimeout(
                f"the device did not answer within {timeout_s:g} s", request_id=request_id
            ) from None
        finally:
            self._waiting.pop((device_id, request_id), None)

    def answer(self, device_id: int, request_id: int, payload: bytes) -> bool:
        """A device's answer; False when nobody waits for it (late, unknown or one-way)."""
        future = self._waiting.get((device_id, request_id))
        if future is None or future.done():
            return False
        future.set_result(_answer_value(payload))
        return True

    async def poll(
        self, device_id: int, timeout_s: float, credential: str | None = None
    ) -> bytes | None:
        """The next request for a device polling over HTTP, as ThingsBoard's HTTP API hands it
        (``{"id": 1, "method": ..., "params": ...}``), or None after ``timeout_s`` (or when
        ``credential``, the token it polls with, was revoked meanwhile).

        One poll per device waits at a time: a newer poll ends the older one (as with nothing
        to hand), so a device cannot hold more than one connection open here."""
        mailbox = self._mailboxes.open(device_id)
        now = time.monotonic()
        mailbox.seen = now
        mailbox.credential = credential
        request = mailbox.take(now)
        if request is None:
            request = await mailbox.wait(timeout_s, nothing=None)
            if request is None:
                return None
        request_id, payload = request
        return orjson.dumps({"id": request_id, **orjson.loads(payload)})

    def forget(self, device_id: int) -> None:
        """The device's credentials were revoked: end its waiting poll, drop its mailbox.
        Safe from any thread."""
        self._mailboxes.forget(device_id)

    def waiting_credentials(self) -> dict[int, str]:
        return self._mailboxes.waiting_credentials()

    def end_poll(self, device_id: int, credential: str) -> bool:
        return self._mailboxes.end_poll(device_id, credential)


def _answer_value(payload: bytes) -> Any:
    """A device's answer as the caller gets it: its JSON value, or its text when it is not
    JSON that can be written again (nesting past orjson's 254 levels, for one)."""
    if not payload:
        return None
    try:
        value = orjson.loads(payload)
        orjson.dumps(value)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return payload.decode("utf-8", "replace")
    return value


class UnknownRpcMethod(NotFoundError):
    code = "unknown_rpc_method"


#: Client-side RPC methods shugu answers itself.
BUILT_IN_METHODS = ("getCurrentTime", "getSessionLimits")


def answer_client_rpc(request: Any, session_limits: dict[str, Any]) -> Any:
    """The answer to a client-side RPC request ``{"method": ..., "params": ...}``.

    ``getCurrentTime``: the server's time in ms since 1970 (for devices without a clock);
    ``getSessionLimits``: what the device may send, as ThingsBoard's SDKs ask on connecting.
    """
    method = request.get("method") if isinstance(request, dict) else None
    if not isinstance(method, str) or not method:
        raise ValidationError(
            'a client-side RPC request is {"method": "getCurrentTime", "params": {}}',
            code="bad_shape",
        )
    if method == "getCurrentTime":
        return time.time_ns() // 1_000_000
    if method == "getSessionLimits":
        return session_limits
    raise UnknownRpcMethod(
        f"shugu answers the client-side RPC methods {', '.join(BUILT_IN_METHODS)}; "
        f"{method[:100]!r} is not one of them"
    )
