"""Device to screen: how long a value takes from the device to every open page showing it.

``pages`` live streams (``GET /live?devices=…``, the stream a device list opens) are spread
round-robin over the district's enterprises, each signed in as an administrator of its
enterprise and watching the first ``DEVICES_PER_PAGE`` devices of its device list. Probes are
then sent as the devices send: through the enterprise's MQTT gateway for the mills and towers,
to ``/api/v1/{token}/telemetry`` for the data hall. A probe is one value of one metric of one
device, stamped with the time it is sent.

A page has shown a probe when its stream brings a value of that (device, metric) stamped at or
after the probe's time (the console shows the newest value; a newer one from the district's
own reporting, which goes on meanwhile, shows the probe's moment too). The latency is from just
before the probe is published to the moment its event is read off the page's socket, over all
(probe, page) pairs; ``delivered_share`` is the pairs that arrived within ``GRACE_S`` of the
end. A browser then still parses the event and sets the text: not included.

The limit, in the same round: the same probes to a single open page (``one_page_*``): what the
path costs without the fan-out. The server's hub gathers values for ``FLUSH_S`` (0.2 s) before
it sends, so a latency starts at the commit plus up to 0.2 s by design.

The client is one asyncio loop reading every stream (raw HTTP/1.1, chunked) and one thread that
sends the probes; ``client_loop_lag_*`` is how late a 20 ms timer of that loop fired, the
client's own share of the latencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import paho.mqtt.client as paho
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import say
from bench.web_district import WebDistrict
from bench.web_http import Browser, Session
from shugu.sim.provision import SimEnterprise

#: Devices a page shows (and its stream watches): one page of a device list.
DEVICES_PER_PAGE = 50
#: The most devices one stream may watch (``web/live_routes.py``).
MAX_STREAM_DEVICES = 500
_LIVE_DEVICE = re.compile(r'\sdata-device="(\d+)"')
#: Streams opened at once: the HTTP server counts a connection against its address's cap
#: (256 by default) until its request head is read, so they open in waves.
OPEN_WAVE = 100
#: A device is probed again only after this long, so that no two probes of one device fall into
#: one of the hub's 0.2-s gatherings (the page would show only the newer, by design).
MIN_PROBE_GAP_S = 1.0
#: How long after the last probe stragglers are waited for (by default).
GRACE_S = 3.0
#: The metric a probe sets, by the profile of the devices a transport serves; values inside
#: the profile's bounds that its rules leave quiet.
PROBE_METRIC = {"loom": ("speed_rpm", 600.0), "cooling_tower": ("fan_speed_pct", 80.0)}
HTTP_PROBE_METRIC = ("inlet_c", 22.5)


@dataclass(eq=False)
class Probe:
    """One value sent as a device: its timestamp, and when it left (monotonic; 0 until then)."""

    ts: int
    sent: float = 0.0
    failed: bool = False


@dataclass
class Page:
    """One open page's stream and what it has been shown."""

    index: int
    enterprise: int
    devices: list[int]
    session: Session
    #: device → the probes not yet shown on this page
    waiting: dict[int, list[Probe]] = field(default_factory=dict)
    events: int = 0
    writer: asyncio.StreamWriter | None = None


@dataclass(frozen=True)
class ProbeTarget:
    device_id: int
    name: str
    enterprise: SimEnterprise
    metric: str
    value: float
    #: "mqtt" through the enterprise's gateway, or "http" with the device's token
    transport: str


@dataclass
class Tally:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {"mqtt": [], "http": []})
    #: every probe with the number of pages that show its device
    registered: list[tuple[Probe, int]] = field(default_factory=list)
    probes: int = 0
    probes_failed: int = 0


def _page_devices(ent: SimEnterprise) -> list[int]:
    names = sorted(n for n in ent.device_ids if n != ent.gateway)
    return [ent.device_ids[n] for n in names[:DEVICES_PER_PAGE]]


def _probe_target(ent: SimEnterprise, name: str, profile: str) -> ProbeTarget | None:
    if ent.spec.transport == "mqtt_gateway":
        if profile not in PROBE_METRIC or ent.gateway is None:
            return None
        metric, value = PROBE_METRIC[profile]
        return ProbeTarget(ent.device_ids[name], name, ent, metric, value, "mqtt")
    if profile == "rack_sensor" and name in ent.tokens:
        metric, value = HTTP_PROBE_METRIC
        return ProbeTarget(ent.device_ids[name], name, ent, metric, value, "http")
    return None


