"""MQTT transport for the device endpoint: a library broker (amqtt) or shugu's own asyncio one.

Both run embedded in one Python process of their own, under the same event loop (uvloop, as
``shugu serve`` uses), and do nothing with the messages, so that only the transport is measured:

- amqtt: ``amqtt.broker.Broker`` on a free loopback port, anonymous connections allowed, and one
  plugin whose ``on_broker_message_received`` counts each message and does nothing else.
- ours: ``shugu.ingest.mqtt.server.MqttEndpoint`` with an application that lets every device in
  and answers every publish with ``Outcome()`` at once.

The same load generator as ``shugu bench mqtt`` (``bench/mqtt_load.py``) connects ``devices``
clients and publishes the same 10-metric messages at QoS 1, one in flight per client.
Figures per transport: msgs_per_s (PUBACKs within the window), connect_rate_per_s, the
process's RSS before and with every client connected and idle, and RSS per connection.

Run alone: ``python -m bench.mqtt_transport [--devices 1000] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import multiprocessing as mp
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from amqtt.broker import Broker, BrokerContext  # type: ignore[import-untyped]
from amqtt.plugins.base import BasePlugin  # type: ignore[import-untyped]
from amqtt.session import ApplicationMessage  # type: ignore[import-untyped]

from bench.mqtt_load import (
    DeviceSpec,
    LoadGenerator,
    new_loop,
    proc_cpu_s,
    raise_nofile,
    rss_mib,
    telemetry_values,
)
from shugu.domain.entities import DeviceRef
from shugu.ingest.mqtt.codec import Connect, Publish
from shugu.ingest.mqtt.connection import MqttConnection, Outcome
from shugu.ingest.mqtt.server import MqttEndpoint

TOPIC = "v1/devices/me/telemetry"
MAX_PACKET_BYTES = 1024 * 1024 + 64 * 1024

#: Messages the amqtt plugin saw, in the broker's process.
_AMQTT_RECEIVED = [0]


def _say(log: bool, *parts: object) -> None:
    if log:
        print("  ·", *parts, file=sys.stderr, flush=True)


# -- the two servers, each run in a child process -------------------------------------------------


class NullApplication:
    """Lets every client in as a device of its own; every publish is 'stored' at once."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.publishes = 0

    def authenticate(self, connect: Connect) -> DeviceRef | None:
        return DeviceRef(next(self._ids), 1, connect.client_id, "generic")

    def may_subscribe(self, device: DeviceRef, topic_filter: str) -> bool:
        return True

    async def on_publish(self, conn: MqttConnection, publish: Publish) -> Outcome:
        self.publishes += 1
        return Outcome()

    def on_connected(self, conn: MqttConnection) -> None:
        pass

    def on_disconnected(self, conn: MqttConnection) -> None:
        pass

    def on_refused(self, device: DeviceRef | None, code: str, reason: str) -> None:
        pass


class AmqttNullPlugin(BasePlugin[BrokerContext]):  # type: ignore[misc]
    """Sees every message the broker receives, counts it, and does nothing else."""

    async def on_broker_message_received(
        self, *, client_id: str, message: ApplicationMessage
    ) -> None:
        _AMQTT_RECEIVED[0] += 1


async def _run_ours(pipe: Connection) -> None:
    app = NullApplication()
    endpoint = MqttEndpoint(app, max_packet_bytes=MAX_PACKET_BYTES)
    port = await endpoint.start("127.0.0.1", 0)
    pipe.send({"port": port})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)
    received = app.publishes
    await endpoint.stop()
    pipe.send({"received": received})


async def _run_amqtt(pipe: Connection, port: int) -> None:
    logging.getLogger("amqtt").setLevel(logging.ERROR)
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            f"{__name__}.AmqttNullPlugin": {},
        },
    }
    broker = Broker(config)
    await broker.start()
    pipe.send({"port": port})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)
    received = _AMQTT_RECEIVED[0]
    try:
        await asyncio.wait_for(broker.shutdown(), 30)
    except TimeoutError:
        pipe.send({"received": received, "shutdown": "timed out after 30 s"})
        return
    pipe.send({"received": received})


