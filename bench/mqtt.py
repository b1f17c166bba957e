"""`shugu bench mqtt`: the built-in MQTT endpoint under many devices, next to Mosquitto.

Figures:
- endpoint_msgs_per_s / endpoint_points_per_s: ``devices`` concurrent connections, each with its
  own access token, spread over a few load-generator processes (``bench/mqtt_load.py``), each
  device publishing ThingsBoard telemetry of 10 metrics (``{"ts": ms, "values": {...}}``) to
  ``v1/devices/me/telemetry`` at QoS 1 with one message in flight, for a fixed time. A message
  counts when its PUBACK arrives within the window; shugu sends the PUBACK only once the points
  are durable. Afterwards the server is stopped and the DuckDB file is counted: every
  acknowledged point must be there.
- connect_rate_per_s: CONNECT → CONNACK for all devices (96 handshakes under way at once),
  each CONNECT authenticated by its token.
- idle_rss_mib: the server's resident memory (VmRSS) with every device connected and idle;
  idle_rss_mib_per_10k_connections: what the connections add, scaled to 10,000.
- mosquitto_msgs_per_s: the same load generator and messages through Mosquitto (per-device
  topics ``v1/devices/{name}/telemetry``, since Mosquitto has no ``me``) to one lean Python
  subscriber on ``v1/devices/+/telemetry`` at QoS 1 that acknowledges and otherwise ignores every
  message: messages it received in the same window. The broker stores nothing.
- ratio_endpoint_to_mosquitto: endpoint_msgs_per_s / mosquitto_msgs_per_s.
- transport_comparison (full runs only): ``bench/mqtt_transport.py``.

Devices are written to the registry in one bulk insert (with ``hash_token``, as
``Registry.create_device`` stores them): one by one they cost about 1.2 ms each, 12 s for 10,000.

``python -m bench.mqtt --profile OUT.txt [--profile-phase connect|publish]`` runs only the
endpoint phase, with py-spy attached to the server (``py-spy record -r 200 -f raw -p PID``)
while the devices publish, or while they connect; ``python -m bench.pyspy_summary OUT.txt``
sums the samples up.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bench.common import free_port, say
from bench.mqtt_load import (
    DeviceSpec,
    LoadGenerator,
    proc_cpu_s,
    raise_nofile,
    rss_mib,
    telemetry_values,
)
from bench.mqtt_subscriber import SubscriberProcess
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry, hash_token
from shugu.store.registry.engine import create_registry_engine
from shugu.store.registry.models import Device

METRICS_PER_MESSAGE = 10
MOSQUITTO = "/usr/sbin/mosquitto"
TELEMETRY_TOPIC = "v1/devices/me/telemetry"


def nofile_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- registry -------------------------------------------------------------------------------------


def prepare_registry(data: Path, n_devices: int) -> list[tuple[str, str]]:
    """A region, park and enterprise with ``n_devices`` generic devices; (name, token) each."""
    data.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{data / 'registry.sqlite'}"
    registry = Registry(url)
    try:
        region = registry.create_region("350112", "长乐区")
        park = registry.create_park(region.id, "滨海工业区")
        ent = registry.create_enterprise(park.id, "长乐纺织基准有限公司", "91110000600037341L")
    finally:
        registry.close()
    devices = [(f"dev{i:05d}", secrets.token_urlsafe(24)) for i in range(n_devices)]
    engine = create_registry_engine(url)
    try:
        with Session(engine) as session:
            session.execute(
                insert(Device),
                [
                    {
                        "enterprise_id": ent.id,
                        "name": name,
                        "profile": "generic",
                        "token_hash": hash_token(token),
                        "is_gateway": False,
                    }
                    for name, token in devices
                ],
            )
            session.commit()
    finally:
        engine.dispose()
    return devices


def device_specs(devices: list[tuple[str, str]], per_device_topic: bool) -> list[DeviceSpec]:
    return [
        DeviceSpec(
            client_id=name,
            username=token,
            topic=f"v1/devices/{name}/telemetry" if per_device_topic else TELEMETRY_TOPIC,
            values=telemetry_values(i, METRICS_PER_MESSAGE),
        )
        for i, (name, token) in enumerate(devices)
    ]


# -- servers --------------------------------------------------------------------------------------


def log_problems(path: Path, limit: int = 8) -> dict[str, Any]:
    """Warnings, errors and tracebacks in a server log: how many, and the first few lines."""
    lines: list[str] = []
    count = 0
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            if any(w in line for w in ("WARNING", "ERROR", "CRITICAL", "Traceback", "Error:")):
                count += 1
                if len(lines) < limit:
                    lines.append(line[:300])
    return {"count": count, "first": lines}


class ShuguServer:
    """`shugu serve` with HTTP and MQTT on free ports, its output in a log file."""

    def __init__(self, data: Path, log_path: Path, workers: int = 1) -> None:
        self.workers = workers
        self.http_port = free_port()
        self.mqtt_port = free_port()
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shugu.cli",
                "serve",
                "--data",
                str(data),
                "--http-port",
                str(self.http_port),
                "--mqtt-port",
                str(self.mqtt_port),
                # Every simulated device connects from 127.0.0.1.
                "--mqtt-max-connections-per-address",
                "0",
                "--log-level",
                "warning",
                "--workers",
                str(workers),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            preexec_fn=raise_nofile,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                health = self.health()
                joined = len(health.get("workers", [None]))
                if health.get("mqtt_port") == self.mqtt_port and joined == workers:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"shugu serve did not start; see {log_path}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def pids(self) -> list[int]:
        """The main process and its front processes (``--workers``)."""
        if self.workers == 1:
            return [self.pid]
        return [int(w["pid"]) for w in self.health()["workers"]]

    def health(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.http_port}/api/health"
        with urllib.request.urlopen(url, timeout=5) as answer:
            body: dict[str, Any] = json.loads(answer.read())
            return body

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode


class Mosquitto:
    """A Mosquitto broker on a free loopback port with a generated configuration."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "max_connections -1",
                    # The subscriber takes every message at QoS 1: no cap on messages in
                    # flight to it or queued for it, so that none is dropped.
                    "max_inflight_messages 0",
                    "max_queued_messages 0",
                    "persistence false",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "",
                ]
            )
        )
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_nofile,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"mosquitto did not start; see {self.log_path}") from None
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


