"""Run a simulated district against a live shugu: backfill history, then stream live data.

Live data goes through the real device APIs: an enterprise whose transport is ``mqtt_gateway``
publishes for all its machines through one MQTT connection as a ThingsBoard gateway; ``http``
enterprises post each machine's telemetry to ``/api/v1/{token}/telemetry``. History goes through
the bulk ingest path (Arrow batches to ``/api/v1/batch``), so that roll-ups have something to show
right after start. With ``speed`` above 1 the simulated clock starts in the past and runs fast
until it reaches the present, then keeps pace: shugu refuses timestamps from the future.

What devices say about themselves (client attributes: a loom's type, width and rated speed, a
meter's role) goes the way a real device sends it: a gateway publishes its devices' attributes
on ``v1/gateway/attributes`` each time its connection stands, a device on HTTP posts them to
``/api/v1/{token}/attributes`` once, again after a failure until shugu has them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import paho.mqtt.client as paho
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion

from shugu.domain.timeutil import parse_bucket
from shugu.sim.client import ApiError, ShuguClient
from shugu.sim.district import DistrictSpec, FaultSpec
from shugu.sim.model import (
    Attributes,
    AttributeValue,
    Fault,
    KeepsCounters,
    Plant,
    Readings,
    ReportsAttributes,
)
from shugu.sim.provision import PlantLayout, SimEnterprise

log = logging.getLogger(__name__)

#: Rows per bulk request: an Arrow stream of this many rows stays well under the 1 MiB limit.
BACKFILL_ROWS_PER_REQUEST = 30_000
#: Devices per gateway message, so that one message stays far below the payload limit.
DEVICES_PER_MESSAGE = 400
#: Most steps a live run takes to catch up with the present (steps grow with the gap).
CATCH_UP_STEPS = 20


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
        #: Faults in progress that end by themselves: (end, plant, fault).
        self._active: list[tuple[int, RunningPlant, FaultSpec]] = []
        #: Every fault in progress, on the plant it was injected into.
        self._injected: list[tuple[RunningPlant, FaultSpec]] = []
        #: While True (a backfill), faults that start are history being replayed: they are
        #: noted in ``replayed`` instead of being announced as happening now.
        self.replaying = False
        self.replayed: list[str] = []
        self.plan_faults(start_ms)

    def plan_faults(self, start_ms: int) -> None:
        """Schedule the district's faults relative to ``start_ms`` (e.g. when live data begins),
        except those still in progress: a fault begun in a replayed history and not over (a
        fouled fill, a bad warp beam) carries on into live time as it would on a real machine,
        instead of being repaired and starting afresh; one that is over happens again."""
        self.start_ms = start_ms
        ongoing = [spec for _running, spec in self._injected]
        self._faults = sorted(
            (
                self._fault_window(f)
                for f in self._district.faults
                if not any(f is spec for spec in ongoing)
            ),
            key=lambda window: window[0],
        )

    def in_progress(self) -> list[str]:
        """The faults in progress, as ``"<kind> on <enterprise> / <device or line>"``."""
        return [f"{spec.kind} on {_where(spec)}" for _running, spec in self._injected]

    def repair_all(self) -> None:
        """End every fault in progress."""
        for running, spec in self._injected:
            running.plant.clear(spec.kind)
        self._injected.clear()
        self._active.clear()

    def counters(self) -> dict[str, dict[str, float]]:
        """Every counter of every plant, keyed ``"<enterprise id>/<device name>"``."""
        out: dict[str, dict[str, float]] = {}
        for running in self.plants:
            if isinstance(running.plant, KeepsCounters):
                for device, values in running.plant.counters().items():
                    out[f"{running.enterprise.id}/{device}"] = values
        return out

    def attributes(self) -> dict[int, Attributes]:
        """Client attributes of every device that reports some, by enterprise id."""
        out: dict[int, Attributes] = {}
        for running in self.plants:
            if isinstance(running.plant, ReportsAttributes):
                out.setdefault(running.enterprise.id, {}).update(running.plant.attributes())
        return out

    def resume_counters(self, saved: dict[str, dict[str, float]]) -> int:
        """Resume counters from ``counters()`` of an earlier run; returns how many devices."""
        resumed = 0
        for running in self.plants:
            if not isinstance(running.plant, KeepsCounters):
                continue
            prefix = f"{running.enterprise.id}/"
            mine = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
            if mine:
                running.plant.resume_counters(mine)
                resumed += len(mine)
        return resumed

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
                    if self.replaying:
                        self.replayed.append(f"{spec.kind} on {_where(spec)}")
                    else:
                        log.info("fault %s starts on %s", spec.kind, _where(spec))
                    self._injected.append((running, spec))
                    if end is not None:
                        self._active.append((end, running, spec))
        for item in [a for a in self._active if a[0] <= t_ms]:
            self._active.remove(item)
            _end, running, spec = item
            running.plant.clear(spec.kind)
            if (running, spec) in self._injected:
                self._injected.remove((running, spec))
            if not self.replaying:
                log.info("fault %s on %s is over", spec.kind, running.enterprise.spec.name)

    def step(self, t_ms: int, dt_s: float) -> list[tuple[RunningPlant, Readings]]:
        self._apply_faults(t_ms)
        return [(p, p.plant.step(t_ms, dt_s)) for p in self.plants]


def _where(spec: FaultSpec) -> str:
    return f"{spec.enterprise} / {spec.device or spec.line}"


# -- history --------------------------------------------------------------------------------------


def backfill(
    client: ShuguClient,
    sim: Simulation,
    from_ms: int,
    to_ms: int,
    step_s: float,
    progress: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Step the district from ``from_ms`` to ``to_ms`` (the last step ends exactly there) and
    send it as Arrow batches. Faults starting meanwhile are history: logged once, at the end.
    A ``stop`` set meanwhile ends it early, after sending what was stepped."""
    rows: dict[int, list[tuple[str, str, int, float]]] = {}
    sent = 0
    t = from_ms
    step_ms = int(step_s * 1000)
    sim.replaying = True
    try:
        while t < to_ms and not (stop is not None and stop.is_set()):
            dt_ms = min(step_ms, to_ms - t)
            t += dt_ms
            for running, readings in sim.step(t, dt_ms / 1000):
                bucket = rows.setdefault(running.enterprise.id, [])
                for device, values in readings.items():
                    bucket.extend((device, metric, t, value) for metric, value in values.items())
            for ent_id, bucket in rows.items():
                if len(bucket) >= BACKFILL_ROWS_PER_REQUEST:
                    sent += _send_rows(client, ent_id, bucket)
                    bucket.clear()
            if progress and (t - from_ms) % (86_400_000) < step_ms:
                progress(f"backfilled to {time.strftime('%Y-%m-%d', time.localtime(t / 1000))}")
    finally:
        sim.replaying = False
    for ent_id, bucket in rows.items():
        if bucket:
            sent += _send_rows(client, ent_id, bucket)
    if sim.replayed:
        log.info("faults replayed in history: %s", "; ".join(sim.replayed))
        sim.replayed.clear()
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

    def __init__(
        self, host: str, port: int, token: str, name: str, attributes: Attributes | None = None
    ) -> None:
        self.attributes = attributes or {}
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{name}")
        self.client.username_pw_set(token)
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._connected
        self.client.connect_async(host, port, keepalive=60)
        self.client.loop_start()

    def _connected(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        # As a gateway does when it (re)connects: tell shugu what its devices are.
        if not reason.is_failure:
            self.publish_attributes()

    def publish_attributes(self) -> None:
        names = list(self.attributes)
        for i in range(0, len(names), DEVICES_PER_MESSAGE):
            doc = {n: self.attributes[n] for n in names[i : i + DEVICES_PER_MESSAGE]}
            self.client.publish("v1/gateway/attributes", json.dumps(doc), qos=1)

    def publish(self, t_ms: int, readings: Readings) -> None:
        names = list(readings)
        for i in range(0, len(names), DEVICES_PER_MESSAGE):
            doc = {
                n: [{"ts": t_ms, "values": readings[n]}] for n in names[i : i + DEVICES_PER_MESSAGE]
            }
            self.client.publish("v1/gateway/telemetry", json.dumps(doc), qos=1)

    def disconnect(self) -> None:
        """Say goodbye (a clean DISCONNECT); ``join`` then waits for the network thread."""
        self.client.disconnect()

    def join(self) -> None:
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
        checkpoint: Callable[[int], None] | None = None,
    ) -> None:
        self.client = client
        #: Called with the simulated time after each step, before its readings are sent.
        self.checkpoint = checkpoint
        self.sim = sim
        self.period_s = period_s
        self.speed = speed
        self._links: dict[int, GatewayLink] = {}
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sim-http")
        enterprises = {p.enterprise.id: p.enterprise for p in sim.plants}
        attributes = sim.attributes()
        #: (device token, attributes) that devices posting over HTTP have yet to send.
        self._unsent_attributes: list[tuple[str, dict[str, AttributeValue]]] = []
        for ent in enterprises.values():
            mine = attributes.get(ent.id, {})
            if ent.spec.transport == "mqtt_gateway" and ent.gateway:
                if mqtt_port is None:
                    raise ValueError("an MQTT port is needed for enterprises that use a gateway")
                self._links[ent.id] = GatewayLink(
                    mqtt_host, mqtt_port, ent.tokens[ent.gateway], str(ent.id), mine
                )
            else:
                self._unsent_attributes.extend(
                    (ent.tokens[device], values)
                    for device, values in mine.items()
                    if device in ent.tokens
                )
        self.sent_messages = 0

    def run(self, stop: threading.Event, sim_clock_ms: int) -> None:
        """Until ``stop``: advance simulated time and send what the machines report.

        In real time (``speed`` 1) a clock behind the present (after a backfill, or a stall)
        catches up first: steps sent back to back, at most ``CATCH_UP_STEPS`` of them per gap,
        so that live values are live within seconds, not a backfill's length behind."""
        t = sim_clock_ms
        failing = False
        period_ms = int(self.period_s * 1000)
        while not stop.is_set():
            started = time.monotonic()
            now = now_ms()
            step_ms = int(self.period_s * self.speed * 1000)
            behind = self.speed <= 1.0 and now - (t + step_ms) > period_ms
            if behind:
                step_ms = max(step_ms, (now - t) // CATCH_UP_STEPS)
            # Never run ahead of the present: shugu refuses the future.
            target = min(t + step_ms, now)
            if target > t:
                readings = self.sim.step(target, (target - t) / 1000)
                t = target
                if self.checkpoint is not None:
                    # Before sending: what shugu stores never runs ahead of what is kept.
                    self.checkpoint(t)
                try:
                    self._send(t, readings)
                    if failing:
                        log.warning("simulator reaches shugu again")
                        failing = False
                except OSError as exc:
                    if not failing and not stop.is_set():  # at a stop, shugu leaves too
                        log.warning("simulator cannot reach shugu: %s", exc)
                        failing = True
            if not behind:
                stop.wait(max(0.0, self.period_s - (time.monotonic() - started)))

    def _send_attributes(self) -> None:
        """Post the client attributes of devices on HTTP that shugu does not have yet; those
        that could not reach it are tried again at the next step, those refused are not."""
        posts = [
            (token, values, self._pool.submit(self.client.device_attributes, token, values))
            for token, values in self._unsent_attributes
        ]
        retry: list[tuple[str, dict[str, AttributeValue]]] = []
        refused: list[ApiError] = []
        for token, values, future in posts:
            try:
                future.result()
            except ApiError as exc:
                if exc.status >= 500 or exc.status == 429:
                    retry.append((token, values))
                else:
                    refused.append(exc)
            except OSError:
                retry.append((token, values))  # run() says that shugu cannot be reached
        if refused:
            log.warning("shugu refused the attributes of %d devices: %s", len(refused), refused[-1])
        self._unsent_attributes = retry

    def _send(self, t_ms: int, results: list[tuple[RunningPlant, Readings]]) -> None:
        if self._unsent_attributes:
            self._send_attributes()
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
        # All links say goodbye before any is waited for: each network thread may be asleep
        # between reconnection attempts for up to a second, and forty in a row add up.
        for link in self._links.values():
            link.disconnect()
        for link in self._links.values():
            link.join()
        self._pool.shutdown(wait=True)
