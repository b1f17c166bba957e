"""A lean MQTT 3.1.1 load generator: many device connections over a few processes.

General-purpose clients (paho-mqtt, aiomqtt) spend far more CPU per message than a broker on
this 2-core machine. Here each device is an ``asyncio.Protocol`` that writes a prebuilt CONNECT,
then PUBLISH packets at QoS 1 assembled from prebuilt bytes (only the packet id and the
timestamp change), and parses nothing but the fixed headers of CONNACK and PUBACK. Each device
keeps ``inflight`` messages outstanding: the next one is sent when a PUBACK arrives.

The devices of one run are spread over ``processes`` worker processes, driven from the calling
process through pipes; the phases (connect, publish, disconnect) start at the same monotonic
instant in every worker (CLOCK_MONOTONIC is shared by all processes on Linux).

The receiving side, for the Mosquitto reference, is in ``bench/mqtt_subscriber.py``.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

#: The CPU time of another process, in clock ticks (utime + stime) of /proc/PID/stat.
CLOCK_TICKS = 100

_CONNACK = 2
_PUBLISH = 3
_PUBACK = 4
_SUBACK = 9
_PINGRESP = 13
DISCONNECT_PACKET = b"\xe0\x00"


# -- packets --------------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_string(text: str) -> bytes:
    """A UTF-8 string as MQTT frames it: two-byte length, then the bytes."""
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def connect_packet(client_id: str, username: str | None, keep_alive: int) -> bytes:
    """MQTT 3.1.1 CONNECT, clean session, optional user name (the device's access token)."""
    flags = 0x02 | (0x80 if username is not None else 0)
    body = mqtt_string("MQTT") + bytes([4, flags]) + keep_alive.to_bytes(2, "big")
    body += mqtt_string(client_id)
    if username is not None:
        body += mqtt_string(username)
    return bytes([0x10]) + varint(len(body)) + body


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    body = packet_id.to_bytes(2, "big") + mqtt_string(topic_filter) + bytes([qos])
    return bytes([0x82]) + varint(len(body)) + body


def telemetry_values(device_index: int, metrics: int = 10) -> bytes:
    """The ``values`` object of one device's messages: ``metrics`` keys, plausible numbers."""
    parts = [f'"m{j}":{20.0 + (device_index * 7 + j * 13) % 400 / 10:.1f}' for j in range(metrics)]
    return ("{" + ",".join(parts) + "}").encode()


class MessageMaker:
    """QoS 1 PUBLISH packets of ThingsBoard telemetry ``{"ts": ms, "values": {...}}``.

    Every message of a device has its own timestamp (``ts0 + k``), so every point is distinct
    and none is folded into another as a re-sent duplicate.
    """

    __slots__ = ("_head", "_tail")

    def __init__(self, topic: str, values: bytes) -> None:
        self._tail = b',"values":' + values + b"}"
        payload_len = len(b'{"ts":') + 13 + len(self._tail)
        topic_b = mqtt_string(topic)
        remaining = len(topic_b) + 2 + payload_len
        self._head = bytes([0x32]) + varint(remaining) + topic_b

    def packet(self, packet_id: int, ts: int) -> bytes:
        return b"".join(
            (self._head, packet_id.to_bytes(2, "big"), b'{"ts":', b"%d" % ts, self._tail)
        )


# -- the devices of one worker --------------------------------------------------------------------


@dataclass(slots=True)
class DeviceSpec:
    client_id: str
    username: str | None
    topic: str
    values: bytes


@dataclass(slots=True)
class _Counters:
    running: bool = False
    sent: int = 0
    acks: int = 0
    acks_window: int = 0
    refused: int = 0
    closed: int = 0
    inflight: int = 1
    ts0: int = 0


class DeviceProtocol(asyncio.Protocol):
    __slots__ = (
        "_buf",
        "_connect",
        "_maker",
        "_pid",
        "_seq",
        "connack",
        "counters",
        "transport",
    )

    def __init__(self, spec: DeviceSpec, counters: _Counters, keep_alive: int) -> None:
        self._connect = connect_packet(spec.client_id, spec.username, keep_alive)
        self._maker = MessageMaker(spec.topic, spec.values)
        self._buf = b""
        self._pid = 0
        self._seq = 0
        self.counters = counters
        self.connack: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self._connect)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.counters.closed += 1
        if not self.connack.done():
            self.connack.set_exception(exc or ConnectionError("closed before CONNACK"))
        self.transport = None

    def _next(self) -> bytes:
        self._pid = self._pid % 65535 + 1
        self._seq += 1
        return self._maker.packet(self._pid, self.counters.ts0 + self._seq)

    def start(self, inflight: int) -> None:
        if self.transport is None:
            return
        self.counters.sent += inflight
        self.transport.write(b"".join(self._next() for _ in range(inflight)))

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        n = len(buf)
        i = 0
        acks = 0
        while n - i >= 2:
            length = buf[i + 1]
            j = i + 2
            if length & 0x80:
                length, mult = length & 0x7F, 128
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
                acks += 1
            elif kind == _CONNACK and not self.connack.done():
                self.connack.set_result(buf[j + 1])
            i = j + length
        self._buf = buf[i:] if i < n else b""
        if acks:
            c = self.counters
            c.acks += acks
            if c.running:
                c.acks_window += acks
                c.sent += acks
                assert self.transport is not None
                if acks == 1:
                    self.transport.write(self._next())
                else:
                    self.transport.write(b"".join(self._next() for _ in range(acks)))

    def disconnect(self) -> None:
        if self.transport is not None:
            self.transport.write(DISCONNECT_PACKET)
            self.transport.close()


