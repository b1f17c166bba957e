"""A lean MQTT subscriber in its own process: subscribes at QoS 1, acknowledges every message
and does nothing else with it (the receiving side of the Mosquitto reference measurement)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.mqtt_load import (
    _PUBLISH,
    _SUBACK,
    DISCONNECT_PACKET,
    connect_packet,
    new_loop,
    raise_nofile,
    subscribe_packet,
)


class SubscriberProtocol(asyncio.Protocol):
    """Subscribes at QoS 1; acknowledges and counts every message, looks at nothing else."""

    def __init__(self, topic_filter: str) -> None:
        self._filter = topic_filter
        self._buf = b""
        self.received = 0
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(  # type: ignore[attr-defined]
            connect_packet("bench-subscriber", None, 300) + subscribe_packet(1, self._filter, 1)
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed before SUBACK"))
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        n = len(buf)
        i = 0
        acks: list[bytes] = []
        while n - i >= 2:
            length = buf[i + 1]
            j = i + 2
            if length & 0x80:
                length, mult = length & 0x7F, 128
                incomplete = False
                while True:
                    if j >= n:
                        incomplete = True
                        break
                    b = buf[j]
                    j += 1
                    length += (b & 0x7F) * mult
                    mult *= 128
                    if not b & 0x80:
                        break
                if incomplete:
                    break
            if j + length > n:
                break
            first = buf[i]
            kind = first >> 4
            if kind == _PUBLISH:
                self.received += 1
                if first & 0x06:
                    topic_len = (buf[j] << 8) | buf[j + 1]
                    at = j + 2 + topic_len
                    acks.append(b"\x40\x02" + buf[at : at + 2])
            elif kind == _SUBACK and not self.ready.done():
                self.ready.set_result(None)
            i = j + length
        self._buf = buf[i:] if i < n else b""
        if acks and self.transport is not None:
            self.transport.write(b"".join(acks))


async def _serve_subscriber(pipe: Connection, host: str, port: int, topic_filter: str) -> None:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: SubscriberProtocol(topic_filter), host, port)
    await asyncio.wait_for(proto.ready, 10)
    pipe.send({"subscribed": True})
    while True:
        command, args = await loop.run_in_executor(None, pipe.recv)
        if command == "exit":
            if proto.transport is not None:
                proto.transport.write(DISCONNECT_PACKET)
                proto.transport.close()
            pipe.send({})
            return
        if command == "window":
            start_at, seconds = args["start_at"], args["seconds"]
            await asyncio.sleep(max(0.0, start_at - time.monotonic()))
            first = proto.received
            t0 = time.monotonic()
            await asyncio.sleep(max(0.0, start_at + seconds - time.monotonic()))
            in_window = proto.received - first
            t1 = time.monotonic()
            # Let the broker deliver what it already acknowledged to the publishers.
            deadline = t1 + args.get("drain_s", 30.0)
            last, quiet_since = proto.received, time.monotonic()
            while time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                if proto.received != last:
                    last, quiet_since = proto.received, time.monotonic()
                elif time.monotonic() - quiet_since > 1.0:
                    break
            pipe.send(
                {
                    "received_window": in_window,
                    "window_s": t1 - t0,
                    "received_total": proto.received,
                }
            )


def _subscriber_main(pipe: Connection, host: str, port: int, topic_filter: str) -> None:
    raise_nofile()
    loop = new_loop()
    try:
        loop.run_until_complete(_serve_subscriber(pipe, host, port, topic_filter))
    finally:
        loop.close()


class SubscriberProcess:
    """One lean subscriber in a process of its own."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        ctx = mp.get_context("spawn")
        self._pipe, theirs = ctx.Pipe()
        self.proc = ctx.Process(
            target=_subscriber_main, args=(theirs, host, port, topic_filter), daemon=True
        )
        self.proc.start()
        theirs.close()
        if not self._pipe.poll(30):
            self.close()
            raise TimeoutError("the subscriber did not subscribe in time")
        self._pipe.recv()

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    def start_window(self, start_at: float, seconds: float, drain_s: float = 30.0) -> None:
        self._pipe.send(("window", {"start_at": start_at, "seconds": seconds, "drain_s": drain_s}))

    def window_result(self, timeout_s: float = 120.0) -> dict[str, Any]:
        if not self._pipe.poll(timeout_s):
            raise TimeoutError("the subscriber did not report in time")
        reply: dict[str, Any] = self._pipe.recv()
        return reply

    def close(self) -> None:
        try:
            self._pipe.send(("exit", {}))
            self._pipe.poll(5)
        except (OSError, EOFError):
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self._pipe.close()
