"""Overload: ten times the sustainable rate; shugu must push back and stay within its memory.

First the sustainable rate is measured: a few closed-loop HTTP clients post Arrow batches as
fast as they are answered (``sustainable_points_per_s``). Then a flood is offered at ten times
that rate from many connections that ignore ``Retry-After`` (a misbehaving fleet), while MQTT
devices stream at QoS 1 beside it. The flood re-sends a fixed set of prebuilt requests, so the
client spends its CPU on sending rather than encoding; re-sent points are the same keys, which
the store de-duplicates on read.

What must hold: the server keeps serving (no crash, no OOM), answers the excess with 429 and a
``Retry-After``, holds MQTT senders back (PUBACKs come later) instead of refusing them, keeps
its backlog within ``max_backlog_points``, its resident memory within a bound that does not
grow with the flood, and loses nothing it acknowledged. The run reports the offered and
accepted rates, the answers by status, PUBACK latency before and during the flood, the peak
backlog and the peak RSS over the baseline.

With ``workers`` > 1 (``shugu serve --workers``) the connections are spread over main and its
fronts; main's one writer is behind for all of them. Each front holds back its share of the
node's backlog bound (``Settings.per_process``, and main's FULL answer on the channel), so the
run also reports, per process, its refusals (429s) and the PUBACK latency of the MQTT devices it
holds (which process holds a connection is read from /proc), and the node's backlog: main's
plus the rows each front has sent and not yet seen answered (``rows_in_flight``), and the
resident memory of every process, summed. The server is not pinned to one core then.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import say
from bench.faults import FaultOptions
from bench.faults.clients import ARROW_STREAM, MqttDevice, MqttFleet, Pacer, read_http_answer
from bench.faults.ledger import ApiReader, DeviceLedger, LatencyWindow, Ledger, verify
from bench.faults.served import Served, make_district
from shugu.ingest.arrow_codec import write_stream


@dataclass(frozen=True)
class OverloadSizes:
    flood_devices: int
    mqtt_devices: int
    #: Units (10 points each) per prebuilt request.
    units_per_request: int
    requests_per_device: int
    probe_connections: int
    flood_connections: int
    mqtt_window: int
    probe_s: float
    baseline_s: float
    flood_s: float
    factor: float = 10.0
    max_backlog_points: int = 2_000_000
    max_ingest_requests: int = 32
    #: Pin the server to one core and the clients to the other, so that they do not compete.
    pin_cores: bool = True
    drain_s: float = 120.0


FULL = OverloadSizes(
    flood_devices=40,
    mqtt_devices=100,
    units_per_request=2000,
    requests_per_device=4,
    probe_connections=8,
    flood_connections=200,
    mqtt_window=10,
    probe_s=8.0,
    baseline_s=5.0,
    flood_s=30.0,
)
QUICK = OverloadSizes(
    flood_devices=10,
    mqtt_devices=20,
    units_per_request=1000,
    requests_per_device=2,
    probe_connections=8,
    flood_connections=64,
    mqtt_window=5,
    probe_s=3.0,
    baseline_s=2.0,
    flood_s=6.0,
    max_backlog_points=200_000,
)


def run(options: FaultOptions) -> dict[str, object]:
    sizes = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory(prefix="shugu-overload-") as tmp:
        return run_overload(Path(tmp), sizes, log=options.log, workers=options.workers)


@dataclass
class _Request:
    device: DeviceLedger
    units: range
    wire: bytes

    @property
    def points(self) -> int:
        return len(self.units) * self.device.metrics


class HttpFlood:
    """Connections that post prebuilt Arrow batches round-robin, paced or as fast as answered.

    A 200 acknowledges the request's units; a 429 is counted with its Retry-After and the
    connection goes straight on to its next request (the flood does not back off).
    """

    def __init__(
        self,
        requests: list[_Request],
        ledger: Ledger,
        host: str,
        port: int,
        connections: int,
        pacer: Pacer | None,
    ) -> None:
        self.requests = requests
        self.ledger = ledger
        self.host, self.port = host, port
        self.connections = connections
        self.pacer = pacer
        self.statuses: dict[int, int] = {}
        self.retry_after: dict[str, int] = {}
        self.offered_points = 0
        self.accepted_points = 0
        self.errors = 0
        self._stop = False
        self._turn = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.connections)]

    async def stop(self) -> None:
        self._stop = True
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _next(self) -> _Request:
        request = self.requests[self._turn % len(self.requests)]
        self._turn += 1
        return request

    async def _client(self) -> None:
        writer: asyncio.StreamWriter | None = None
        reader: asyncio.StreamReader | None = None
        try:
            while not self._stop:
                if writer is None:
                    try:
                        reader, writer = await asyncio.open_connection(self.host, self.port)
                    except OSError:
                        self.errors += 1
                        await asyncio.sleep(0.1)
                        continue
                assert reader is not None
                request = self._next()
                if self.pacer is not None:
                    await self.pacer.take(request.points)
                sent_at = time.monotonic()
                self.offered_points += request.points
                try:
                    writer.write(request.wire)
                    status, headers, _ = await asyncio.wait_for(read_http_answer(reader), 60)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    self.errors += 1
                    writer.close()
                    writer = reader = None
                    continue
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 200:
                    self.accepted_points += request.points
                    self.ledger.ack(request.device, request.units, sent_at)
                elif status == 429:
                    value = headers.get("retry-after", "missing")
                    self.retry_after[value] = self.retry_after.get(value, 0) + 1
                if headers.get("connection") == "close":
                    writer.close()
                    writer = reader = None
        finally:
            if writer is not None:
                writer.close()


def _prebuilt(devices: list[DeviceLedger], sizes: OverloadSizes, token: str) -> list[_Request]:
    requests = []
    for _ in range(sizes.requests_per_device):
        for dev in devices:
            units = dev.new_units(sizes.units_per_request)
            body = write_stream(dev.arrow_table(units))
            head = (
                "POST /api/v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: {ARROW_STREAM}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            requests.append(_Request(dev, units, head.encode() + body))
    return requests


def run_overload(
    workdir: Path, sizes: OverloadSizes, *, log: bool = False, workers: int = 1
) -> dict[str, Any]:
    n = sizes.flood_devices + sizes.mqtt_devices
    district = make_district(workdir / "data", n)
    server = Served(
        district,
        log_path=workdir / "serve.log",
        extra_args=[
            "--max-backlog-points",
            str(sizes.max_backlog_points),
            "--max-ingest-requests",
            str(sizes.max_ingest_requests),
        ],
        workers=workers,
    )
    server.start()
    server.wait_for_fronts()
    # With fronts the server's processes share both cores with the clients.
    pinned = workers == 1 and sizes.pin_cores and _pin(server.pid, 0) and _pin(0, 1)
    try:
        ledger = Ledger(district.devices, ts0=int(time.time() * 1000) - 3 * 3_600_000)
        result = asyncio.run(_phases(server, ledger, sizes, log))
        result["pinned_cores"] = pinned
        say(log, "overload: reading every device back through the API")
        verification = verify(ledger, [ApiReader(server)])
    finally:
        server.stop()
        if pinned:
            os.sched_setaffinity(0, range(os.cpu_count() or 1))
    out: dict[str, Any] = verification.as_dict()
    out.update(result)
    out["server_log"] = server.log_problems()
    out["sizes"] = asdict(sizes)
    say(log, f"overload: acked {out['acked']:,} lost {out['lost']}; peak RSS {out['rss_peak_mib']}")
    return out


def _pin(pid: int, core: int) -> bool:
    """Run ``pid`` (0: this process) on one core only; False where there are not two."""
    if (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(pid, {core})
    return True


async def _sample(server: Served, until: float, period_s: float) -> list[dict[str, float]]:
    """Main's backlog, the fronts' rows in flight and every process's memory, every
    ``period_s``. The node's backlog counts a front's rows main has received but not yet
    answered twice (in main's backlog and the front's in flight): an upper bound."""
    samples = []
    while time.monotonic() < until:
        health = await asyncio.to_thread(server.health, 10.0)
        rss = await asyncio.to_thread(server.rss_by_process_mib)
        fronts = health.get("workers", [])[1:]
        in_flight = [float(w.get("rows_in_flight", 0)) for w in fronts]
        main_backlog = float(health.get("backlog_points", 0))
        samples.append(
            {
                "rss_mib": round(sum(rss.values()), 1),
                "rss_main_mib": round(rss["main"], 1),
                "backlog_points": main_backlog,
                "front_rows_in_flight_max": max(in_flight, default=0.0),
                "node_backlog_points": main_backlog + sum(in_flight),
                "queued_jobs": float(health.get("queued_jobs", 0)),
            }
        )
        await asyncio.sleep(period_s)
    return samples


def _owners(server: Served, mqtt: MqttFleet) -> dict[str, list[MqttDevice]]:
    """The MQTT devices by the process holding their connection now: ``main`` or ``front``."""
    owners = server.connection_owners()
    by: dict[str, list[MqttDevice]] = {"main": [], "front": [], "unknown": []}
    for device in mqtt.devices:
        pid = owners.get(device.local_port or -1)
        key = "unknown" if pid is None else "main" if pid == server.pid else "front"
        by[key].append(device)
    return by


def _latency_of(devices: list[MqttDevice]) -> dict[str, float | int]:
    """The PUBACK latency of these devices since the last take, all together."""
    window = LatencyWindow()
    for device in devices:
        for ms in device.latency.take_samples():
            window.add(ms)
    return window.take()


def _refusals_by_worker(health: dict[str, Any]) -> list[dict[str, int]]:
    """Each process's refusals of HTTP ingest, over the backlog bound (main's are its store's,
    which count the fronts' batches it answered FULL too) and over the requests at once; and
    the MQTT batches it held until the backlog had room."""
    workers = health.get("workers", [])
    out = []
    for index, worker in enumerate(workers):
        overload = worker.get("overload_refusals") if index else health.get("overload_refusals")
        busy = worker.get("busy_refusals") if index else health.get("busy_refusals")
        out.append(
            {
                "pid": int(worker["pid"]),
                "overload_refusals": int(overload or 0),
                "busy_refusals": int(busy or 0),
                "mqtt_batches_held": int(worker.get("held_for_room", 0)),
            }
        )
    return out


async def _phases(
    server: Served, ledger: Ledger, sizes: OverloadSizes, log: bool
) -> dict[str, Any]:
    flood_devs = ledger.devices[: sizes.flood_devices]
    mqtt_devs = ledger.devices[sizes.flood_devices :]
    requests = await asyncio.to_thread(_prebuilt, flood_devs, sizes, server.district.admin_token)
    rss_idle = sum(server.rss_by_process_mib().values())

    # 1. The sustainable rate: a few closed-loop clients, answered as fast as the server can.
    probe = HttpFlood(
        requests, ledger, "127.0.0.1", server.http_port, sizes.probe_connections, None
    )
    probe.start()
    await asyncio.sleep(1.0)  # warm-up, not counted
    accepted0, t0 = probe.accepted_points, time.monotonic()
    await asyncio.sleep(sizes.probe_s)
    sustainable = (probe.accepted_points - accepted0) / (time.monotonic() - t0)
    await probe.stop()
    say(log, f"overload: sustainable {sustainable:,.0f} points/s ({probe.statuses})")

    # 2. MQTT devices stream alone: the PUBACK latency without a flood.
    assert server.mqtt_port is not None
    mqtt = MqttFleet(ledger, mqtt_devs, "127.0.0.1", server.mqtt_port, window=sizes.mqtt_window)
    mqtt.start()
    await asyncio.sleep(1.0)
    ledger.latency.take()
    owners = await asyncio.to_thread(_owners, server, mqtt)
    for devices in owners.values():
        _latency_of(devices)
    await asyncio.sleep(sizes.baseline_s)
    puback_baseline = ledger.latency.take()
    baseline_by_process = {k: _latency_of(v) for k, v in owners.items()}
    rss_baseline_by_process = await asyncio.to_thread(server.rss_by_process_mib)
    rss_baseline = sum(rss_baseline_by_process.values())

    # 3. The flood at ten times the sustainable rate, beside the MQTT devices.
    target = sizes.factor * sustainable
    flood = HttpFlood(
        requests,
        ledger,
        "127.0.0.1",
        server.http_port,
        sizes.flood_connections,
        Pacer(target),
    )
    say(log, f"overload: flooding at {target:,.0f} points/s for {sizes.flood_s:.0f} s")
    t_flood = time.monotonic()
    flood.start()
    samples = await _sample(server, t_flood + sizes.flood_s, 0.5)
    flood_s = time.monotonic() - t_flood
    owners_after = await asyncio.to_thread(_owners, server, mqtt)
    await flood.stop()
    puback_flood = ledger.latency.take()
    flood_by_process = {k: _latency_of(v) for k, v in owners.items()}
    mqtt_acked_flood = puback_flood.get("n", 0)
    health = await asyncio.to_thread(server.health)
    drained = await mqtt.drain(sizes.drain_s)

    rss_peak = max(s["rss_mib"] for s in samples)
    moved = sum(
        1
        for key, devices in owners.items()
        for device in devices
        if device not in owners_after.get(key, [])
    )
    return {
        "workers": server.workers,
        "mqtt_devices_by_process": {k: len(v) for k, v in owners.items()},
        "mqtt_devices_moved_in_flood": moved,
        "mqtt_puback_baseline_by_process": baseline_by_process,
        "mqtt_puback_in_flood_by_process": flood_by_process,
        "pushback_by_process": _refusals_by_worker(health),
        "node_backlog_peak_points": int(max(s["node_backlog_points"] for s in samples)),
        "front_rows_in_flight_peak": int(max(s["front_rows_in_flight_max"] for s in samples)),
        "rss_baseline_by_process_mib": {k: round(v, 1) for k, v in rss_baseline_by_process.items()},
        "rss_main_peak_mib": round(max(s["rss_main_mib"] for s in samples), 1),
        "sustainable_points_per_s": round(sustainable),
        "target_points_per_s": round(target),
        "offered_points_per_s": round(flood.offered_points / flood_s),
        "offered_factor": round(flood.offered_points / flood_s / max(sustainable, 1.0), 2),
        "accepted_points_per_s_in_flood": round(flood.accepted_points / flood_s),
        "http_statuses": {str(k): v for k, v in sorted(flood.statuses.items())},
        "retry_after_values": flood.retry_after,
        "http_errors": flood.errors,
        "mqtt_puback_baseline": puback_baseline,
        "mqtt_puback_in_flood": puback_flood,
        "mqtt_msgs_acked_in_flood": mqtt_acked_flood,
        "mqtt_refused": {k: v for k, v in ledger.stats.statuses.items()},
        "backlog_peak_points": int(max(s["backlog_points"] for s in samples)),
        "max_backlog_points": sizes.max_backlog_points,
        "overload_refusals": health.get("overload_refusals"),
        "rss_idle_mib": round(rss_idle, 1),
        "rss_baseline_mib": round(rss_baseline, 1),
        "rss_peak_mib": round(rss_peak, 1),
        "rss_over_baseline_mib": round(rss_peak - rss_baseline, 1),
        "rss_series_mib": [s["rss_mib"] for s in samples],
        "server_alive": server.alive,
        "drained": drained,
    }
