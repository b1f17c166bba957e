"""One MQTT client connection: framing, the protocol state machine, ordered acknowledgements.

What a publish means is the application's business (``MqttApplication``); this module makes the
protocol right: CONNECT first and within a time limit, keep-alive, QoS 0/1/2, acknowledgements
only after the application says the message is durable and in the order the messages came
(MQTT-4.6.0-2), bounded in-flight work with back-pressure, and a clean close on malformed input.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import UnavailableError
from shugu.domain.logthrottle import ThrottledLog
from shugu.ingest.mqtt import codec
from shugu.ingest.mqtt.codec import (
    MQTT_5,
    Connect,
    MalformedPacket,
    PacketTooLarge,
    ProtocolViolation,
    Publish,
)
from shugu.ingest.mqtt.session import Session

if TYPE_CHECKING:
    from shugu.ingest.mqtt.server import MqttEndpoint

log = logging.getLogger(__name__)
#: While the store refuses writes every publish is refused: one line per interval says so.
_refusal_log = ThrottledLog(log)

# MQTT 5 reason codes used here.
#: Publishes a connection may have waiting while the store is congested (see _inflight_limit).
CONGESTED_INFLIGHT = 8

RC_SUCCESS = 0x00
RC_UNSPECIFIED = 0x80
RC_MALFORMED = 0x81
RC_PROTOCOL_ERROR = 0x82
RC_UNSUPPORTED_VERSION = 0x84
RC_CLIENT_ID_INVALID = 0x85
RC_NOT_AUTHORIZED = 0x87
RC_SERVER_UNAVAILABLE = 0x88
RC_SERVER_BUSY = 0x89
RC_KEEP_ALIVE_TIMEOUT = 0x8D
RC_TAKEN_OVER = 0x8E
RC_TOPIC_INVALID = 0x90
RC_PACKET_ID_NOT_FOUND = 0x92
RC_PACKET_TOO_LARGE = 0x95
RC_PAYLOAD_INVALID = 0x99

# MQTT 3.1.1 CONNACK return codes.
V3_UNACCEPTABLE_VERSION = 1
V3_IDENTIFIER_REJECTED = 2
V3_SERVER_UNAVAILABLE = 3
V3_NOT_AUTHORIZED = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a publish: MQTT 5 reason code (0 = stored) and a reason for people."""

    code: int = RC_SUCCESS
    reason: str | None = None


class MqttApplication(Protocol):
    def authenticate(self, connect: Connect) -> DeviceRef | None: ...

    def may_subscribe(self, device: DeviceRef, topic_filter: str) -> bool: ...

    def on_publish(self, conn: MqttConnection, publish: Publish) -> Awaitable[Outcome]: ...

    def on_connected(self, conn: MqttConnection) -> None: ...

    def on_disconnected(self, conn: MqttConnection) -> None: ...

    def on_refused(self, device: DeviceRef | None, code: str, reason: str) -> None: ...