class _Worker:
    """The devices of one worker process and the commands they obey."""

    def __init__(self) -> None:
        self.devices: list[DeviceProtocol] = []
        self.counters = _Counters()

    async def connect(
        self,
        host: str,
        port: int,
        specs: Sequence[DeviceSpec],
        start_at: float,
        concurrency: int,
        keep_alive: int,
        timeout_s: float,
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        gate = asyncio.Semaphore(concurrency)
        errors: dict[str, int] = {}
        last = [start_at]

        async def one(spec: DeviceSpec) -> None:
            async with gate:
                try:
                    _, proto = await asyncio.wait_for(
                        loop.create_connection(
                            lambda: DeviceProtocol(spec, self.counters, keep_alive), host, port
                        ),
                        timeout_s,
                    )
                    rc = await asyncio.wait_for(asyncio.shield(proto.connack), timeout_s)
                except (OSError, TimeoutError, ConnectionError) as exc:
                    key = type(exc).__name__ + (f" {exc.errno}" if isinstance(exc, OSError) else "")
                    errors[key] = errors.get(key, 0) + 1
                    return
                if rc != 0:
                    errors[f"CONNACK {rc}"] = errors.get(f"CONNACK {rc}", 0) + 1
                    proto.disconnect()
                    return
                self.devices.append(proto)
                last[0] = max(last[0], time.monotonic())

        await asyncio.gather(*(one(s) for s in specs))
        return {"connected": len(self.devices), "errors": errors, "last_connack": last[0]}

    async def publish(
        self, start_at: float, seconds: float, inflight: int, drain_s: float, ts0: int
    ) -> dict[str, Any]:
        c = self.counters
        c.ts0 = ts0
        c.inflight = inflight
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        closed_before = c.closed
        acks_before = c.acks
        c.sent = c.acks_window = 0
        c.running = True
        for d in self.devices:
            d.start(inflight)
        await asyncio.sleep(max(0.0, start_at + seconds - time.monotonic()))
        c.running = False
        window_end = time.monotonic()
        deadline = window_end + drain_s
        # Wait for the PUBACKs still due, unless no connection is left to bring them.
        while (
            c.acks - acks_before < c.sent
            and c.closed - closed_before < len(self.devices)
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
        return {
            "sent": c.sent,
            "acks": c.acks - acks_before,
            "acks_window": c.acks_window,
            "window_s": window_end - start_at,
            "closed_during": c.closed - closed_before,
            "unacked": c.sent - (c.acks - acks_before),
        }

    async def disconnect(self) -> dict[str, Any]:
        for d in self.devices:
            d.disconnect()
        n = len(self.devices)
        self.devices.clear()
        await asyncio.sleep(0.2)
        return {"disconnected": n}


def raise_nofile() -> None:
    """Raise this process's soft limit of open files to its hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with shugu's server dependencies
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _serve_worker(pipe: Connection) -> None:
    worker = _Worker()
    loop = asyncio.get_running_loop()
    while True:
        command, args = await loop.run_in_executor(None, pipe.recv)
        if command == "exit":
            pipe.send({})
            return
        method = getattr(worker, command)
        pipe.send(await method(**args))


def _worker_main(pipe: Connection) -> None:
    raise_nofile()
    loop = new_loop()
    try:
        loop.run_until_complete(_serve_worker(pipe))
    finally:
        loop.close()


# -- the driving side -----------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class ConnectResult:
    connected: int
    seconds: float
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.connected / self.seconds if self.seconds > 0 else 0.0


@dataclass
class PublishResult:
    sent: int
    acks: int
    acks_window: int
    window_s: float
    unacked: int
    closed_during: int
    loadgen_cpu_s: float

    @property
    def msgs_per_s(self) -> float:
        return self.acks_window / self.window_s if self.window_s > 0 else 0.0


class LoadGenerator:
    """``processes`` worker processes, each holding a share of the device connections."""

    def __init__(self, processes: int, *, reply_timeout_s: float = 180.0) -> None:
        ctx = mp.get_context("spawn")
        self._timeout = reply_timeout_s
        self._pipes: list[Connection] = []
        self.procs: list[mp.process.BaseProcess] = []
        for _ in range(processes):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(theirs,), daemon=True)
            proc.start()
            theirs.close()
            self._pipes.append(ours)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def _all(self, command: str, args: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for pipe, a in zip(self._pipes, args, strict=True):
            pipe.send((command, a))
        replies = []
        for pipe in self._pipes:
            if not pipe.poll(self._timeout):
                raise TimeoutError(f"load generator did not answer {command!r} in time")
            replies.append(pipe.recv())
        return replies

    def connect(
        self,
        host: str,
        port: int,
        specs: Sequence[DeviceSpec],
        *,
        concurrency: int = 96,
        keep_alive: int = 300,
        timeout_s: float = 60.0,
    ) -> ConnectResult:
        """Connect every device; ``concurrency`` handshakes under way at once, over all workers.

        Mosquitto listens with a backlog of 100: more handshakes at once overflow it, and a
        dropped SYN costs a 1 s retransmission that would be measured as a slow broker.
        """
        n = len(self._pipes)
        start_at = time.monotonic() + 0.3
        args = [
            {
                "host": host,
                "port": port,
                "specs": list(specs[i::n]),
                "start_at": start_at,
                "concurrency": max(1, concurrency // n),
                "keep_alive": keep_alive,
                "timeout_s": timeout_s,
            }
            for i in range(n)
        ]
        replies = self._all("connect", args)
        errors: dict[str, int] = {}
        for r in replies:
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        return ConnectResult(
            connected=sum(r["connected"] for r in replies),
            seconds=max(r["last_connack"] for r in replies) - start_at,
            errors=errors,
        )

    def publish(
        self,
        seconds: float,
        *,
        start_at: float | None = None,
        inflight: int = 1,
        drain_s: float = 30.0,
        ts0: int | None = None,
    ) -> PublishResult:
        start_at = start_at if start_at is not None else time.monotonic() + 0.3
        ts0 = ts0 if ts0 is not None else int(time.time() * 1000) - 3_600_000
        cpu0 = sum(proc_cpu_s(pid) for pid in self.pids)
        args = [
            {
                "start_at": start_at,
                "seconds": seconds,
                "inflight": inflight,
                "drain_s": drain_s,
                "ts0": ts0,
            }
        ] * len(self._pipes)
        replies = self._all("publish", args)
        cpu = sum(proc_cpu_s(pid) for pid in self.pids) - cpu0
        return PublishResult(
            sent=sum(r["sent"] for r in replies),
            acks=sum(r["acks"] for r in replies),
            acks_window=sum(r["acks_window"] for r in replies),
            window_s=max(r["window_s"] for r in replies),
            unacked=sum(r["unacked"] for r in replies),
            closed_during=sum(r["closed_during"] for r in replies),
            loadgen_cpu_s=cpu,
        )

    def disconnect(self) -> int:
        return sum(r["disconnected"] for r in self._all("disconnect", [{}] * len(self._pipes)))

    def close(self) -> None:
        for pipe, proc in zip(self._pipes, self.procs, strict=True):
            try:
                pipe.send(("exit", {}))
                pipe.poll(5)
            except (OSError, EOFError):
                pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
            pipe.close()


# -- a subscriber that counts ---------------------------------------------------------------------
