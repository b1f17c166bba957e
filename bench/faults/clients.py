"""Load clients that behave like real devices through a fault: they keep what was not
acknowledged, reconnect with back-off, and send it again.

- :class:`HttpFleet`: several keep-alive HTTP connections, each posting one device's next units
  per request, either as ThingsBoard device JSON (``POST /api/v1/{token}/telemetry``) or as an
  Arrow IPC batch (``POST /api/v1/batch`` as the enterprise admin). A unit counts as
  acknowledged when the answer is 200 with every point accepted; on a broken connection, 429 or
  503 the same request (same keys) is sent again.
- :class:`MqttFleet`: one MQTT 3.1.1 (or 5) connection per device, QoS 1, up to ``window``
  messages in flight; a message counts as acknowledged when its PUBACK (matched by packet id)
  arrives. After a reconnect the device first sends again what was in flight, then goes on.
  Over MQTT 5 a PUBACK with a reason code (0x10 "no matching subscribers", or a refusal) is not
  an acknowledgement: the device sends the message again a little later.

Both run unpaced (as fast as acknowledgements allow) or paced by a shared :class:`Pacer`
(units per second). ``start`` launches them on the running event loop; ``drain`` stops new
units and waits until everything sent is acknowledged (or a deadline passes).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Sequence

from bench.faults.ledger import DeviceLedger, LatencyWindow, Ledger
from bench.mqtt_load import mqtt_string, varint
from shugu.ingest.arrow_codec import write_stream

ARROW_STREAM = "application/vnd.apache.arrow.stream"
MIN_BACKOFF_S = 0.02
#: A message the broker did not deliver (MQTT 5 PUBACK reason code) is sent again after this.
RETRY_S = 0.2
MAX_BACKOFF_S = 0.5


class Pacer:
    """A shared budget of ``rate`` units per second; a burst of at most one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._credit = 0.0
        self._t = time.monotonic()

    def _refill(self, n: int) -> None:
        now = time.monotonic()
        # At most a second's worth saved up, and never less than one take.
        cap = max(self.rate, float(n))
        self._credit = min(self._credit + (now - self._t) * self.rate, cap)
        self._t = now

    def try_take(self, n: int = 1) -> bool:
        self._refill(n)
        if self._credit >= n:
            self._credit -= n
            return True
        return False

    async def take(self, n: int) -> None:
        while not self.try_take(n):
            await asyncio.sleep(max(0.001, (n - self._credit) / self.rate))


class _Control:
    """The phase every client of a fleet obeys."""

    def __init__(self) -> None:
        self.draining = False
        self.aborted = False
        self.tasks: list[asyncio.Task[None]] = []

    async def drain(self, timeout_s: float) -> bool:
        """Stop new units; True when every client finished (all acknowledged) in time."""
        self.draining = True
        if not self.tasks:
            return True
        done, pending = await asyncio.wait(self.tasks, timeout=timeout_s)
        if pending:
            self.aborted = True
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()
        return not pending


async def _backoff(delay: float) -> float:
    await asyncio.sleep(delay)
    return min(delay * 2, MAX_BACKOFF_S)


# -- HTTP -----------------------------------------------------------------------------------------


