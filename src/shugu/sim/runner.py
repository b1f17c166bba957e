"""Run a simulated district against a live shugu: backfill history, then stream live data.

Live data goes through the real device APIs: an enterprise whose transport is ``mqtt_gateway``
publishes for all its machines through one MQTT connection as a ThingsBoard gateway; ``http``
enterprises post each machine's telemetry to ``/api/v1/{token}/telemetry``. History goes through
the bulk ingest path (Arrow batches to ``/api/v1/batch``), so that roll-ups have something to show
right after start. With ``speed`` above 1 the simulated clock starts in the past and runs fast
until it reaches the present, then keeps pace: shugu refuses timestamps from the future.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import paho.mqtt.client as paho
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion

from shugu.domain.timeutil import parse_bucket
from shugu.sim.client import ApiError, ShuguClient
from shugu.sim.district import DistrictSpec, FaultSpec
from shugu.sim.model import Fault, Plant, Readings
from shugu.sim.provision import PlantLayout, SimEnterprise

log = logging.getLogger(__name__)

#: Rows per bulk request: an Arrow stream of this many rows stays well under the 1 MiB limit.
BACKFILL_ROWS_PER_REQUEST = 30_000
#: Devices per gateway message, so that one message stays far below the payload limit.
DEVICES_PER_MESSAGE = 400


@dataclass
class RunningPlant:
    enterprise: SimEnterprise
    layout: PlantLayout
    plant: Plant


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Simulation:
    def __init__(self, district: DistrictSpec, plants: list[RunningPlant], start_ms: int) -> None:
        self.plants = plants
        self._district = district
        self._active: list[tuple[int, RunningPlant, str]] = []
        self.plan_faults(start_ms)

    def plan_faults(self, start_ms: int) -> None:
        """Schedule the district's faults relative to ``start_ms`` (e.g. when live data begins)."""
        self.start_ms = start_ms
        self._faults = sorted(
            (self._fault_window(f) for f in self._district.faults), key=lambda window: window[0]
        )

    def _fault_window(self, spec: FaultSpec) -> tuple[int, int | None, FaultSpec]:
        begin = self.start_ms + parse_bucket(spec.at, "at")
        end = begin + parse_bucket(spec.duration, "duration") if spec.duration else None
        return begin, end, spec

    def _apply_faults(self, t_ms: int) -> None:
        while self._faults and self._faults[0][0] <= t_ms:
            _, end, spec = self._faults.pop(0)
            for running in self.plants:
                if (
                    running.enterprise.spec.name == spec.enterprise
                    and running.layout.spec.line == spec.line
                ):
                    try:
                        running.plant.inject(Fault(spec.kind, spec.device, spec.severity))
                    except ValueError as exc:
                        # A scaled-down district may not have the device the fault names.
                        log.warning("fault %s skipped: %s", spec.kind, exc)
                        continue
                    log.info(
                        "fault %s on %s / %s", spec.kind, spec.enterprise, spec.device or spec.line
                    )
                    if end is not None:
                        self._active.append((end, running, spec.kind))
        for item in [a for a in self._active if a[0] <= t_ms]:
            self._active.remove(item)
            item[1].plant.clear(item[2])

    def step(self, t_ms: int, dt_s: float) -> list[tuple[RunningPlant, Readings]]:
        self._apply_faults(t_ms)
        return [(p, p.plant.step(t_ms, dt_s)) for p in self.plants]


# -- history --------------------------------------------------------------------------------------