def probe_targets(enterprises: list[SimEnterprise], watched: set[int]) -> list[ProbeTarget]:
    """The watched devices a probe can be sent to, as their own transport sends."""
    out: list[ProbeTarget] = []
    for ent in enterprises:
        for plant in ent.plants:
            profile = {"loom_shed": "loom", "cooling_tower_site": "cooling_tower"}.get(
                plant.spec.kind, "rack_sensor"
            )
            for name in plant.devices:
                target = _probe_target(ent, name, profile)
                if target is not None and target.device_id in watched:
                    out.append(target)
    return out


# -- reading the streams ---------------------------------------------------------------------


class StreamRefused(RuntimeError):
    pass


async def _open(host: str, port: int, page: Page) -> asyncio.StreamReader:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
    path = "/live?devices=" + ",".join(map(str, page.devices))
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {page.session.cookie}\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    if status != 200 or b"chunked" not in head.lower():
        body = await reader.read(500)
        raise StreamRefused(f"/live answered {status}: {head[:200]!r} {body[:200]!r}")
    page.writer = writer
    return reader


def _shown(
    page: Page, data: bytes, now: float, tally: Tally, probes: dict[int, ProbeTarget]
) -> None:
    values: dict[str, dict[str, list[float]]] = orjson.loads(data)
    for device_key, metrics in values.items():
        device = int(device_key)
        waiting = page.waiting.get(device)
        if not waiting:
            continue
        target = probes[device]
        point = metrics.get(target.metric)
        if point is None:
            continue
        ts = int(point[0])
        keep = []
        for probe in waiting:
            if probe.ts <= ts and probe.sent:
                if not probe.failed:
                    tally.latencies_ms[target.transport].append((now - probe.sent) * 1000)
            else:
                keep.append(probe)
        page.waiting[device] = keep


async def _read(
    reader: asyncio.StreamReader, page: Page, tally: Tally, probes: dict[int, ProbeTarget]
) -> None:
    buffer = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return
        now = time.monotonic()
        buffer += chunk[:-2]
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            page.events += 1
            if event.startswith(b"event: values\n"):
                data = event.split(b"\ndata: ", 1)[1]
                _shown(page, data, now, tally, probes)


async def _ticker(lags_ms: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + 0.02
        await asyncio.sleep(0.02)
        lags_ms.append(max(0.0, (loop.time() - due) * 1000))


# -- sending the probes ------------------------------------------------------------------------


class ProbeSender:
    """Publishes probes from a thread: MQTT gateways (one client each) and HTTP devices."""

    def __init__(self, district: WebDistrict, targets: list[ProbeTarget]) -> None:
        self.host, self.port = "127.0.0.1", district.server.http_port
        self.links: dict[int, paho.Client] = {}
        for ent in {
            t.enterprise.id: t.enterprise for t in targets if t.transport == "mqtt"
        }.values():
            assert ent.gateway is not None
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"web-bench-{ent.id}")
            client.username_pw_set(ent.tokens[ent.gateway])
            client.max_inflight_messages_set(1000)
            client.connect("127.0.0.1", district.server.mqtt_port or 0, keepalive=60)
            client.loop_start()
            self.links[ent.id] = client
        # Probes start once every gateway is connected: a probe never waits for a CONNACK.
        deadline = time.monotonic() + 30
        while not all(c.is_connected() for c in self.links.values()):
            if time.monotonic() > deadline:
                raise OSError("the probes' MQTT gateways did not connect within 30 s")
            time.sleep(0.01)
        self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def send(self, target: ProbeTarget, probe: Probe) -> None:
        """Send one probe, noting the monotonic time just before it leaves."""
        ts = probe.ts
        values = {target.metric: target.value}
        probe.sent = time.monotonic()
        if target.transport == "mqtt":
            doc = {target.name: [{"ts": ts, "values": values}]}
            self.links[target.enterprise.id].publish(
                "v1/gateway/telemetry", orjson.dumps(doc), qos=1
            )
        else:
            token = target.enterprise.tokens[target.name]
            body = json.dumps({"ts": ts, "values": values})
            try:
                self.http.request(
                    "POST",
                    f"/api/v1/{token}/telemetry",
                    body=body,
                    headers={"Content-Type": "application/json"},
                )
                answer = self.http.getresponse()
                answer.read()
                if answer.status != 200:
                    raise OSError(f"probe answered {answer.status}")
            except (http.client.HTTPException, ConnectionError):
                self.http.close()
                self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)
                raise OSError("probe connection closed") from None

    def close(self) -> None:
        for client in self.links.values():
            client.disconnect()
        for client in self.links.values():
            client.loop_stop()
        self.http.close()