class HttpFleet:
    """``connections`` keep-alive HTTP clients sharing ``devices`` round-robin."""

    def __init__(
        self,
        ledger: Ledger,
        devices: Sequence[DeviceLedger],
        host: str,
        port: int,
        *,
        connections: int,
        units_per_request: int,
        kind: str = "json",
        admin_token: str = "",
        pacer: Pacer | None = None,
    ) -> None:
        if kind not in ("json", "arrow"):
            raise ValueError(f"kind must be json or arrow, not {kind!r}")
        self.ledger = ledger
        self.host = host
        self.port = port
        self.kind = kind
        self.admin_token = admin_token
        self.units_per_request = units_per_request
        self.pacer = pacer
        self.control = _Control()
        #: Acknowledgement latencies of this fleet's requests (also in the ledger's).
        self.latency = LatencyWindow()
        self._groups = [list(devices[i::connections]) for i in range(connections)]

    def start(self) -> None:
        self.control.tasks = [
            asyncio.create_task(self._client(group)) for group in self._groups if group
        ]

    async def drain(self, timeout_s: float) -> bool:
        return await self.control.drain(timeout_s)

    def _request(self, dev: DeviceLedger, units: range) -> bytes:
        if self.kind == "json":
            body = dev.telemetry_json(units)
            head = f"POST /api/v1/{dev.cred.token}/telemetry HTTP/1.1\r\n"
            head += "Content-Type: application/json\r\n"
        else:
            body = write_stream(dev.arrow_table(units))
            head = "POST /api/v1/batch HTTP/1.1\r\n"
            head += f"Content-Type: {ARROW_STREAM}\r\nAuthorization: Bearer {self.admin_token}\r\n"
        head += f"Host: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    async def _client(self, devices: list[DeviceLedger]) -> None:
        ledger, stats, control = self.ledger, self.ledger.stats, self.control
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        delay = MIN_BACKOFF_S
        turn = 0
        current: tuple[DeviceLedger, range, bytes] | None = None
        attempts = 0
        try:
            while not control.aborted:
                if current is None:
                    if control.draining:
                        return
                    dev = devices[turn % len(devices)]
                    turn += 1
                    if self.pacer is not None:
                        await self.pacer.take(self.units_per_request)
                    units = dev.new_units(self.units_per_request)
                    current = (dev, units, self._request(dev, units))
                    attempts = 0
                dev, units, request = current
                if writer is None:
                    try:
                        reader, writer = await asyncio.wait_for(
                            asyncio.open_connection(self.host, self.port), 10
                        )
                        stats.connects += 1
                    except (OSError, TimeoutError):
                        stats.connect_failures += 1
                        delay = await _backoff(delay)
                        continue
                assert reader is not None and writer is not None
                attempts += 1
                if attempts > 1:
                    stats.resent_units += len(units)
                sent_at = time.monotonic()
                try:
                    writer.write(request)
                    status, headers, body = await asyncio.wait_for(read_http_answer(reader), 60)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    stats.status("connection_lost")
                    writer.close()
                    reader = writer = None
                    delay = await _backoff(delay)
                    continue
                delay = MIN_BACKOFF_S
                stats.status(status)
                if headers.get("connection") == "close":
                    writer.close()
                    reader = writer = None
                if status == 200:
                    answer = json.loads(body)
                    refused = int(answer.get("rejected", 0))
                    if refused:
                        stats.refused_points += refused
                    else:
                        ledger.ack(dev, units, sent_at, self.latency)
                    current = None
                elif status in (429, 503) or status >= 500:
                    retry = headers.get("retry-after", "")
                    await asyncio.sleep(float(retry) if retry.isdigit() else 0.2)
                else:  # refused for good: not acknowledged, not sent again
                    stats.refused_points += len(units) * dev.metrics
                    current = None
        finally:
            if writer is not None:
                writer.close()


async def read_http_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


# -- MQTT -----------------------------------------------------------------------------------------

_CONNACK = 2
_PUBACK = 4


def connect_packet(
    client_id: str, username: str | None, keep_alive: int = 600, level: int = 4
) -> bytes:
    """CONNECT (MQTT 3.1.1: level 4, MQTT 5: level 5) with a clean session: the device keeps its
    unacknowledged messages itself."""
    flags = 0x02 | (0x80 if username is not None else 0)
    body = mqtt_string("MQTT") + bytes([level, flags]) + keep_alive.to_bytes(2, "big")
    if level == 5:
        body += b"\x00"  # no properties
    body += mqtt_string(client_id)
    if username is not None:
        body += mqtt_string(username)
    return b"\x10" + varint(len(body)) + body


