"""Bridge mode: consume device telemetry from an external MQTT broker (EMQX, Mosquitto …).

For clusters, devices publish to the broker on ``shugu/v1/{enterprise}/{device}/telemetry``
(``{enterprise}``: the enterprise's id or unified social credit code; ``{device}``: the device's
name) with ThingsBoard telemetry JSON. Each shugu worker subscribes with an MQTT 5 shared
subscription (``$share/{group}/shugu/v1/+/+/telemetry``), so the broker spreads the messages
over the workers and ingest scales out. The session is persistent (fixed client id, clean start
off, long session expiry): while a worker restarts, the broker keeps its messages.

Messages are acknowledged by hand, only after their points are durable: a worker killed
mid-stream leaves its unacknowledged messages with the broker, which delivers them again when
the worker's session resumes. Messages from unknown enterprises or devices, or on other topics,
are refused, counted in the rejects log, and acknowledged (sending them again cannot help).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from concurrent.futures import Future

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ShuguError, UnavailableError, ValidationError
from shugu.ingest.columns import Decoded
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.door import IngestDoor, now_ms
from shugu.ingest.ingest_meter import BROKER
from shugu.store.registry import Registry
from shugu.store.telemetry import RejectRecord

log = logging.getLogger(__name__)

TOPIC_PREFIX = "shugu/v1/"
#: How many unacknowledged messages the broker may have in flight to one worker.
RECEIVE_MAXIMUM = 1000
#: Back-off while the store refuses writes.
_RETRY_MIN_S = 0.5
_RETRY_MAX_S = 10.0
#: Keep the session a week while the worker is away.
SESSION_EXPIRY_S = 7 * 24 * 3600
#: Longest wait between reconnect attempts (paho doubles from 1 s up to this).
RECONNECT_MAX_DELAY_S = 5


def parse_broker_url(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """mqtt://[user[:password]@]host[:port] or mqtts://… → (host, port, tls, user, password)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parsed.hostname:
        raise ValidationError(
            f"broker URL must look like mqtt://host:1883 or mqtts://host:8883; got {url!r}",
            code="bad_broker_url",
            field="broker",
        )
    tls = parsed.scheme in ("mqtts", "ssl")
    port = parsed.port or (8883 if tls else 1883)
    user = urllib.parse.unquote(parsed.username) if parsed.username else None
    password = urllib.parse.unquote(parsed.password) if parsed.password else None
    return parsed.hostname, port, tls, user, password


class BrokerBridge:
    def __init__(
        self,
        url: str,
        client_id: str,
        registry: Registry,
        door: IngestDoor,
        devices: DeviceCache,
        group: str = "shugu",
    ) -> None:
        self._host, self._port, tls, user, password = parse_broker_url(url)
        self._registry = registry
        self._door = door
        self._devices = devices
        self.subscription = f"$share/{group}/{TOPIC_PREFIX}+/+/telemetry"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = False
        self._stopping = False
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if user is not None:
            self.client.username_pw_set(user, password)
        if tls:
            self.client.tls_set()
        # A short ceiling: a broker that restarts without restoring shared subscriptions
        # (Mosquitto 2.0 persists only ordinary ones) drops what devices publish until a worker
        # subscribes again, so the wait after it is back must stay short (≤ 5 s, not 30 s).
        self.client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_DELAY_S)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._enterprise_by_key: dict[str, int] = {}

    # -- lifecycle (called on the event loop)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(
            self._host, self._port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected

    # -- paho callbacks (paho's network thread)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: object,
        properties: object,
    ) -> None:
        code = getattr(reason, "value", reason)
        if code != 0:
            log.error("broker %s:%d refused the connection: %s", self._host, self._port, reason)
            return
        self._connected = True
        log.info(
            "connected to broker %s:%d (session %s)",
            self._host,
            self._port,
            "resumed" if flags.session_present else "new",
        )
        client.subscribe(self.subscription, qos=1)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        if self._connected and not self._stopping:
            log.warning("lost the broker %s:%d: %s; reconnecting", self._host, self._port, reason)
        self._connected = False

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        assert self._loop is not None
        future: Future[None] = asyncio.run_coroutine_threadsafe(self._handle(message), self._loop)
        future.add_done_callback(lambda f: self._log_failure(f, message.topic))

    @staticmethod
    def _log_failure(future: Future[None], topic: str) -> None:
        exc = future.exception()
        if exc is not None and not isinstance(exc, UnavailableError):
            log.error("bridge message on %s failed", topic, exc_info=exc)

    # -- handling (event loop)

    async def _handle(self, message: paho.MQTTMessage) -> None:
        device = self._device_of(message.topic)
        if device is None:
            await self._door.record_refusal(
                RejectRecord(
                    now_ms(),
                    None,
                    "unknown_device",
                    "the topic names no known enterprise and device",
                    sample=message.topic[:200],
                )
            )
            self._ack(message)
            return
        try:
            decoded = self._door.device_json(device).decode(bytes(message.payload))
        except ShuguError as exc:
            await self._door.record_refusal(
                RejectRecord(now_ms(), device.id, exc.code, exc.message)
            )
            self._ack(message)
            return
        await self._store_until_durable(decoded)
        self._ack(message)

    async def _store_until_durable(self, decoded: Decoded) -> None:
        """Store the message's points, waiting out a store that refuses writes (a full disk);
        the door holds them while the backlog is full. Meanwhile the message stays
        unacknowledged: the broker sends at most RECEIVE_MAXIMUM such messages, and delivers
        them again if this worker dies waiting."""
        delay = _RETRY_MIN_S
        while not self._stopping:
            try:
                await self._door.ingest(decoded, BROKER)
                return
            except UnavailableError as exc:
                if delay == _RETRY_MIN_S:
                    log.warning("holding broker messages until the store takes them: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
        raise UnavailableError("the worker is stopping", code="worker_stopping")

    def _ack(self, message: paho.MQTTMessage) -> None:
        if message.qos:
            self.client.ack(message.mid, message.qos)

    def _device_of(self, topic: str) -> DeviceRef | None:
        if not topic.startswith(TOPIC_PREFIX):
            return None
        parts = topic[len(TOPIC_PREFIX) :].split("/")
        if len(parts) != 3 or parts[2] != "telemetry":
            return None
        enterprise_id = self._enterprise(parts[0])
        if enterprise_id is None:
            return None
        return self._devices.by_name(enterprise_id, parts[1])

    def _enterprise(self, key: str) -> int | None:
        cached = self._enterprise_by_key.get(key)
        if cached is not None:
            return cached
        found: int | None = None
        if key.isdigit():
            try:
                found = self._registry.get_enterprise(int(key)).id
            except ShuguError:
                found = None
        else:
            found = next(
                (e.id for e in self._registry.list_enterprises() if e.uscc == key.upper()), None
            )
        if found is not None:  # unknown keys are asked again: the enterprise may be new
            self._enterprise_by_key[key] = found
        return found
