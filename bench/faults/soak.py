"""Soak: half the sustainable rate for ``minutes``; memory and queues must stay flat.

The mix: ThingsBoard device JSON over HTTP (batches of ``units_per_request`` × 10 points per
request) and MQTT 3.1.1 at QoS 1 (one 10-point message per PUBLISH), each paced at a quarter of
what it sustains alone, so that together they load the server at half its capacity. The
capacities are measured first, in the same run: each path unpaced for ``probe_s`` seconds
(``probe_s = 0`` uses the fixed rates of the sizes instead).

Every ``sample_s`` seconds the run records the server's RSS (VmRSS of /proc/PID/status), its
health fields ``queued_jobs`` (ingest jobs waiting for the store's writer) and
``monitor_pending_rows`` (stored rows the monitor has not evaluated yet), the points
acknowledged in the period, and the acknowledgement latency p50/p99 of the period per path.

With ``workers`` > 1 (``shugu serve --workers``) the RSS is every process's: main's and each
front's (``rss_by_process_mib``), and their sum (``rss_mib``), which the verdict judges; each
process's slope is given beside it, and the points each process got acknowledged
(``accepted_by_process``), which says the kernel gave every process devices.

Verdict: the RSS slope over the second half (least squares, MiB per minute); the queues over the
second half against the first; and, after the devices stop, the ledger through the range API
(lost = 0).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import say
from bench.faults import FaultOptions
from bench.faults.clients import HttpFleet, MqttFleet, Pacer
from bench.faults.ledger import ApiReader, DeviceLedger, Ledger, verify
from bench.faults.served import Served, make_district


@dataclass(frozen=True)
class SoakSizes:
    http_devices: int
    mqtt_devices: int
    http_connections: int
    units_per_request: int
    mqtt_window: int
    minutes: float
    sample_s: float
    #: Seconds each path runs unpaced to measure what it sustains; 0: use the fixed rates.
    probe_s: float
    #: The share of the measured capacity offered in total, split evenly over the two paths.
    load_share: float = 0.5
    #: Units (10 points) per second when ``probe_s`` is 0.
    http_units_per_s: float = 0.0
    mqtt_units_per_s: float = 0.0
    drain_s: float = 120.0
    #: ``shugu serve --store-memory-mib``; None: the server's default.
    store_memory_mib: int | None = None


FULL = SoakSizes(
    http_devices=100,
    mqtt_devices=500,
    http_connections=16,
    units_per_request=100,
    mqtt_window=10,
    minutes=10.0,
    sample_s=5.0,
    probe_s=10.0,
)
QUICK = replace(
    FULL,
    http_devices=20,
    mqtt_devices=100,
    http_connections=4,
    units_per_request=50,
    mqtt_window=5,
    minutes=20 / 60,
    sample_s=2.0,
    probe_s=4.0,
)


def run(options: FaultOptions) -> dict[str, object]:
    sizes = QUICK if options.quick else replace(FULL, minutes=options.minutes)
    with tempfile.TemporaryDirectory(prefix="shugu-soak-") as tmp:
        return run_soak(Path(tmp), sizes, log=options.log, workers=options.workers)


def run_soak(
    workdir: Path, sizes: SoakSizes, *, log: bool = False, workers: int = 1
) -> dict[str, Any]:
    # The capacity probe has devices of its own: the soak's devices start with their spacing.
    n = sizes.http_devices + sizes.mqtt_devices
    district = make_district(workdir / "data", 2 * n if sizes.probe_s > 0 else n)
    extra = (
        []
        if sizes.store_memory_mib is None
        else ["--store-memory-mib", str(sizes.store_memory_mib)]
    )
    server = Served(district, extra_args=extra, log_path=workdir / "serve.log", workers=workers)
    server.start()
    try:
        server.wait_for_fronts()
        ledger = Ledger(district.devices, ts0=int(time.time() * 1000) - 30 * 60_000)
        out = asyncio.run(_soak(server, ledger, sizes, log))
        say(log, "soak: reading every device back through the API")
        verification = verify(ledger, [ApiReader(server)])
        out["rss_mib_after_verify"] = round(sum(server.rss_by_process_mib().values()), 1)
    finally:
        server.stop()
    result: dict[str, Any] = verification.as_dict()
    result.update(out)
    result["client"] = asdict(ledger.stats)
    result["server_log"] = server.log_problems()
    result["sizes"] = asdict(sizes)
    say(log, f"soak: sent {result['sent']:,} acked {result['acked']:,} lost {result['lost']}")
    return result


def _fleets(
    server: Served,
    ledger: Ledger,
    devices: list[DeviceLedger],
    sizes: SoakSizes,
    http_rate: float,
    mqtt_rate: float,
) -> tuple[HttpFleet, MqttFleet]:
    assert server.mqtt_port is not None
    http_devs = devices[: sizes.http_devices]
    mqtt_devs = devices[sizes.http_devices :]
    http = HttpFleet(
        ledger,
        http_devs,
        "127.0.0.1",
        server.http_port,
        connections=sizes.http_connections,
        units_per_request=sizes.units_per_request,
        kind="json",
        pacer=Pacer(http_rate) if http_rate else None,
    )
    mqtt = MqttFleet(
        ledger,
        mqtt_devs,
        "127.0.0.1",
        server.mqtt_port,
        window=sizes.mqtt_window,
        pacer=Pacer(mqtt_rate) if mqtt_rate else None,
    )
    return http, mqtt


async def _capacity(
    fleet: HttpFleet | MqttFleet, ledger: Ledger, seconds: float, drain_s: float
) -> float:
    """Units per second the fleet gets acknowledged unpaced (after a one-second warm-up)."""
    fleet.start()
    await asyncio.sleep(1.0)
    points0, t0 = ledger.acked_points, time.monotonic()
    await asyncio.sleep(seconds)
    rate = (ledger.acked_points - points0) / ledger.metrics / (time.monotonic() - t0)
    await fleet.drain(drain_s)
    return rate


def _space(devices: list[DeviceLedger], units_per_s: float) -> None:
    """Stamp each device's units about as far apart as its share of the rate: timestamps
    advance roughly with the clock, as a real device's do."""
    per_device = units_per_s / max(1, len(devices))
    period = max(1, int(1000 / per_device)) if per_device > 0 else 1
    for dev in devices:
        assert dev.next_unit == 0, "spacing is set before the first unit"
        dev.period_ms = period


