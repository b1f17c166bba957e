"""ThingsBoard's MQTT device and gateway API on shugu's ingest door (`ingest/door.py`).

Devices connect with their access token as user name and publish to:
- ``v1/devices/me/telemetry``: ThingsBoard telemetry JSON;
- ``v1/devices/me/attributes``: client attributes (a JSON object); a device subscribed to it
  gets its shared attributes there when the enterprise changes them;
- ``v1/devices/me/attributes/request/{id}``: ask for attributes, answered on
  ``v1/devices/me/attributes/response/{id}``;
- ``v1/devices/me/rpc/response/{id}``: the answer to a server-side RPC request, which shugu sent
  on ``v1/devices/me/rpc/request/{id}``.
A device whose registry entry is a gateway also publishes for the devices behind it, found or
created by name inside the gateway's enterprise: ``v1/gateway/connect``, ``v1/gateway/disconnect``,
``v1/gateway/telemetry``, ``v1/gateway/attributes`` and ``v1/gateway/rpc`` (RPC answers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from shugu.domain.digits import ascii_int
from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ConflictError, ShuguError, UnavailableError, ValidationError
from shugu.domain.profiles import load_profiles
from shugu.ingest.attributes import AttributeService, Push, is_text
from shugu.ingest.codecs import GatewayJson
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.door import IngestDoor, IngestResult
from shugu.ingest.ingest_meter import GATEWAY, MQTT
from shugu.ingest.mqtt.codec import Connect, Publish
from shugu.ingest.mqtt.connection import (
    RC_NOT_AUTHORIZED,
    RC_PAYLOAD_INVALID,
    RC_TOPIC_INVALID,
    MqttConnection,
    Outcome,
)
from shugu.ingest.rpc import Deliver, RpcHub, answer_client_rpc
from shugu.ingest.thingsboard import parse_json
from shugu.store.registry import Registry
from shugu.store.telemetry import IngestStore, RejectRecord

log = logging.getLogger(__name__)

DEVICE_SUBSCRIPTIONS = frozenset(
    {
        "v1/devices/me/rpc/request/+",
        "v1/devices/me/attributes",
        "v1/devices/me/attributes/response/+",
        "v1/devices/me/rpc/response/+",
    }
)
GATEWAY_SUBSCRIPTIONS = frozenset(
    {"v1/gateway/rpc", "v1/gateway/attributes", "v1/gateway/attributes/response"}
)
TELEMETRY = "v1/devices/me/telemetry"
RPC_REQUEST = "v1/devices/me/rpc/request/"
RPC_RESPONSE = "v1/devices/me/rpc/response/"
ATTR_REQUEST = "v1/devices/me/attributes/request/"
ATTR_RESPONSE = "v1/devices/me/attributes/response/"


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """What a client may send, as ThingsBoard SDKs ask for it (``getSessionLimits``)."""

    max_payload_bytes: int
    max_inflight: int


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _outcome(result: IngestResult) -> Outcome:
    if result.accepted == 0 and result.refused > 0:
        return Outcome(RC_PAYLOAD_INVALID, result.reason)
    return Outcome()


class ThingsBoardApp:
    def __init__(
        self,
        registry: Registry,
        door: IngestDoor,
        store: IngestStore,
        rpc: RpcHub,
        limits: SessionLimits,
        attributes: AttributeService | None = None,
        devices: DeviceCache | None = None,
        carriage_changed: Callable[[], None] | None = None,
    ) -> None:
        self._limits = limits
        #: Gateways name their devices in every message: names resolve from a short-lived copy
        #: of the enterprise's directory, which forgets a revoked device at once, not by one
        #: registry query per name (2,000 looms every 5 s held the event loop for a second).
        self._devices = devices or DeviceCache(registry)
        self._attributes = attributes or AttributeService(door, store)
        self._registry = registry
        self._door = door
        self._store = store
        self._rpc = rpc
        #: connection → how RPC requests and shared attributes reach its device
        self._deliverers: dict[MqttConnection, tuple[Deliver, Push]] = {}
        #: gateway connection → names of the devices it connected (for RPC routing)
        self._gateway_devices: dict[MqttConnection, dict[str, int]] = {}
        self._gateway_deliverers: dict[tuple[MqttConnection, int], tuple[Deliver, Push]] = {}
        #: device → the gateway last recorded as carrying it, when it changed in this process
        #: (the cached directory may still show the one before for a few seconds).
        self._carriers: dict[int, int] = {}
        #: Called after a device's gateway is recorded (the monitor regroups its incidents).
        self._carriage_changed = carriage_changed

    # -- connection lifecycle

    def authenticate(self, connect: Connect) -> DeviceRef | None:
        if not connect.username:
            return None
        return self._registry.device_for_token(connect.username)

    def may_subscribe(self, device: DeviceRef, topic_filter: str) -> bool:
        if topic_filter in DEVICE_SUBSCRIPTIONS:
            return True
        return device.is_gateway and topic_filter in GATEWAY_SUBSCRIPTIONS

    def on_connected(self, conn: MqttConnection) -> None:
        device = conn.device
        assert device is not None

        def deliver(request_id: int, payload: bytes) -> bool:
            return conn.send(f"{RPC_REQUEST}{request_id}", payload, qos=1)

        def push(changes: bytes) -> bool:
            return conn.send("v1/devices/me/attributes", changes, qos=1)

        self._deliverers[conn] = (deliver, push)
        self._rpc.attach(device.id, deliver)
        self._attributes.attach(device.id, push)

    def on_disconnected(self, conn: MqttConnection) -> None:
        assert conn.device is not None
        routes = self._deliverers.pop(conn, None)
        if routes is not None:
            self._rpc.detach(conn.device.id, routes[0])
            self._attributes.detach(conn.device.id, routes[1])
        for device_id in self._gateway_devices.pop(conn, {}).values():
            behind = self._gateway_deliverers.pop((conn, device_id), None)
            if behind is not None:
                self._rpc.detach(device_id, behind[0])
                self._attributes.detach(device_id, behind[1])

    def on_refused(self, device: DeviceRef | None, code: str, reason: str) -> None:
        record = RejectRecord(_now_ms(), device.id if device else None, code, reason)
        if device is None:
            # Refused before any device was known (a bad token, no CONNECT in time, garbage):
            # anyone can cause these as fast as they can connect, so they are tallied in
            # memory and written at most once a second with exact counts, as the HTTP device
            # API does (ingest/refusal_tally.py).
            self._door.refusals.add(record)
            return
        self._door.record_refusal_nowait(record)

    # -- publishes

    def on_publish(self, conn: MqttConnection, pub: Publish) -> Awaitable[Outcome]:
        device = conn.device
        assert device is not None
        if pub.topic == TELEMETRY:
            # Most messages: decoded now and joined to the loop turn's commit; what comes back
            # is a future settled with the others of that commit, not a task of its own.
            try:
                decoded = self._door.device_json(device).decode(pub.payload)
            except ShuguError as exc:
                return self._refuse(device, exc.code, exc.message, RC_PAYLOAD_INVALID)
            return self._telemetry_outcome(device, self._door.ingest(decoded, MQTT))
        # Captured now, before this publish's own work is queued: a request that reads what
        # the device wrote (attributes) waits for the connection's earlier publishes first.
        earlier = conn.earlier_work if pub.topic.startswith(ATTR_REQUEST) else []
        return self._on_publish(conn, pub, earlier)

    async def _on_publish(
        self, conn: MqttConnection, pub: Publish, earlier: list[asyncio.Future[Outcome]]
    ) -> Outcome:
        device = conn.device
        assert device is not None
        topic = pub.topic
        try:
            if topic == "v1/devices/me/attributes":
                return await self._store_attributes(device, parse_json(pub.payload))
            if topic.startswith(ATTR_REQUEST):
                if not all(work.done() for work in earlier):
                    await asyncio.wait(earlier)
                return await self._answer_attributes(
                    conn, device, topic[len(ATTR_REQUEST) :], pub.payload
                )
            if topic.startswith(RPC_RESPONSE):
                return self._rpc_answer(device.id, topic[len(RPC_RESPONSE) :], pub.payload)
            if topic.startswith(RPC_REQUEST):
                reply = self._client_rpc(pub.payload)
                conn.send(f"{RPC_RESPONSE}{topic[len(RPC_REQUEST) :]}", reply, qos=0)
                return Outcome()
            if topic.startswith("v1/gateway/"):
                if not device.is_gateway:
                    return await self._refuse(
                        device,
                        "not_a_gateway",
                        "this device is not registered as a gateway",
                        RC_NOT_AUTHORIZED,
                    )
                return await self._gateway(conn, device, topic, pub.payload)
        except UnavailableError:
            # Not the message's fault, and not durable: the connection withholds the PUBACK.
            # Answered as a refusal, a QoS 1 message would be acknowledged and lost.
            raise
        except ShuguError as exc:
            return await self._refuse(device, exc.code, exc.message, RC_PAYLOAD_INVALID)
        return await self._refuse(
            device, "unknown_topic", f"shugu takes no messages on {topic[:200]!r}", RC_TOPIC_INVALID
        )

    def _telemetry_outcome(
        self, device: DeviceRef, ingest: Awaitable[IngestResult]
    ) -> asyncio.Future[Outcome]:
        """The MQTT outcome of an ingest, as a future settled by a callback rather than a task."""
        ingested = asyncio.ensure_future(ingest)
        outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        def settle(done: asyncio.Future[IngestResult]) -> None:
            if outcome.done():
                return
            if done.cancelled():
                outcome.cancel()
                return
            failure = done.exception()
            if failure is None:
                outcome.set_result(_outcome(done.result()))
            elif isinstance(failure, ShuguError) and not isinstance(failure, UnavailableError):
                # Refused, not lost (an UnavailableError withholds the acknowledgement).
                record = RejectRecord(_now_ms(), device.id, failure.code, failure.message)
                self._door.record_refusal_nowait(record)
                outcome.set_result(Outcome(RC_PAYLOAD_INVALID, failure.message))
            else:
                outcome.set_exception(failure)

        ingested.add_done_callback(settle)
        return outcome

    async def _refuse(self, device: DeviceRef, code: str, reason: str, rc: int) -> Outcome:
        await self._door.record_refusal(RejectRecord(_now_ms(), device.id, code, reason))
        return Outcome(rc, reason)

    def _client_rpc(self, payload: bytes) -> bytes:
        """Client-side RPC, answered at once by shugu's built-in methods (``ingest.rpc``); any
        other method gets an error rather than being left waiting."""
        request = parse_json(payload) if payload.strip() else None
        limits = {
            "maxPayloadSize": self._limits.max_payload_bytes,
            "maxInflightMessages": self._limits.max_inflight,
            "rateLimits": {},
        }
        try:
            return orjson.dumps(answer_client_rpc(request, limits))
        except ShuguError as exc:
            return orjson.dumps({"error": exc.message})

    # -- attributes

    async def _store_attributes(self, device: DeviceRef, doc: Any) -> Outcome:
        written = await self._attributes.store_client(device, doc)
        if written.refusals and not written.stored:
            return Outcome(RC_PAYLOAD_INVALID, written.refusals[0].reason)
        return Outcome()

    async def _answer_attributes(
        self, conn: MqttConnection, device: DeviceRef, request_id: str, payload: bytes
    ) -> Outcome:
        doc = parse_json(payload) if payload.strip() else None
        if not isinstance(doc, dict):
            doc = {}
        answer = await self._attributes.request(
            device.id, doc.get("clientKeys"), doc.get("sharedKeys")
        )
        conn.send(f"{ATTR_RESPONSE}{request_id}", orjson.dumps(answer), qos=1)
        return Outcome()

    # -- RPC answers

    def _rpc_answer(self, device_id: int, request_id: str, payload: bytes) -> Outcome:
        number = ascii_int(request_id)
        if number is None or not self._rpc.answer(device_id, number, payload):
            log.info(
                "RPC answer %r from device %d matches no waiting request", request_id, device_id
            )
        return Outcome()

    # -- gateway API

    def _device_behind(
        self, gateway: DeviceRef, name: str, profile: str = "generic"
    ) -> DeviceRef | None:
        if not isinstance(name, str) or not name.strip() or not is_text(name):
            return None
        found = self._devices.by_name(gateway.enterprise_id, name)
        if found is not None:
            self._carried_by(found, gateway)
            return found
        if profile not in load_profiles():
            profile = "generic"
        try:
            self._registry.create_device(gateway.enterprise_id, name, profile)
        except ConflictError:
            pass  # created meanwhile by another connection
        except ShuguError as exc:
            log.info("gateway %d could not create device %r: %s", gateway.id, name, exc.message)
            return None
        created = self._registry.device_ref_by_name(gateway.enterprise_id, name)
        if created is not None:
            self._carried_by(created, gateway)
            self._devices.names_of(gateway.enterprise_id, fresh=True)
        return created

    def _carried_by(self, device: DeviceRef, gateway: DeviceRef) -> None:
        """Record that ``gateway`` carries ``device``: on first sight and when it moves to
        another gateway, one registry write; every other message costs a dictionary lookup."""
        if (
            device.id == gateway.id
            or self._carriers.get(device.id, device.gateway_id) == gateway.id
        ):
            return
        try:
            changed = self._registry.set_device_gateway(device.id, gateway.id)
        except ShuguError as exc:
            log.info("gateway %d carries device %d, not recorded: %s", gateway.id, device.id, exc)
            return
        self._carriers[device.id] = gateway.id
        if changed and self._carriage_changed is not None:
            self._carriage_changed()

    async def _gateway(
        self, conn: MqttConnection, gateway: DeviceRef, topic: str, payload: bytes
    ) -> Outcome:
        doc = parse_json(payload)
        if topic == "v1/gateway/telemetry":
            codec = GatewayJson(
                lambda name: self._connected_behind(conn, gateway, name), self._door.decoders
            )
            return _outcome(await self._door.ingest(codec.decode_document(doc), GATEWAY))
        if topic == "v1/gateway/attributes":
            if not isinstance(doc, dict):
                raise ValidationError(
                    "gateway attributes map device names to objects", code="bad_shape"
                )
            outcomes = []
            for name, attrs in doc.items():
                device = self._connected_behind(conn, gateway, name)
                if device is None:
                    outcome = await self._refuse(
                        gateway,
                        "unknown_device",
                        f"no device named {name[:200]!r} can be found or created",
                        RC_PAYLOAD_INVALID,
                    )
                elif not isinstance(attrs, dict):
                    outcome = await self._refuse(
                        device,
                        "bad_shape",
                        "a device's attributes are a JSON object of keys and values",
                        RC_PAYLOAD_INVALID,
                    )
                else:
                    outcome = await self._store_attributes(device, attrs)
                outcomes.append(outcome)
            if outcomes and all(o.code for o in outcomes):
                return outcomes[0]
            return Outcome()
        if topic in ("v1/gateway/connect", "v1/gateway/disconnect"):
            if not isinstance(doc, dict) or not isinstance(doc.get("device"), str):
                raise ValidationError('expected {"device": "name"}', code="bad_shape")
            name = doc["device"]
            device_type = doc.get("type")
            device = self._device_behind(
                gateway, name, device_type if isinstance(device_type, str) else "generic"
            )
            if device is None:
                raise ValidationError(
                    f"no device named {name!r} can be found or created", code="unknown_device"
                )
            if topic.endswith("connect") and not topic.endswith("disconnect"):
                self._attach_behind(conn, device)
            else:
                self._detach_behind(conn, device)
            return Outcome()
        if topic == "v1/gateway/rpc":
            return self._gateway_rpc_answer(gateway, doc)
        return await self._refuse(
            gateway,
            "unknown_topic",
            f"shugu takes no messages on {topic[:200]!r}",
            RC_TOPIC_INVALID,
        )

    def _gateway_rpc_answer(self, gateway: DeviceRef, doc: Any) -> Outcome:
        name = doc.get("device") if isinstance(doc, dict) else None
        request_id = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(name, str) or not is_text(name) or type(request_id) is not int:
            raise ValidationError(
                'a gateway RPC answer is {"device": "name", "id": request id, "data": ...}',
                code="bad_shape",
            )
        try:
            answer = orjson.dumps(doc.get("data"))
        except orjson.JSONEncodeError as exc:
            raise ValidationError(
                f"the RPC answer cannot be kept as JSON: {exc}", code="bad_shape"
            ) from None
        device = self._registry.device_ref_by_name(gateway.enterprise_id, name)
        if device is None or not self._rpc.answer(device.id, request_id, answer):
            log.info(
                "gateway RPC answer %r for %r matches no waiting request", request_id, name[:200]
            )
        return Outcome()

    def _connected_behind(
        self, conn: MqttConnection, gateway: DeviceRef, name: str
    ) -> DeviceRef | None:
        """The device of a name behind this gateway, connected in this session if it was not.

        A gateway that reconnects (after a restart of shugu, or a network cut) does not announce
        again the devices it already knows; it just sends their data. Data for a device is an
        implicit ``v1/gateway/connect``, as in ThingsBoard, so commands reach it again.
        """
        device = self._device_behind(gateway, name)
        if device is not None and (conn, device.id) not in self._gateway_deliverers:
            self._attach_behind(conn, device)
        return device

    def _attach_behind(self, conn: MqttConnection, device: DeviceRef) -> None:
        def deliver(request_id: int, payload: bytes) -> bool:
            data = orjson.loads(payload)
            data["id"] = request_id
            message = orjson.dumps({"device": device.name, "data": data})
            return conn.send("v1/gateway/rpc", message, qos=1)

        def push(changes: bytes) -> bool:
            message = b'{"device":' + orjson.dumps(device.name) + b',"data":' + changes + b"}"
            return conn.send("v1/gateway/attributes", message, qos=1)

        self._gateway_devices.setdefault(conn, {})[device.name] = device.id
        self._gateway_deliverers[(conn, device.id)] = (deliver, push)
        self._rpc.attach(device.id, deliver)
        self._attributes.attach(device.id, push)

    def _detach_behind(self, conn: MqttConnection, device: DeviceRef) -> None:
        self._gateway_devices.get(conn, {}).pop(device.name, None)
        routes = self._gateway_deliverers.pop((conn, device.id), None)
        if routes is not None:
            self._rpc.detach(device.id, routes[0])
            self._attributes.detach(device.id, routes[1])
