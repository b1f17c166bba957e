"""A reconnect storm: every device with a persistent MQTT session connects again at once.

Under ``shugu serve --workers N`` persistent sessions are kept by the main process (decision
0056): a CONNECT that lands on a front asks main for the client's session and gives it back
when the connection ends, a round trip per CONNECT. This measures what that costs when it
matters most, every device coming back together (after a network outage, say):

- ``devices`` devices connect over MQTT 3.1.1 with clean session off (a fixed client id and
  their own access token each), subscribe to their RPC requests at QoS 1, and disconnect
  (DISCONNECT: the session stays, with its subscription);
- once the server reports no connection left, all of them connect again in the same instant;
  no more than ``concurrency`` handshakes under way at once (the listen backlog is 4,096);
- figures: ``storm_s``, from the storm's start to the last CONNACK; each device's CONNACK
  latency (TCP connect included) as p50 and p99; ``session_present``, how many CONNACKs said
  the session was found (every one should);
- the limit, in the same runs: the same storm on Mosquitto (sessions in its memory, no token
  to check), 96 handshakes at once since its listen backlog is 100;
- ``runs`` alternating runs of each ``--workers`` value and Mosquitto, each on a fresh server
  and registry; the figures reported are medians over the runs.

The devices are driven by one asyncio process (this one): a handshake costs the client one
packet out and four bytes in.

    python -m bench.mqtt_reconnect [--devices 2000] [--runs 3] [--workers 1 2] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import say
from bench.mqtt import Mosquitto, ShuguServer, prepare_registry
from bench.mqtt_load import (
    DISCONNECT_PACKET,
    mqtt_string,
    raise_nofile,
    subscribe_packet,
    varint,
)

RPC_REQUESTS = "v1/devices/me/rpc/request/+"
MOSQUITTO_CONCURRENCY = 96
_CONNACK = 2
_SUBACK = 9


def persistent_connect_packet(client_id: str, token: str, keep_alive: int = 300) -> bytes:
    """MQTT 3.1.1 CONNECT with clean session off and the access token as user name."""
    flags = 0x80  # user name; clean session 0
    body = mqtt_string("MQTT") + bytes([4, flags]) + keep_alive.to_bytes(2, "big")
    body += mqtt_string(client_id) + mqtt_string(token)
    return bytes([0x10]) + varint(len(body)) + body


@dataclass(slots=True)
class Handshake:
    """One device's answer: CONNACK's return code and session-present flag, and when."""

    code: int
    session_present: bool
    at: float


class Device(asyncio.Protocol):
    """Writes CONNECT on connection; resolves ``connack`` and ``suback`` from fixed headers."""

    def __init__(self, connect: bytes) -> None:
        loop = asyncio.get_running_loop()
        self._connect = connect
        self._buf = b""
        self.connack: asyncio.Future[Handshake] = loop.create_future()
        #: Made by ``subscribe``: a future nobody awaits would be reported when it fails.
        self.suback: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._connect)

    def connection_lost(self, exc: Exception | None) -> None:
        for waiter in (self.connack, self.suback):
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc or ConnectionError("closed by the server"))
        self.transport = None

    def data_received(self, data: bytes) -> None:
        # Only CONNACK (4 bytes) and SUBACK (5 bytes) come: their lengths fit one byte.
        buf = self._buf + data
        while len(buf) >= 2 and len(buf) >= 2 + buf[1]:
            kind, body = buf[0] >> 4, buf[2 : 2 + buf[1]]
            buf = buf[2 + buf[1] :]
            if kind == _CONNACK and not self.connack.done():
                self.connack.set_result(
                    Handshake(body[1], bool(body[0] & 0x01), time.perf_counter())
                )
            elif kind == _SUBACK and self.suback is not None and not self.suback.done():
                self.suback.set_result(None)
        self._buf = buf

    def subscribe(self) -> asyncio.Future[None]:
        """SUBSCRIBE to the device's RPC requests at QoS 1; resolves on SUBACK."""
        assert self.transport is not None
        self.suback = asyncio.get_running_loop().create_future()
        self.transport.write(subscribe_packet(1, RPC_REQUESTS, 1))
        return self.suback

    def leave(self) -> None:
        if self.transport is not None:
            self.transport.write(DISCONNECT_PACKET)
            self.transport.close()


@dataclass
class Round:
    """What one pass over every device saw."""

    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    session_present: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    devices: list[Device] = field(default_factory=list)