def _server_main(pipe: Connection, kind: str, port: int) -> None:
    raise_nofile()
    loop = new_loop()
    try:
        if kind == "ours":
            loop.run_until_complete(_run_ours(pipe))
        else:
            loop.run_until_complete(_run_amqtt(pipe, port))
    finally:
        loop.close()


@dataclass
class _Child:
    proc: mp.process.BaseProcess
    pipe: Connection
    port: int

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    def stop(self) -> dict[str, Any]:
        """Stop the server; what it reports (messages received, shutdown trouble)."""
        report: dict[str, Any] = {}
        try:
            self.pipe.send("stop")
            if self.pipe.poll(60):
                report = self.pipe.recv()
        except (OSError, EOFError):
            pass
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.pipe.close()
        return report


def _start_child(kind: str) -> _Child:
    from bench.common import free_port

    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_server_main, args=(theirs, kind, free_port()), daemon=True)
    proc.start()
    theirs.close()
    if not ours.poll(60):
        proc.kill()
        raise RuntimeError(f"the {kind} server did not start")
    return _Child(proc, ours, ours.recv()["port"])


# -- measuring ------------------------------------------------------------------------------------


def measure_transport(
    kind: str, gen: LoadGenerator, devices: int, seconds: float, log: bool
) -> dict[str, Any]:
    specs = [
        DeviceSpec(f"dev{i:05d}", f"token{i:05d}", TOPIC, telemetry_values(i))
        for i in range(devices)
    ]
    child = _start_child(kind)
    out: dict[str, Any] = {}
    try:
        time.sleep(1.0)
        baseline = rss_mib(child.pid)
        _say(log, f"{kind}: connecting {devices} clients")
        conn = gen.connect("127.0.0.1", child.port, specs)
        out["connected"] = conn.connected
        out["connect_rate_per_s"] = round(conn.rate)
        if conn.errors:
            out["connect_errors"] = conn.errors
        time.sleep(2.0)
        idle = rss_mib(child.pid)
        out["baseline_rss_mib"] = round(baseline, 1)
        out["idle_rss_mib"] = round(idle, 1)
        if conn.connected:
            out["rss_kib_per_connection"] = round((idle - baseline) * 1024 / conn.connected, 1)
        _say(log, f"{kind}: publishing for {seconds:.0f} s")
        cpu0 = proc_cpu_s(child.pid)
        pub = gen.publish(seconds)
        out["server_cpu_cores"] = round((proc_cpu_s(child.pid) - cpu0) / pub.window_s, 2)
        out["loadgen_cpu_cores"] = round(pub.loadgen_cpu_s / pub.window_s, 2)
        out["msgs_per_s"] = round(pub.msgs_per_s)
        out["acked"] = pub.acks
        if pub.unacked:
            out["unacked"] = pub.unacked
        out["rss_after_publish_mib"] = round(rss_mib(child.pid), 1)
        gen.disconnect()
    finally:
        report = child.stop()
    out["received"] = report.get("received")
    if "shutdown" in report:
        out["shutdown"] = report["shutdown"]
    return out


def compare_transports(
    *, devices: int = 1000, seconds: float = 10.0, log: bool = False
) -> dict[str, Any]:
    """amqtt against shugu's own transport, both doing nothing with the messages."""
    raise_nofile()
    result: dict[str, Any] = {"devices": devices, "seconds": seconds, "loop": "uvloop"}
    gen = LoadGenerator(2)
    try:
        result["ours"] = measure_transport("ours", gen, devices, seconds, log)
        result["amqtt"] = measure_transport("amqtt", gen, devices, seconds, log)
    finally:
        gen.close()
    if result["amqtt"]["msgs_per_s"]:
        result["ratio_ours_to_amqtt"] = round(
            result["ours"]["msgs_per_s"] / result["amqtt"]["msgs_per_s"], 2
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(compare_transports(devices=args.devices, seconds=args.seconds, log=True)))


if __name__ == "__main__":
    main()