# -- phases ---------------------------------------------------------------------------------------


def _settled_rss_all(pids: list[int], seconds: float = 2.0) -> float:
    """Resident memory of every process of the server, summed."""
    return sum(_settled_rss(pid, seconds if i == 0 else 0.0) for i, pid in enumerate(pids))


def _settled_rss(pid: int, seconds: float = 2.0) -> float:
    time.sleep(seconds)
    return rss_mib(pid)


class PySpy:
    """py-spy sampling process ``pid`` at 200 Hz into ``out`` (raw, folded stacks) until stopped."""

    def __init__(self, pid: int, out: Path) -> None:
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "-r",
                "200",
                "-f",
                "raw",
                "-d",
                "600",
                "-p",
                str(pid),
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # attached and sampling

    def stop(self) -> None:
        """Stop sampling; py-spy writes its output on SIGINT."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def measure_endpoint(
    tmp: Path,
    devices: list[tuple[str, str]],
    gen: LoadGenerator,
    seconds: float,
    log: bool,
    profile: tuple[str, Path] | None = None,
    drain_s: float = 30.0,
    workers: int = 1,
) -> dict[str, Any]:
    """The endpoint phase; ``profile`` = (phase, path): py-spy over "connect" or "publish".
    With ``workers`` > 1, memory and CPU are those of every process, summed."""
    out: dict[str, Any] = {"workers": workers}
    data = tmp / "data"
    server = ShuguServer(data, tmp / "shugu.log", workers)
    pids = server.pids
    spy: PySpy | None = None
    try:
        out["baseline_rss_mib"] = round(_settled_rss_all(pids, 1.0), 1)
        say(log, f"shugu: connecting {len(devices)} devices")
        if profile is not None and profile[0] == "connect":
            spy = PySpy(server.pid, profile[1])
        conn = gen.connect("127.0.0.1", server.mqtt_port, device_specs(devices, False))
        if spy is not None:
            spy.stop()
        out["devices_connected"] = conn.connected
        out["connect_rate_per_s"] = round(conn.rate)
        if conn.errors:
            out["connect_errors"] = conn.errors
        idle = _settled_rss_all(pids)
        out["idle_rss_mib"] = round(idle, 1)
        if conn.connected:
            added = idle - out["baseline_rss_mib"]
            out["idle_rss_mib_per_10k_connections"] = round(added / conn.connected * 10_000, 1)
        out["server_reported_connections"] = server.health().get("mqtt_connections")

        say(log, f"shugu: publishing for {seconds:.0f} s")
        if profile is not None and profile[0] == "publish":
            spy = PySpy(server.pid, profile[1])
        cpu0 = sum(proc_cpu_s(pid) for pid in pids)
        pub = gen.publish(seconds, drain_s=drain_s)
        server_cpu = sum(proc_cpu_s(pid) for pid in pids) - cpu0
        if spy is not None:
            spy.stop()
        out["endpoint_msgs_per_s"] = round(pub.msgs_per_s)
        out["endpoint_points_per_s"] = round(pub.msgs_per_s * METRICS_PER_MESSAGE)
        out["server_cpu_cores"] = round(server_cpu / pub.window_s, 2)
        out["loadgen_cpu_cores"] = round(pub.loadgen_cpu_s / pub.window_s, 2)
        out["rss_after_publish_mib"] = round(sum(rss_mib(pid) for pid in pids), 1)
        out["acked_msgs"] = pub.acks
        out["acked_points"] = pub.acks * METRICS_PER_MESSAGE
        if pub.unacked:
            out["unacked_msgs"] = pub.unacked
        if pub.closed_during:
            out["connections_closed_during_publish"] = pub.closed_during
        gen.disconnect()
    finally:
        if spy is not None:
            spy.stop()
        code = server.stop()
    out["server_exit_code"] = code
    store = DuckDBTelemetryStore(data / "telemetry.duckdb")
    try:
        out["stored_points"] = store.count_points()
    finally:
        store.close()
    out["every_acked_point_stored"] = out["stored_points"] == out["acked_points"]
    out["server_log_problems"] = log_problems(server.log_path)
    return out


def measure_mosquitto(
    tmp: Path, devices: list[tuple[str, str]], gen: LoadGenerator, seconds: float, log: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    broker = Mosquitto(tmp)
    sub: SubscriberProcess | None = None
    try:
        sub = SubscriberProcess("127.0.0.1", broker.port, "v1/devices/+/telemetry")
        say(log, f"mosquitto: connecting {len(devices)} devices")
        conn = gen.connect("127.0.0.1", broker.port, device_specs(devices, True))
        out["mosquitto_devices_connected"] = conn.connected
        out["mosquitto_connect_rate_per_s"] = round(conn.rate)
        if conn.errors:
            out["mosquitto_connect_errors"] = conn.errors
        out["mosquitto_idle_rss_mib"] = round(_settled_rss(broker.pid, 1.0), 1)

        say(log, f"mosquitto: publishing for {seconds:.0f} s")
        start_at = time.monotonic() + 0.5
        cpu_broker, cpu_sub = proc_cpu_s(broker.pid), proc_cpu_s(sub.pid)
        sub.start_window(start_at, seconds)
        pub = gen.publish(seconds, start_at=start_at)
        got = sub.window_result()
        cpu_broker = proc_cpu_s(broker.pid) - cpu_broker
        cpu_sub = proc_cpu_s(sub.pid) - cpu_sub
        rate = got["received_window"] / got["window_s"]
        out["mosquitto_msgs_per_s"] = round(rate)
        out["mosquitto_publisher_acks_per_s"] = round(pub.msgs_per_s)
        out["mosquitto_published_acked"] = pub.acks
        out["mosquitto_received_total"] = got["received_total"]
        # CPU over the window and the drain that follows it.
        busy = max(got["window_s"], pub.window_s)
        out["mosquitto_cpu_cores"] = round(cpu_broker / busy, 2)
        out["subscriber_cpu_cores"] = round(cpu_sub / busy, 2)
        out["mosquitto_loadgen_cpu_cores"] = round(pub.loadgen_cpu_s / pub.window_s, 2)
        gen.disconnect()
    finally:
        if sub is not None:
            sub.close()
        broker.stop()
    problems = log_problems(broker.log_path)
    if problems["count"]:
        out["mosquitto_log_problems"] = problems
    return out


def loadgen_processes(devices: int) -> int:
    return 2 if devices <= 2000 else 3


def run(*, quick: bool, devices: int, log: bool, workers: int = 1) -> dict[str, Any]:
    raise_nofile()
    if quick:
        devices = min(devices, 1000)
    seconds = 5.0 if quick else 10.0
    processes = loadgen_processes(devices)
    result: dict[str, Any] = {
        "quick": quick,
        "devices": devices,
        "seconds": seconds,
        "cpus": os.cpu_count(),
        "loadgen_processes": processes,
        "inflight_msgs_per_device": 1,
        "metrics_per_message": METRICS_PER_MESSAGE,
        "nofile_limit": nofile_limit(),
    }
    tmp = Path(tempfile.mkdtemp(prefix="shugu-bench-mqtt-"))
    gen = LoadGenerator(processes)
    try:
        t = time.perf_counter()
        registry_devices = prepare_registry(tmp / "data", devices)
        result["registry_setup_s"] = round(time.perf_counter() - t, 2)
        drain_s = 10.0 if quick else 30.0
        result |= measure_endpoint(
            tmp, registry_devices, gen, seconds, log, drain_s=drain_s, workers=workers
        )
        result |= measure_mosquitto(tmp, registry_devices, gen, seconds, log)
        if result["mosquitto_msgs_per_s"]:
            result["ratio_endpoint_to_mosquitto"] = round(
                result["endpoint_msgs_per_s"] / result["mosquitto_msgs_per_s"], 3
            )
    finally:
        gen.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if not quick:
        from bench.mqtt_transport import compare_transports

        result["transport_comparison"] = compare_transports(log=log)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="publish window (--profile)")
    parser.add_argument("--profile", type=Path, help="py-spy raw output of the server")
    parser.add_argument("--profile-phase", choices=("connect", "publish"), default="publish")
    parser.add_argument("--workers", type=int, default=1, help="shugu serve --workers")
    args = parser.parse_args()
    if args.profile is None:
        print(json.dumps(run(quick=False, devices=args.devices, log=True, workers=args.workers)))
        return
    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="shugu-bench-mqtt-"))
    gen = LoadGenerator(loadgen_processes(args.devices))
    try:
        devices = prepare_registry(tmp / "data", args.devices)
        profile = (args.profile_phase, args.profile.resolve())
        out = measure_endpoint(tmp, devices, gen, args.seconds, True, profile, workers=args.workers)
    finally:
        gen.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