def backfill(
    client: ShuguClient,
    sim: Simulation,
    from_ms: int,
    to_ms: int,
    step_s: float,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Step the district from ``from_ms`` to ``to_ms`` and send it as Arrow batches."""
    rows: dict[int, list[tuple[str, str, int, float]]] = {}
    sent = 0
    t = from_ms
    while t < to_ms:
        t += int(step_s * 1000)
        for running, readings in sim.step(t, step_s):
            bucket = rows.setdefault(running.enterprise.id, [])
            for device, values in readings.items():
                bucket.extend((device, metric, t, value) for metric, value in values.items())
        for ent_id, bucket in rows.items():
            if len(bucket) >= BACKFILL_ROWS_PER_REQUEST:
                sent += _send_rows(client, ent_id, bucket)
                bucket.clear()
        if progress and (t - from_ms) % (86_400_000) < step_s * 1000:
            progress(f"backfilled to {time.strftime('%Y-%m-%d', time.localtime(t / 1000))}")
    for ent_id, bucket in rows.items():
        if bucket:
            sent += _send_rows(client, ent_id, bucket)
    return sent


def _send_rows(
    client: ShuguClient, enterprise_id: int, rows: list[tuple[str, str, int, float]]
) -> int:
    devices, metrics, stamps, values = zip(*rows, strict=True)
    table = pa.table(
        {
            "device": pa.array(devices).dictionary_encode(),
            "metric": pa.array(metrics).dictionary_encode(),
            "ts": pa.array(np.asarray(stamps, dtype=np.int64)),
            "value": pa.array(np.asarray(values, dtype=np.float64)),
        }
    )
    answer = client.post_arrow(f"/api/v1/batch?enterprise={enterprise_id}", table)
    return int(answer.get("accepted", 0))


# -- live -----------------------------------------------------------------------------------------


class GatewayLink:
    """One enterprise's MQTT connection as a ThingsBoard gateway."""

    def __init__(self, host: str, port: int, token: str, name: str) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{name}")
        self.client.username_pw_set(token)
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(host, port, keepalive=60)
        self.client.loop_start()

    def publish(self, t_ms: int, readings: Readings) -> None:
        names = list(readings)
        for i in range(0, len(names), DEVICES_PER_MESSAGE):
            doc = {
                n: [{"ts": t_ms, "values": readings[n]}] for n in names[i : i + DEVICES_PER_MESSAGE]
            }
            self.client.publish("v1/gateway/telemetry", json.dumps(doc), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class LiveRunner:
    def __init__(
        self,
        client: ShuguClient,
        sim: Simulation,
        mqtt_host: str,
        mqtt_port: int | None,
        period_s: float = 5.0,
        speed: float = 1.0,
    ) -> None:
        self.client = client
        self.sim = sim
        self.period_s = period_s
        self.speed = speed
        self._links: dict[int, GatewayLink] = {}
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sim-http")
        enterprises = {p.enterprise.id: p.enterprise for p in sim.plants}
        for ent in enterprises.values():
            if ent.spec.transport == "mqtt_gateway" and ent.gateway:
                if mqtt_port is None:
                    raise ValueError("an MQTT port is needed for enterprises that use a gateway")
                self._links[ent.id] = GatewayLink(
                    mqtt_host, mqtt_port, ent.tokens[ent.gateway], str(ent.id)
                )
        self.sent_messages = 0

    def run(self, stop: threading.Event, sim_clock_ms: int) -> None:
        """Until ``stop``: advance simulated time and send what the machines report."""
        t = sim_clock_ms
        failing = False
        while not stop.is_set():
            started = time.monotonic()
            dt_s = self.period_s * self.speed
            # Never run ahead of the present: shugu refuses the future.
            t = min(t + int(dt_s * 1000), now_ms())
            try:
                self._send(t, self.sim.step(t, dt_s))
                if failing:
                    log.warning("simulator reaches shugu again")
                    failing = False
            except OSError as exc:
                if not failing:
                    log.warning("simulator cannot reach shugu: %s", exc)
                    failing = True
            stop.wait(max(0.0, self.period_s - (time.monotonic() - started)))

    def _send(self, t_ms: int, results: list[tuple[RunningPlant, Readings]]) -> None:
        by_enterprise: dict[int, Readings] = {}
        for running, readings in results:
            by_enterprise.setdefault(running.enterprise.id, {}).update(readings)
        futures = []
        for running, readings in results:
            ent = running.enterprise
            if ent.id in self._links:
                continue
            for device, values in readings.items():
                token = ent.tokens.get(device)
                if token:
                    payload = {"ts": t_ms, "values": values}
                    futures.append(self._pool.submit(self.client.device_telemetry, token, payload))
        for ent_id, link in self._links.items():
            link.publish(t_ms, by_enterprise.get(ent_id, {}))
            self.sent_messages += 1
        refused = 0
        for future in futures:
            try:
                future.result()
                self.sent_messages += 1
            except ApiError as exc:
                refused += 1
                last = exc
        if refused:
            log.warning("shugu refused %d of %d device messages: %s", refused, len(futures), last)

    def close(self) -> None:
        for link in self._links.values():
            link.close()
        self._pool.shutdown(wait=True)