async def _soak(server: Served, ledger: Ledger, sizes: SoakSizes, log: bool) -> dict[str, Any]:
    n = sizes.http_devices + sizes.mqtt_devices
    soak_devs = ledger.devices[:n]
    out: dict[str, Any] = {}
    if sizes.probe_s > 0:
        say(log, f"soak: measuring what each path sustains ({sizes.probe_s:.0f} s each)")
        http, mqtt = _fleets(server, ledger, ledger.devices[n:], sizes, 0.0, 0.0)
        http_capacity = await _capacity(http, ledger, sizes.probe_s, sizes.drain_s)
        mqtt_capacity = await _capacity(mqtt, ledger, sizes.probe_s, sizes.drain_s)
        share = sizes.load_share / 2
        http_rate, mqtt_rate = http_capacity * share, mqtt_capacity * share
        out["http_capacity_points_per_s"] = round(http_capacity * ledger.metrics)
        out["mqtt_capacity_msgs_per_s"] = round(mqtt_capacity)
    else:
        http_rate, mqtt_rate = sizes.http_units_per_s, sizes.mqtt_units_per_s
    out["offered_http_points_per_s"] = round(http_rate * ledger.metrics)
    out["offered_mqtt_msgs_per_s"] = round(mqtt_rate)
    _space(soak_devs[: sizes.http_devices], http_rate)
    _space(soak_devs[sizes.http_devices :], mqtt_rate)
    say(
        log,
        f"soak: {sizes.minutes:g} min at {http_rate * ledger.metrics:,.0f} HTTP points/s "
        f"and {mqtt_rate:,.0f} MQTT msgs/s",
    )
    http, mqtt = _fleets(server, ledger, soak_devs, sizes, http_rate, mqtt_rate)
    http.start()
    mqtt.start()
    samples = await _sample(server, ledger, http, mqtt, sizes)
    drained = await http.drain(sizes.drain_s) and await mqtt.drain(sizes.drain_s)
    final = await _settled_health(server, 15.0)
    out["workers"] = server.workers
    out["health_retries"] = server.health_retries
    out["accepted_by_process"] = [
        {"pid": int(w["pid"]), "points_accepted": int(w.get("points_accepted", 0))}
        for w in final.get("workers", [])
    ]
    out["samples"] = samples
    out["verdict"] = _verdict(samples, final)
    out["drained"] = drained
    return out