class _Link(asyncio.Protocol):
    """One TCP connection of a device: frames in, CONNACK and PUBACK out to the device."""

    def __init__(self, device: MqttDevice) -> None:
        self.device = device
        loop = asyncio.get_running_loop()
        self.connack: asyncio.Future[int] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.device.connect)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.connack.done():
            self.connack.set_exception(exc or ConnectionError("closed before CONNACK"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        n, i = len(buf), 0
        while n - i >= 2:
            length, j, mult = 0, i + 1, 1
            while True:
                if j >= n:
                    self._buf = buf[i:]
                    return
                b = buf[j]
                j += 1
                length += (b & 0x7F) * mult
                mult *= 128
                if not b & 0x80:
                    break
            if j + length > n:
                break
            kind = buf[i] >> 4
            if kind == _PUBACK:
                # MQTT 5 may add a reason code; without one (and in 3.1.1) it is success.
                reason = buf[j + 2] if length > 2 else 0
                self.device.on_puback(int.from_bytes(buf[j : j + 2], "big"), reason)
            elif kind == _CONNACK and not self.connack.done():
                self.connack.set_result(buf[j + 1])
            i = j + length
        self._buf = buf[i:] if i < n else b""

    def close(self) -> None:
        if self.transport is not None:
            self.transport.write(b"\xe0\x00")
            self.transport.close()


class MqttDevice:
    """One device at QoS 1: what is in flight by packet id, what waits to be sent again."""

    def __init__(
        self, fleet: MqttFleet, dev: DeviceLedger, client_id: str, username: str | None, topic: str
    ) -> None:
        self.fleet = fleet
        self.dev = dev
        self.connect = connect_packet(client_id, username, level=fleet.level)
        self._props = b"\x00" if fleet.level == 5 else b""
        self._topic = mqtt_string(topic)
        self.pending: deque[int] = deque()
        self.inflight: dict[int, tuple[int, float]] = {}
        #: Units the broker took but did not deliver, sent again after ``RETRY_S``.
        self.retry: list[int] = []
        self._undelivered: set[int] = set()
        self.link: _Link | None = None
        self._pid = 0
        #: This device's own acknowledgement latencies (also in the fleet's and the ledger's).
        self.latency = LatencyWindow()

    @property
    def local_port(self) -> int | None:
        """The client port of the device's connection now (None while not connected): which
        server process holds it is found from it (``Served.connection_owners``)."""
        link = self.link
        if link is None or link.transport is None:
            return None
        address = link.transport.get_extra_info("sockname")
        return int(address[1]) if address else None

    @property
    def idle(self) -> bool:
        return not self.pending and not self.inflight and not self.retry

    def _retry_later(self, unit: int) -> None:
        self.retry.append(unit)
        if len(self.retry) == 1:
            asyncio.get_running_loop().call_later(RETRY_S, self._retry_now)

    def _retry_now(self) -> None:
        self.pending.extend(sorted(self.retry))
        self.retry.clear()
        self.pump()

    def _packet(self, unit: int) -> bytes:
        self._pid = self._pid % 65535 + 1
        while self._pid in self.inflight:
            self._pid = self._pid % 65535 + 1
        values = self.dev.values_json(unit).encode()
        payload = b'{"ts":%d,"values":%s}' % (self.dev.ts(unit), values)
        body = self._topic + self._pid.to_bytes(2, "big") + self._props + payload
        return b"\x32" + varint(len(body)) + body

    def pump(self) -> None:
        """Fill the window: first what waits to be sent again, then new units if allowed."""
        link = self.link
        if link is None or link.transport is None:
            return
        fleet = self.fleet
        out = []
        while len(self.inflight) < fleet.window:
            if self.pending:
                unit = self.pending.popleft()
                fleet.ledger.stats.resent_units += 1
            elif fleet.may_send_new():
                unit = self.dev.new_units(1).start
            else:
                break
            out.append(self._packet(unit))
            self.inflight[self._pid] = (unit, time.monotonic())
        if out:
            link.transport.write(b"".join(out))

    def on_puback(self, pid: int, reason: int = 0) -> None:
        entry = self.inflight.pop(pid, None)
        if entry is None:
            self.fleet.ledger.stats.status("puback_unknown_id")
            return
        unit, sent_at = entry
        if reason == 0:
            self.fleet.ledger.ack(self.dev, range(unit, unit + 1), sent_at, self.fleet.latency)
            self.latency.add((time.monotonic() - sent_at) * 1000.0)
        else:
            # 0x10: the broker took the message but no subscription matched, so nobody will
            # get it; 0x80 and above: refused. Either way it was not delivered: send it again.
            stats = self.fleet.ledger.stats
            stats.status(f"puback_{reason:#04x}")
            if unit not in self._undelivered:
                self._undelivered.add(unit)
                stats.undelivered_units += 1
            self._retry_later(unit)
        if self.fleet.control.draining and self.idle and self.link is not None:
            self.link.close()
        else:
            self.pump()

    def _requeue(self) -> None:
        """The connection is gone: what was in flight is sent again, oldest first."""
        units = sorted(u for u, _ in self.inflight.values())
        self.inflight.clear()
        self.pending.extendleft(reversed(units))

    async def run(self) -> None:
        fleet, stats, control = self.fleet, self.fleet.ledger.stats, self.fleet.control
        loop = asyncio.get_running_loop()
        delay = MIN_BACKOFF_S
        try:
            while not control.aborted and not (control.draining and self.idle):
                try:
                    _, link = await asyncio.wait_for(
                        loop.create_connection(lambda: _Link(self), fleet.host, fleet.port), 10
                    )
                    code = await asyncio.wait_for(asyncio.shield(link.connack), 10)
                except (OSError, TimeoutError, ConnectionError):
                    stats.connect_failures += 1
                    delay = await _backoff(delay)
                    continue
                if code != 0:
                    stats.status(f"connack_{code}")
                    link.close()
                    delay = await _backoff(delay)
                    continue
                stats.connects += 1
                delay = MIN_BACKOFF_S
                self.link = link
                self.pump()
                await link.closed
                self.link = None
                self._requeue()
        finally:
            if self.link is not None:
                self.link.close()
                self.link = None


class MqttFleet:
    """One connection per device; unpaced (each device keeps ``window`` in flight) or paced."""

    def __init__(
        self,
        ledger: Ledger,
        devices: Sequence[DeviceLedger],
        host: str,
        port: int,
        *,
        window: int,
        topic: str | None = None,
        use_token: bool = True,
        client_prefix: str = "fault",
        pacer: Pacer | None = None,
        level: int = 4,
    ) -> None:
        """``topic`` may contain ``{name}`` (the device name) and ``{enterprise}`` (its
        enterprise's id); default ThingsBoard's ``v1/devices/me/telemetry``. ``use_token``: the
        access token is the user name.
        ``level``: 4 for MQTT 3.1.1, 5 for MQTT 5 (whose PUBACK reason codes the devices obey)."""
        self.ledger = ledger
        self.level = level
        self.host = host
        self.port = port
        self.window = window
        self.pacer = pacer
        self.control = _Control()
        #: Acknowledgement latencies of this fleet's messages (also in the ledger's).
        self.latency = LatencyWindow()
        template = topic or "v1/devices/me/telemetry"
        self.devices = [
            MqttDevice(
                self,
                dev,
                f"{client_prefix}-{dev.cred.name}",
                dev.cred.token if use_token else None,
                template.format(name=dev.cred.name, enterprise=dev.cred.enterprise),
            )
            for dev in devices
        ]
        self._ticker: asyncio.Task[None] | None = None

    def may_send_new(self) -> bool:
        if self.control.draining:
            return False
        return self.pacer is None or self.pacer.try_take(1)

    def start(self) -> None:
        self.control.tasks = [asyncio.create_task(d.run()) for d in self.devices]
        if self.pacer is not None:
            self._ticker = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        """Paced: hand out the budget round-robin, every few milliseconds."""
        turn = 0
        n = len(self.devices)
        while not self.control.draining:
            await asyncio.sleep(0.005)
            for _ in range(n):
                device = self.devices[turn % n]
                turn += 1
                before = len(device.inflight)
                device.pump()
                if (
                    len(device.inflight) == before
                    and device.link is not None
                    and not device.pending
                    and len(device.inflight) < self.window
                ):
                    break  # the budget is spent

    async def drain(self, timeout_s: float) -> bool:
        self.control.draining = True
        for device in self.devices:
            # Devices that are connected and have nothing outstanding leave now.
            if device.idle and device.link is not None:
                device.link.close()
            else:
                device.pump()
        if self._ticker is not None:
            await self._ticker
        return await self.control.drain(timeout_s)

    @property
    def outstanding(self) -> int:
        return sum(len(d.pending) + len(d.inflight) for d in self.devices)