def _send_probes(
    sender: ProbeSender,
    targets: list[ProbeTarget],
    rate: float,
    seconds: float,
    expect: Callable[[ProbeTarget, Probe], None],
    tally: Tally,
) -> None:
    """Probes at ``rate`` per second, round-robin over ``targets`` (shuffled once)."""
    order = np.random.default_rng(12).permutation(len(targets)).tolist()
    last: dict[int, float] = {}
    start = time.monotonic()
    k = 0
    cursor = 0
    while targets and rate > 0:
        due = start + k / rate
        if due >= start + seconds:
            return
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        k += 1
        # The next device in turn not probed within the gap; none: this slot stays empty.
        for _ in range(len(order)):
            target = targets[order[cursor % len(order)]]
            cursor += 1
            if time.monotonic() - last.get(target.device_id, -1e9) >= MIN_PROBE_GAP_S:
                break
        else:
            continue
        probe = Probe(time.time_ns() // 1_000_000)
        # Every page showing the device waits for the probe before it leaves: a value cannot
        # reach a page before the page is known to expect it.
        expect(target, probe)
        try:
            sender.send(target, probe)
        except OSError:
            probe.failed = True
            tally.probes_failed += 1
            continue
        last[target.device_id] = probe.sent
        tally.probes += 1


# -- one round ---------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


async def _round(
    district: WebDistrict,
    pages: list[Page],
    targets: list[ProbeTarget],
    rate: float,
    seconds: float,
    grace_s: float,
    log: bool,
) -> dict[str, Any]:
    host, port = "127.0.0.1", district.server.http_port
    tally = Tally()
    probes = {t.device_id: t for t in targets}
    readers: list[asyncio.Task[None]] = []
    t_open = time.monotonic()
    for start in range(0, len(pages), OPEN_WAVE):
        wave = pages[start : start + OPEN_WAVE]
        opened = await asyncio.gather(*(_open(host, port, p) for p in wave))
        readers += [
            asyncio.create_task(_read(r, p, tally, probes))
            for r, p in zip(opened, wave, strict=True)
        ]
    open_s = time.monotonic() - t_open
    say(log, f"{len(pages)} live streams open in {open_s:.1f} s; probing at {rate:g}/s")
    await asyncio.sleep(min(1.0, grace_s))
    watchers: dict[int, list[Page]] = {}
    for page in pages:
        for device in page.devices:
            watchers.setdefault(device, []).append(page)
    loop = asyncio.get_running_loop()

    def expect(target: ProbeTarget, probe: Probe) -> None:
        registered = threading.Event()

        def register() -> None:
            showing = watchers.get(target.device_id, [])
            for page in showing:
                page.waiting.setdefault(target.device_id, []).append(probe)
            tally.registered.append((probe, len(showing)))
            registered.set()

        # On the loop that reads the streams (the only one to touch the pages), and waited for.
        loop.call_soon_threadsafe(register)
        registered.wait()

    lags: list[float] = []
    stop_ticker = asyncio.Event()
    ticker = asyncio.create_task(_ticker(lags, stop_ticker))
    sender = ProbeSender(district, targets)
    client_cpu0 = psutil.Process().cpu_times()
    server = psutil.Process(district.server.pid)
    server_cpu0 = server.cpu_times()
    t0 = time.monotonic()
    try:
        await asyncio.to_thread(_send_probes, sender, targets, rate, seconds, expect, tally)
        await asyncio.sleep(grace_s)
    finally:
        sender.close()
    wall = time.monotonic() - t0
    client_cpu1 = psutil.Process().cpu_times()
    server_cpu1 = server.cpu_times()
    stop_ticker.set()
    await ticker
    for task in readers:
        task.cancel()
    for task in readers:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    for page in pages:
        if page.writer is not None:
            page.writer.close()
            page.writer = None
    everything = tally.latencies_ms["mqtt"] + tally.latencies_ms["http"]
    expected = sum(showing for probe, showing in tally.registered if not probe.failed)
    out: dict[str, Any] = {
        "pages": len(pages),
        "open_s": round(open_s, 2),
        "probes": tally.probes,
        "probes_failed": tally.probes_failed,
        "expected_deliveries": expected,
        "deliveries": len(everything),
        "delivered_share": round(len(everything) / expected, 4) if expected else None,
        "latency_p50_ms": _pct(everything, 50),
        "latency_p95_ms": _pct(everything, 95),
        "latency_p99_ms": _pct(everything, 99),
        "latency_max_ms": round(max(everything), 1) if everything else None,
        "deliveries_over_goal": sum(1 for v in everything if v > 1000),
    }
    for transport, values in tally.latencies_ms.items():
        if values:
            out[f"{transport}_deliveries"] = len(values)
            out[f"{transport}_latency_p50_ms"] = _pct(values, 50)
            out[f"{transport}_latency_p99_ms"] = _pct(values, 99)
    for transport in ("mqtt", "http"):
        left = sum(
            sum(1 for probe in waiting if not probe.failed)
            for page in pages
            for device, waiting in page.waiting.items()
            if probes[device].transport == transport
        )
        if left:
            out[f"{transport}_undelivered"] = left
    out["events_read"] = sum(p.events for p in pages)
    out["client_loop_lag_p50_ms"] = _pct(lags, 50)
    out["client_loop_lag_p99_ms"] = _pct(lags, 99)
    cpu = (client_cpu1.user + client_cpu1.system) - (client_cpu0.user + client_cpu0.system)
    out["client_cpu_cores"] = round(cpu / wall, 2)
    cpu = (server_cpu1.user + server_cpu1.system) - (server_cpu0.user + server_cpu0.system)
    out["server_cpu_cores"] = round(cpu / wall, 2)
    return out


def _listed_devices(
    district: WebDistrict, ent: SimEnterprise, session: Session
) -> tuple[list[int], bool]:
    """The devices the enterprise's device list shows live (its ``data-device`` elements), as
    the page's script asks the stream for them, and True; the first of the list by name and
    False when the page shows none."""
    browser = Browser("127.0.0.1", district.server.http_port, session)
    try:
        answer = browser.get(f"/e/{ent.id}/devices")
    finally:
        browser.close()
    if answer.status == 200:
        shown = dict.fromkeys(int(m) for m in _LIVE_DEVICE.findall(answer.body.decode()))
        if shown:
            return list(shown)[:MAX_STREAM_DEVICES], True
    return _page_devices(ent), False


def make_pages(district: WebDistrict, count: int) -> tuple[list[Page], str]:
    """``count`` pages over the enterprises in turn, each signed in as its administrator; and
    where their devices came from."""
    enterprises = [e for e in district.enterprises if _page_devices(e)]
    listed: dict[int, list[int]] = {}
    from_page: list[bool] = []
    pages: list[Page] = []
    for i in range(count):
        ent = enterprises[i % len(enterprises)]
        admin = district.admins[ent.id]
        session = district.session(admin.username, admin.password)
        if ent.id not in listed:
            listed[ent.id], found = _listed_devices(district, ent, session)
            from_page.append(found)
        pages.append(Page(i, ent.id, listed[ent.id], session))
    if all(from_page):
        return pages, "device list page"
    return pages, "first of the list by name" if not any(from_page) else "both"


def run_round(
    district: WebDistrict,
    *,
    pages: int,
    rate: float,
    seconds: float,
    log: bool,
    grace_s: float = GRACE_S,
) -> dict[str, Any]:
    """One round: a single page (the limit), then ``pages`` pages, the same probe rate."""
    all_pages, devices_from = make_pages(district, pages)
    watched = {d for p in all_pages for d in p.devices}
    targets = probe_targets(district.enterprises, watched)
    first = all_pages[0]
    one = [Page(0, first.enterprise, first.devices, first.session)]
    one_targets = [t for t in targets if t.device_id in set(first.devices)]
    one_rate = min(rate, len(one_targets) / (MIN_PROBE_GAP_S * 1.5))
    say(log, "one open page: the path without the fan-out")
    single = asyncio.run(_round(district, one, one_targets, one_rate, seconds / 2, grace_s, log))
    say(log, f"{pages} open pages")
    many = asyncio.run(_round(district, all_pages, targets, rate, seconds, grace_s, log))
    many["one_page_latency_p50_ms"] = single["latency_p50_ms"]
    many["one_page_latency_p99_ms"] = single["latency_p99_ms"]
    many["one_page_delivered_share"] = single["delivered_share"]
    many["one_page_probes"] = single["probes"]
    many["stream_devices_from"] = devices_from
    many["stream_devices_mean"] = round(sum(len(p.devices) for p in all_pages) / len(all_pages), 1)
    return many