async def _sample(
    server: Served, ledger: Ledger, http: HttpFleet, mqtt: MqttFleet, sizes: SoakSizes
) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = []
    t0 = time.monotonic()
    end = t0 + sizes.minutes * 60
    points, last = ledger.acked_points, t0
    http.latency.take()
    mqtt.latency.take()
    next_at = t0 + sizes.sample_s
    while next_at <= end + 1e-6:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        health = await asyncio.to_thread(server.health)
        rss = await asyncio.to_thread(server.rss_by_process_mib)
        now = time.monotonic()
        http_lat, mqtt_lat = http.latency.take(), mqtt.latency.take()
        samples.append(
            {
                "t_s": round(now - t0, 1),
                "rss_mib": round(sum(rss.values()), 1),
                "rss_by_process_mib": {k: round(v, 1) for k, v in rss.items()},
                "queued_jobs": health.get("queued_jobs"),
                "monitor_pending_rows": health.get("monitor_pending_rows"),
                "acked_points_per_s": round((ledger.acked_points - points) / (now - last)),
                "http_p50_ms": http_lat.get("p50_ms"),
                "http_p99_ms": http_lat.get("p99_ms"),
                "mqtt_p50_ms": mqtt_lat.get("p50_ms"),
                "mqtt_p99_ms": mqtt_lat.get("p99_ms"),
            }
        )
        points, last = ledger.acked_points, now
        next_at += sizes.sample_s
    return samples


async def _settled_health(server: Served, timeout_s: float) -> dict[str, Any]:
    """The health answer once the writer's and the monitor's queues are empty (polled), or the
    last answer when ``timeout_s`` passed first."""
    deadline = time.monotonic() + timeout_s
    while True:
        health = await asyncio.to_thread(server.health)
        idle = not health.get("queued_jobs") and not health.get("monitor_pending_rows")
        if idle or time.monotonic() > deadline:
            return health
        await asyncio.sleep(0.1)


def _slope_per_min(samples: list[dict[str, Any]], key: str) -> float | None:
    points = [(s["t_s"] / 60, s[key]) for s in samples if s.get(key) is not None]
    if len(points) < 3:
        return None
    t, y = np.array(points, dtype=np.float64).T
    return round(float(np.polyfit(t, y, 1)[0]), 3)


def _slopes_by_process(samples: list[dict[str, Any]]) -> dict[str, float | None]:
    """Each process's RSS slope (MiB per minute) over ``samples``; a front restarted in the
    meantime appears under its new pid with fewer samples."""
    names = dict.fromkeys(k for s in samples for k in s.get("rss_by_process_mib", {}))
    return {
        name: _slope_per_min(
            [
                {"t_s": s["t_s"], "rss": s["rss_by_process_mib"][name]}
                for s in samples
                if name in s.get("rss_by_process_mib", {})
            ],
            "rss",
        )
        for name in names
    }


def _verdict(samples: list[dict[str, Any]], final: dict[str, Any]) -> dict[str, Any]:
    half = len(samples) // 2
    first, second = samples[:half], samples[half:]

    def peak(rows: list[dict[str, Any]], key: str) -> int:
        return max((int(r[key] or 0) for r in rows), default=0)

    rss_slope = _slope_per_min(second, "rss_mib")
    jobs_first, jobs_second = peak(first, "queued_jobs"), peak(second, "queued_jobs")
    rows_first, rows_second = (
        peak(first, "monitor_pending_rows"),
        peak(second, "monitor_pending_rows"),
    )
    # Queues are flat when the second half never holds more than twice the first half's peak
    # (with a floor: a few jobs or one commit's rows waiting is a moment, not a trend).
    queues_flat = jobs_second <= max(2 * jobs_first, 50) and rows_second <= max(
        2 * rows_first, 100_000
    )
    latencies = [s["mqtt_p99_ms"] for s in second if s.get("mqtt_p99_ms") is not None]
    return {
        "rss_slope_mib_per_min_second_half_by_process": _slopes_by_process(second),
        "rss_mib_first": samples[0]["rss_mib"] if samples else None,
        "rss_mib_last": samples[-1]["rss_mib"] if samples else None,
        "rss_mib_max": max((s["rss_mib"] for s in samples), default=None),
        "rss_slope_mib_per_min_second_half": rss_slope,
        "queued_jobs_peak_first_half": jobs_first,
        "queued_jobs_peak_second_half": jobs_second,
        "monitor_pending_rows_peak_first_half": rows_first,
        "monitor_pending_rows_peak_second_half": rows_second,
        "queued_jobs_slope_per_min_second_half": _slope_per_min(second, "queued_jobs"),
        "queued_jobs_at_end": final.get("queued_jobs"),
        "monitor_pending_rows_at_end": final.get("monitor_pending_rows"),
        "queues_flat": queues_flat,
        "mqtt_p99_ms_median_second_half": (
            round(float(np.median(latencies)), 1) if latencies else None
        ),
    }


def main() -> None:
    """``python -m bench.faults.soak``: the full soak with a chosen store memory cap."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=FULL.minutes)
    parser.add_argument("--store-memory-mib", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = replace(FULL, minutes=args.minutes, store_memory_mib=args.store_memory_mib)
    with tempfile.TemporaryDirectory(prefix="shugu-soak-") as tmp:
        result = run_soak(Path(tmp), sizes, log=not args.json)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