async def connect_all(
    port: int, devices: list[tuple[str, str]], concurrency: int, subscribe: bool
) -> Round:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    out = Round()
    began = time.perf_counter()

    async def one(name: str, token: str) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                _, device = await loop.create_connection(
                    lambda: Device(persistent_connect_packet(name, token)), "127.0.0.1", port
                )
                answer = await asyncio.wait_for(asyncio.shield(device.connack), 60)
                if answer.code == 0 and subscribe:
                    await asyncio.wait_for(asyncio.shield(device.subscribe()), 60)
            except (OSError, TimeoutError, ConnectionError) as exc:
                key = type(exc).__name__
                out.errors[key] = out.errors.get(key, 0) + 1
                return
            if answer.code != 0:
                out.errors[f"CONNACK {answer.code}"] = (
                    out.errors.get(f"CONNACK {answer.code}", 0) + 1
                )
                device.leave()
                return
            out.latencies_ms.append((answer.at - started) * 1000)
            out.session_present += answer.session_present
            out.devices.append(device)

    await asyncio.gather(*(one(name, token) for name, token in devices))
    out.seconds = time.perf_counter() - began
    return out


async def leave_all(found: Round) -> None:
    for device in found.devices:
        device.leave()
    await asyncio.sleep(0.2)


def wait_until_alone(server: ShuguServer, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while server.health().get("mqtt_connections", 0):
        if time.monotonic() > deadline:
            raise TimeoutError("the server still counts connections after every DISCONNECT")
        time.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def sessions_then_storm(
    port: int,
    registered: list[tuple[str, str]],
    concurrency: int,
    settle: Callable[[], None],
) -> tuple[Round, Round]:
    """Every device makes its session and leaves; after ``settle``, all come back at once."""
    loop = asyncio.new_event_loop()
    try:
        first = loop.run_until_complete(connect_all(port, registered, concurrency, subscribe=True))
        loop.run_until_complete(leave_all(first))
        settle()
        storm = loop.run_until_complete(connect_all(port, registered, concurrency, subscribe=False))
        loop.run_until_complete(leave_all(storm))
    finally:
        loop.close()
    return first, storm


def one_run(workdir: Path, devices: int, workers: int, concurrency: int) -> dict[str, Any]:
    data = workdir / "data"
    registered = prepare_registry(data, devices)
    server = ShuguServer(data, workdir / "shugu.log", workers)
    try:
        first, storm = sessions_then_storm(
            server.mqtt_port, registered, concurrency, lambda: wait_until_alone(server)
        )
    finally:
        server.stop()
    return figures(str(workers), first, storm)


def one_run_mosquitto(workdir: Path, devices: int) -> dict[str, Any]:
    """The same storm on Mosquitto (sessions in its memory, no token checked): what the
    client and the machine allow. Its listen backlog is 100, so 96 handshakes at once, as
    ``shugu bench mqtt`` gives it; more would be dropped SYNs measured as a slow broker."""
    registered = [(f"dev{i:05d}", "anonymous") for i in range(devices)]
    broker = Mosquitto(workdir)
    try:
        first, storm = sessions_then_storm(
            broker.port, registered, MOSQUITTO_CONCURRENCY, lambda: time.sleep(1.0)
        )
    finally:
        broker.stop()
    return figures("mosquitto", first, storm)


def figures(target: str, first: Round, storm: Round) -> dict[str, Any]:
    return {
        "target": target,
        "first_connect_s": round(first.seconds, 3),
        "storm_s": round(storm.seconds, 3),
        "connack_p50_ms": round(percentile(storm.latencies_ms, 0.50), 1),
        "connack_p99_ms": round(percentile(storm.latencies_ms, 0.99), 1),
        "reconnected": len(storm.devices),
        "session_present": storm.session_present,
        "errors": {**first.errors, **{f"storm {k}": v for k, v in storm.errors.items()}},
    }


def run(
    *,
    devices: int = 2000,
    runs: int = 3,
    workers: tuple[int, ...] = (1, 2),
    concurrency: int = 2000,
    log: bool = True,
) -> dict[str, Any]:
    raise_nofile()
    targets = [str(w) for w in workers] + ["mosquitto"]
    results: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    for number in range(1, runs + 1):
        for target in targets:
            with tempfile.TemporaryDirectory(prefix="shugu-reconnect-") as tmp:
                say(log, f"run {number}/{runs}, {target}: {devices} devices")
                if target == "mosquitto":
                    result = one_run_mosquitto(Path(tmp), devices)
                else:
                    result = one_run(Path(tmp), devices, int(target), concurrency)
                say(log, json.dumps(result))
                results[target].append(result)
    medians = {
        w: {
            key: statistics.median(r[key] for r in rs)
            for key in ("first_connect_s", "storm_s", "connack_p50_ms", "connack_p99_ms")
        }
        | {"reconnected_min": min(r["reconnected"] for r in rs)}
        | {"session_present_min": min(r["session_present"] for r in rs)}
        for w, rs in results.items()
    }
    return {
        "devices": devices,
        "concurrency": concurrency,
        "runs": runs,
        "mosquitto_concurrency": MOSQUITTO_CONCURRENCY,
        "medians": medians,
        "each": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    result = run(
        devices=args.devices,
        runs=args.runs,
        workers=tuple(args.workers),
        concurrency=args.concurrency,
        log=not args.json,
    )
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
