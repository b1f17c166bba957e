"""Server-side RPC, as ThingsBoard defines it: shugu asks a device, the device answers.

A request goes to the device on ``v1/devices/me/rpc/request/{id}`` as
``{"method": ..., "params": ...}``; a two-way request waits for the device to publish its answer
on ``v1/devices/me/rpc/response/{id}``. The hub numbers requests per device, hands them to
whichever transport holds the device's connection, and matches answers to waiting callers.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson

from shugu.domain.errors import ShuguError


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


class RpcHub:
    def __init__(self) -> None:
        self._routes: dict[int, Deliver] = {}
        self._ids = itertools.count(1)
        self._waiting: dict[tuple[int, int], asyncio.Future[Any]] = {}

    def attach(self, device_id: int, deliver: Deliver) -> None:
        """A transport now holds this device's connection (replacing any earlier one)."""
        self._routes[device_id] = deliver

    def detach(self, device_id: int, deliver: Deliver) -> None:
        if self._routes.get(device_id) is deliver:
            del self._routes[device_id]

    def is_online(self, device_id: int) -> bool:
        return device_id in self._routes

    async def call(
        self, device_id: int, method: str, params: Any, timeout_s: float, oneway: bool
    ) -> Any:
        deliver = self._routes.get(device_id)
        if deliver is None:
            raise DeviceOffline("the device is not connected over MQTT; it cannot take commands")
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
        try:
            future.set_result(orjson.loads(payload) if payload else None)
        except orjson.JSONDecodeError:
            future.set_result(payload.decode("utf-8", "replace"))
        return True
