"""RPC requests and shared-attribute changes reach the process holding the device's connection.

The API and the console run in main; a device's MQTT connection may be held by a front. So a
front tells main when a device's connection comes and goes (``FrontRpc``, a front's RPC hub
that announces what the ThingsBoard app attaches), and main attaches, for that device, routes
that send over the channel (``MainRoutes``): an RPC request or an attribute change then goes to
the front, which hands it to the device's connection, and the device's answer comes back to
main's waiting caller. Requests are numbered by main's hub alone, so answers need no mapping.

A device's attribute request (``v1/devices/me/attributes/request/…``) on a front is asked of main
(``FrontAttributes``), whose store holds the attributes, so a device gets the same answer on any
process. The connection's earlier writes were acknowledged after main's commit, so main's answer
includes them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from shugu.domain.errors import ShuguError, UnavailableError
from shugu.front import wire
from shugu.ingest.attributes import AttributeService
from shugu.ingest.door import IngestDoor
from shugu.ingest.rpc import Deliver, RpcHub
from shugu.store.telemetry import IngestStore

log = logging.getLogger(__name__)

#: Sends one frame to the other side: kind, number, payload.
Send = Callable[[int, int, bytes], None]


class FrontRpc(RpcHub):
    """A front's RPC hub: routes as usual, and every change of route told to main; answers
    go to main, whose hub numbered the requests."""

    def __init__(self, send: Send) -> None:
        super().__init__()
        self._send = send

    def attach(self, device_id: int, deliver: Deliver) -> None:
        super().attach(device_id, deliver)
        self._send(wire.DEVICE, 1, wire.for_device(device_id, b""))

    def detach(self, device_id: int, deliver: Deliver) -> None:
        if self.route(device_id) is deliver:
            super().detach(device_id, deliver)
            self._send(wire.DEVICE, 0, wire.for_device(device_id, b""))

    def answer(self, device_id: int, request_id: int, payload: bytes) -> bool:
        self._send(wire.RPC_ANSWER, request_id, wire.for_device(device_id, payload))
        return True

    def deliver_from_main(self, request_id: int, payload: bytes) -> None:
        """An RPC request main sent for a device this front holds."""
        device_id, body = wire.device_and_body(payload)
        deliver = self.route(device_id)
        if deliver is None or not deliver(request_id, body):
            log.info("RPC request %d for device %d: its connection is gone", request_id, device_id)


#: Asks main a question over the channel: kind, payload → the answer's payload.
Ask = Callable[[int, bytes], Awaitable[bytes]]


class FrontAttributes(AttributeService):
    """A front's attribute service: a device's attribute request is answered from main's store."""

    def __init__(self, door: IngestDoor, store: IngestStore, ask: Ask) -> None:
        super().__init__(door, store)
        self._ask = ask

    async def request(
        self, device_id: int, client_keys: Any, shared_keys: Any
    ) -> dict[str, dict[str, Any]]:
        keys = orjson.dumps({"clientKeys": client_keys, "sharedKeys": shared_keys})
        answer = wire.from_json(
            await self._ask(wire.ATTRIBUTES_ASK, wire.for_device(device_id, keys))
        )
        if not isinstance(answer, dict) or "error" in answer:
            message = answer.get("error") if isinstance(answer, dict) else None
            raise UnavailableError(
                str(message or "main did not answer the attribute request"),
                code="store_unavailable",
            )
        return answer


def push_from_main(attributes: AttributeService, payload: bytes) -> None:
    """Shared-attribute changes main sent for a device this front holds."""
    device_id, changes = wire.device_and_body(payload)
    push = attributes.pushing(device_id)
    if push is not None:
        push(changes)


class MainRoutes:
    """Main's side: for each device held by a front, routes into main's RPC hub and attribute
    service that send over that front's channel."""

    def __init__(self, rpc: RpcHub, attributes: AttributeService) -> None:
        self._rpc = rpc
        self._attributes = attributes
        #: (front, device) → its attached routes.
        self._held: dict[tuple[object, int], tuple[Deliver, Callable[[bytes], bool]]] = {}

    def on_frame(self, front: object, send: Send, kind: int, number: int, payload: bytes) -> None:
        device_id, body = wire.device_and_body(payload)
        if kind == wire.RPC_ANSWER:
            self._rpc.answer(device_id, number, body)
        elif kind == wire.ATTRIBUTES_ASK:
            send(wire.ATTRIBUTES_ANSWER, number, self._answer_attributes(device_id, body))
        elif number:
            self._attach(front, send, device_id)
        else:
            self._detach(front, device_id)

    def _answer_attributes(self, device_id: int, body: bytes) -> bytes:
        keys = wire.from_json(body)
        if not isinstance(keys, dict):
            raise wire.ChannelError("an attribute request without its keys")
        try:
            answer = self._attributes.read(
                device_id, keys.get("clientKeys"), keys.get("sharedKeys")
            )
        except ShuguError as exc:
            return wire.json_payload({"error": exc.message})
        return wire.json_payload(answer)

    def _attach(self, front: object, send: Send, device_id: int) -> None:
        def deliver(request_id: int, payload: bytes) -> bool:
            send(wire.RPC_REQUEST, request_id, wire.for_device(device_id, payload))
            return True

        def push(changes: bytes) -> bool:
            send(wire.ATTRIBUTES_PUSH, 0, wire.for_device(device_id, changes))
            return True

        self._detach(front, device_id)
        self._held[(front, device_id)] = (deliver, push)
        self._rpc.attach(device_id, deliver)
        self._attributes.attach(device_id, push)

    def _detach(self, front: object, device_id: int) -> None:
        routes = self._held.pop((front, device_id), None)
        if routes is not None:
            self._rpc.detach(device_id, routes[0])
            self._attributes.detach(device_id, routes[1])

    def front_gone(self, front: object) -> None:
        for key in [k for k in self._held if k[0] is front]:
            self._detach(front, key[1])