class MqttConnection(asyncio.Protocol):
    def __init__(self, endpoint: MqttEndpoint) -> None:
        self.endpoint = endpoint
        self.app = endpoint.app
        self.level = codec.MQTT_311
        self.device: DeviceRef | None = None
        #: The user name (the device's access token) it authenticated with; re-checked
        #: periodically by the endpoint, so that a revocation made elsewhere ends the session.
        self.credential: str | None = None
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._closing = False
        self._keep_alive = 0.0
        self._last_rx = 0.0
        self._timer: asyncio.TimerHandle | None = None
        #: Publishes not yet acknowledged, in the order they came, each with its work.
        self._unacked: deque[tuple[Publish, asyncio.Future[Outcome]]] = deque()
        self._inflight = 0
        self._paused = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._authenticating = False
        #: The client address this connection is counted under ("": not counted).
        self._address_key = ""

    @property
    def earlier_work(self) -> list[asyncio.Future[Outcome]]:
        """The work of the publishes received on this connection and not yet acknowledged."""
        return [work for _, work in self._unacked]

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        key = self.endpoint.admit(transport.get_extra_info("peername"))
        if key is None:
            # Over its address's limit: closed before anything is read (see server.py).
            self._closing = True
            self.transport.close()
            return
        self._address_key = key
        loop = asyncio.get_running_loop()
        self._last_rx = loop.time()
        self._timer = loop.call_later(self.endpoint.connect_timeout_s, self._connect_deadline)
        self.endpoint.connections.add(self)

    def data_received(self, data: bytes) -> None:
        # Not a sign of life by itself: keep-alive counts whole packets (see _drain), so that a
        # client dribbling a packet one byte at a time is still timed out.
        self._buf += data
        self._process()

    def _process(self) -> None:
        try:
            self._drain()
        except ProtocolViolation as exc:
            self._refuse_stream("protocol_error", exc.reason, RC_PROTOCOL_ERROR)
        except MalformedPacket as exc:
            self._refuse_stream("malformed_packet", exc.reason, RC_MALFORMED)
        except PacketTooLarge as exc:
            self._refuse_stream(
                "payload_too_large",
                f"packet of {exc.size} bytes; the limit is {self.endpoint.max_packet_bytes}",
                RC_PACKET_TOO_LARGE,
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        self.endpoint.connections.discard(self)
        if self._address_key:
            self.endpoint.release_address(self._address_key)
            self._address_key = ""
        if self.device is not None and self.session is not None:
            self.endpoint.release(self)
            self.app.on_disconnected(self)

    # -- framing and dispatch

    def _drain(self) -> None:
        # While a CONNECT is being authenticated, or too many publishes wait for the store,
        # later packets wait in the buffer: what one connection holds stays bounded even when
        # a single read brought hundreds of packets.
        while not self._closing and not self._authenticating and not self._paused:
            frame = codec.split_frame(self._buf, self.endpoint.max_packet_bytes)
            if frame is None:
                return
            first, header, total = frame
            body = bytes(self._buf[header:total])
            del self._buf[:total]
            self._last_rx = asyncio.get_running_loop().time()
            self._dispatch(first >> 4, first & 0x0F, body)

    def _dispatch(self, kind: int, flags: int, body: bytes) -> None:
        if self.session is None:
            if kind != codec.CONNECT:
                raise ProtocolViolation("the first packet must be CONNECT")
            self._on_connect(body)
            return
        if kind == codec.PUBLISH:
            self._on_publish(codec.parse_publish(flags, body, self.level))
        elif kind == codec.PUBACK:
            self.session.unacked.pop(codec.parse_packet_id(body), None)
        elif kind == codec.PUBREL:
            self._on_pubrel(codec.parse_packet_id(body))
        elif kind in (codec.PUBREC, codec.PUBCOMP):
            # shugu sends at QoS 0 and 1 only; tolerate stray acknowledgements.
            pass
        elif kind == codec.SUBSCRIBE:
            self._on_subscribe(codec.parse_subscribe(flags, body, self.level))
        elif kind == codec.UNSUBSCRIBE:
            unsub = codec.parse_unsubscribe(flags, body, self.level)
            codes = [
                RC_SUCCESS if self.session.subscriptions.pop(f, None) is not None else 0x11
                for f in unsub.filters
            ]
            self.write(codec.unsuback(unsub.packet_id, codes, self.level))
        elif kind == codec.PINGREQ:
            self.write(codec.PINGRESP_PACKET)
        elif kind == codec.DISCONNECT:
            self.close()
        elif kind == codec.CONNECT:
            raise ProtocolViolation("a second CONNECT on one connection")
        else:
            if kind == 0:
                raise MalformedPacket("packet type 0 is reserved")
            raise ProtocolViolation(f"packet type {kind} is not for a server")

    # -- CONNECT

    def _on_connect(self, body: bytes) -> None:
        if len(body) >= 7:
            # The level byte follows the protocol name; read it first so errors use its dialect.
            name_len = (body[0] << 8) | body[1]
            if len(body) > 2 + name_len:
                self.level = MQTT_5 if body[2 + name_len] == MQTT_5 else codec.MQTT_311
        connect = codec.parse_connect(body)
        if connect.protocol_level not in (3, codec.MQTT_311, MQTT_5):
            self.app.on_refused(
                None,
                "unsupported_protocol",
                f"MQTT protocol level {connect.protocol_level}; shugu speaks 3.1, 3.1.1 and 5",
            )
            self.level = codec.MQTT_311
            self.write(codec.connack(self.level, False, V3_UNACCEPTABLE_VERSION))
            self.close()
            return
        client_id = connect.client_id
        assigned = None
        if not client_id:
            if self.level != MQTT_5 and not connect.clean_start:
                self.app.on_refused(
                    None, "client_id_rejected", "an empty client id needs a clean session"
                )
                self._refuse_connect(V3_IDENTIFIER_REJECTED, RC_CLIENT_ID_INVALID)
                return
            client_id = assigned = "shugu-" + secrets.token_hex(8)
        # The registry lookup may go to the database (a token not in the cache): do it off the
        # event loop, so that a storm of reconnecting devices does not stall everyone else.
        self._authenticating = True
        assert self.transport is not None
        self.transport.pause_reading()
        task = asyncio.ensure_future(self._authenticate(connect, client_id, assigned))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _authenticate(self, connect: Connect, client_id: str, assigned: str | None) -> None:
        try:
            device = await asyncio.to_thread(self.app.authenticate, connect)
        except Exception:
            log.exception("authenticating an MQTT connection failed")
            self._refuse_connect(V3_SERVER_UNAVAILABLE, RC_SERVER_UNAVAILABLE)
            return
        if self._closing:
            return
        if device is not None and self.endpoint.session_home is not None:
            try:
                await self.endpoint.resume(device.id, client_id, connect.clean_start)
            except UnavailableError as exc:
                log.warning("cannot fetch the MQTT session of device %d: %s", device.id, exc)
                self._refuse_connect(V3_SERVER_UNAVAILABLE, RC_SERVER_UNAVAILABLE)
                return
            if self._closing:
                return
        self._accept(connect, client_id, assigned, device)
        self._authenticating = False
        if self.transport is not None and not self._closing:
            self.transport.resume_reading()
            self._process()

    def _accept(
        self, connect: Connect, client_id: str, assigned: str | None, device: DeviceRef | None
    ) -> None:
        if device is None:
            self.app.on_refused(
                None, "bad_device_token", "MQTT CONNECT with an unknown access token"
            )
            self._refuse_connect(V3_NOT_AUTHORIZED, RC_NOT_AUTHORIZED)
            return
        self.device = device
        self.credential = connect.username
        self.session, present = self.endpoint.take_session(
            self, device.id, client_id, connect.clean_start
        )
        props: codec.Properties = {}
        if self.level == MQTT_5:
            props = {
                codec.PROP_RECEIVE_MAXIMUM: self.endpoint.max_inflight,
                codec.PROP_MAXIMUM_PACKET_SIZE: self.endpoint.max_packet_bytes,
                codec.PROP_RETAIN_AVAILABLE: 0,
                codec.PROP_SHARED_SUB_AVAILABLE: 0,
                codec.PROP_SUB_ID_AVAILABLE: 0,
            }
            if assigned:
                props[codec.PROP_ASSIGNED_CLIENT_ID] = assigned
        self.write(codec.connack(self.level, present, 0, props))
        if self._timer is not None:
            self._timer.cancel()
        self._keep_alive = float(connect.keep_alive)
        if self._keep_alive:
            self._schedule_keep_alive()
        self.app.on_connected(self)
        for packet_id, (topic, payload) in list(self.session.unacked.items()):
            self.write(codec.publish(topic, payload, 1, packet_id, self.level, dup=True))

    def _refuse_connect(self, v3_code: int, v5_code: int) -> None:
        code = v5_code if self.level == MQTT_5 else v3_code
        self.write(codec.connack(self.level, False, code))
        self.close()

    def _connect_deadline(self) -> None:
        if self.session is None and not self._closing:
            log.info("closing a connection that sent no CONNECT in time")
            self.app.on_refused(
                None,
                "connect_timeout",
                f"no CONNECT within {self.endpoint.connect_timeout_s:g} s of connecting",
            )
            self.close()

    def _schedule_keep_alive(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._keep_alive * 0.5, self._check_keep_alive)

    def _check_keep_alive(self) -> None:
        if self._closing:
            return
        if self._paused or self._authenticating:
            # shugu is not reading this client now; it cannot be late meanwhile.
            self._last_rx = asyncio.get_running_loop().time()
        elif asyncio.get_running_loop().time() - self._last_rx > self._keep_alive * 1.5:
            self.write(codec.disconnect(self.level, RC_KEEP_ALIVE_TIMEOUT))
            self.close()
            return
        self._schedule_keep_alive()

    # -- PUBLISH

    def _on_publish(self, pub: Publish) -> None:
        assert self.session is not None
        if pub.qos == 2 and pub.packet_id in self.session.awaiting_release:
            # A resend of a QoS 2 message already stored: acknowledge, never store twice.
            self.write(codec.ack(codec.PUBREC, pub.packet_id, self.level))
            return
        try:
            # A future as it is (a telemetry message's place in the next commit); a coroutine
            # becomes a task. Either way no task per message is needed to wait for it.
            work: asyncio.Future[Outcome] = asyncio.ensure_future(self.app.on_publish(self, pub))
        except Exception as exc:  # noqa: BLE001 - settled below like any failed work
            work = asyncio.get_running_loop().create_future()
            work.set_exception(exc)
        self._unacked.append((pub, work))
        work.add_done_callback(self._settled)
        self._inflight += 1
        if self._inflight >= self._inflight_limit() and not self._paused:
            self._paused = True
            assert self.transport is not None
            self.transport.pause_reading()

    def _inflight_limit(self) -> int:
        """Publishes this connection may have waiting for the store before it stops reading.

        While the store is congested every connection is held to a few, so that what waits in
        memory stays bounded by connections × a few messages, and the rest of the flood waits in
        the devices and the kernel's socket buffers.
        """
        if self.endpoint.congested():
            return CONGESTED_INFLIGHT
        return self.endpoint.max_inflight

    def _settled(self, work: asyncio.Future[Outcome]) -> None:
        """One publish's work is done: read again if it was held, acknowledge what is due."""
        self._inflight -= 1
        failure = work.exception() if not work.cancelled() else asyncio.CancelledError()
        if isinstance(failure, UnavailableError):
            # Not durable: withhold the acknowledgement and drop the connection, so that the
            # client sends it again when it reconnects (MQTT resends unacknowledged QoS 1
            # messages only on a new connection).
            _refusal_log.warning(
                "not acknowledging a publish, closing the connection: %s", failure.message
            )
            self.close(RC_SERVER_BUSY)
        elif failure is not None:
            # A fault of shugu's own: say so, drop this connection (the client will resend
            # what was not acknowledged), and keep serving the others.
            topic = next((p.topic for p, w in self._unacked if w is work), "?")
            log.error(
                "handling a publish on %r failed; closing the connection",
                topic,
                exc_info=failure,
            )
            self.close()
        if self._paused and self._inflight <= self._inflight_limit() // 2:
            self._paused = False
            if self.transport is not None and not self._closing:
                self.transport.resume_reading()
                self._process()
        self._acknowledge_due()

    def _acknowledge_due(self) -> None:
        """Acknowledge the publishes whose work is done, up to the first still at work: in the
        order they came (MQTT-4.6.0-2), all of them in one write."""
        unacked = self._unacked
        acks = []
        while unacked and unacked[0][1].done():
            pub, work = unacked.popleft()
            if self._closing or pub.qos == 0 or pub.packet_id is None:
                continue
            if work.cancelled() or work.exception() is not None:
                continue
            outcome = work.result()
            if pub.qos == 2:
                assert self.session is not None
                self.session.awaiting_release.add(pub.packet_id)
                kind = codec.PUBREC
            else:
                kind = codec.PUBACK
            acks.append(codec.ack(kind, pub.packet_id, self.level, outcome.code, outcome.reason))
        if acks:
            self.write(acks[0] if len(acks) == 1 else b"".join(acks))

    def _on_pubrel(self, packet_id: int) -> None:
        assert self.session is not None
        known = packet_id in self.session.awaiting_release
        self.session.awaiting_release.discard(packet_id)
        self.write(
            codec.ack(codec.PUBCOMP, packet_id, self.level, 0 if known else RC_PACKET_ID_NOT_FOUND)
        )

    # -- SUBSCRIBE and sending

    def _on_subscribe(self, sub: codec.Subscribe) -> None:
        assert self.session is not None and self.device is not None
        codes = []
        for topic_filter, qos, _ in sub.filters:
            if self.app.may_subscribe(self.device, topic_filter):
                granted = min(qos, 1)
                self.session.subscriptions[topic_filter] = granted
                codes.append(granted)
            else:
                codes.append(RC_NOT_AUTHORIZED if self.level == MQTT_5 else 0x80)
        self.write(codec.suback(sub.packet_id, codes, self.level))

    def send(self, topic: str, payload: bytes, qos: int = 1) -> bool:
        """Publish to this client if it subscribed to the topic; False if it did not."""
        if self.session is None or self._closing:
            return False
        granted = self.session.granted_qos(topic)
        if granted is None:
            return False
        qos = min(qos, granted)
        packet_id = None
        if qos:
            packet_id = self.session.next_packet_id()
            self.session.unacked[packet_id] = (topic, payload)
        self.write(codec.publish(topic, payload, qos, packet_id, self.level))
        return True

    # -- closing

    def _refuse_stream(self, code: str, reason: str, v5_code: int) -> None:
        log.info("closing MQTT connection: %s", reason)
        self.app.on_refused(self.device, code, reason)
        if self.session is not None:
            self.write(codec.disconnect(self.level, v5_code, reason))
        self.close()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self, v5_code: int | None = None) -> None:
        if v5_code is not None and self.level == MQTT_5 and self.session is not None:
            self.write(codec.disconnect(self.level, v5_code))
        self._closing = True
        if self.transport is not None:
            self.transport.close()
