"""Crash: ``kill -9`` of ``shugu serve`` while devices stream at full rate; restart; verify.

Devices stream over three paths at once, unpaced: ThingsBoard device JSON over HTTP, Arrow IPC
batches over HTTP, and MQTT 3.1.1 at QoS 1 (one connection per device). After ``stream_s``
seconds the server gets SIGKILL (no shutdown code runs) and is restarted at once on the same
data directory and ports, as a supervisor would; the clients reconnect and send again whatever
was not acknowledged. After the last kill the stream goes on for ``tail_s`` seconds, stops, and
every device is read back through the range API: every acknowledged point must be there exactly
once with its value (lost = 0, duplicated = 0).

Recovery time is measured from the restart (the new process is launched) to the first
acknowledgement any client gets from it; ``ready_s`` is restart → health route answering (and,
with fronts, every front answering for it). After a front's kill main goes on acknowledging its
own devices, so the recovery there is the node's, near 0; ``ready_s`` is the front's restart.

With ``workers`` > 1 (``shugu serve --workers``) the kills alternate: first a front process
(main starts it again by itself), then the main process (its fronts exit, and the restarted
main starts new ones).
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import say
from bench.faults import FaultOptions
from bench.faults.clients import HttpFleet, MqttFleet
from bench.faults.ledger import ApiReader, Ledger, raw_rows, verify
from bench.faults.served import Served, make_district


@dataclass(frozen=True)
class CrashSizes:
    json_devices: int
    arrow_devices: int
    mqtt_devices: int
    #: Keep-alive connections for each HTTP kind.
    http_connections: int
    units_per_request: int
    mqtt_window: int
    stream_s: float
    kills: int
    tail_s: float
    drain_s: float = 60.0


FULL = CrashSizes(
    json_devices=40,
    arrow_devices=100,
    mqtt_devices=200,
    http_connections=16,
    units_per_request=100,
    mqtt_window=10,
    stream_s=8.0,
    kills=3,
    tail_s=8.0,
)
QUICK = CrashSizes(
    json_devices=10,
    arrow_devices=20,
    mqtt_devices=40,
    http_connections=4,
    units_per_request=50,
    mqtt_window=4,
    stream_s=4.0,
    kills=1,
    tail_s=2.0,
)


def run(options: FaultOptions) -> dict[str, object]:
    sizes = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory(prefix="shugu-crash-") as tmp:
        return run_crash(Path(tmp), sizes, log=options.log, workers=options.workers)


def run_crash(
    workdir: Path, sizes: CrashSizes, *, log: bool = False, workers: int = 1
) -> dict[str, Any]:
    n = sizes.json_devices + sizes.arrow_devices + sizes.mqtt_devices
    say(log, f"crash: registry with {n} devices")
    district = make_district(workdir / "data", n)
    server = Served(district, log_path=workdir / "serve.log", workers=workers)
    server.start()
    try:
        server.wait_for_fronts()
        ledger = Ledger(district.devices, ts0=int(time.time() * 1000) - 3 * 3_600_000)
        timeline = asyncio.run(_stream(server, ledger, sizes, log, workers))
        say(log, "crash: reading every device back through the API")
        verification = verify(ledger, [ApiReader(server)])
    finally:
        server.stop()
    out: dict[str, Any] = verification.as_dict()
    # Re-sent points the store holds twice; the API answered each once.
    out.update(raw_rows(server.data / "telemetry.duckdb"))
    out.update(timeline)
    out["client"] = asdict(ledger.stats)
    out["server_log"] = server.log_problems()
    out["sizes"] = asdict(sizes)
    say(log, f"crash: sent {out['sent']:,} acked {out['acked']:,} lost {out['lost']}")
    return out


def _first_ack(ledger: Ledger, t: float, acked_before: int) -> asyncio.Task[float | None]:
    """Watch for the first acknowledgement after a kill while the restart is awaited: watched
    only afterwards, it would be the latest one, as late as the restart took."""
    return asyncio.create_task(ledger.first_ack_after(t, acked_before, 120.0))


async def _stream(
    server: Served, ledger: Ledger, sizes: CrashSizes, log: bool, workers: int = 1
) -> dict[str, Any]:
    devices = ledger.devices
    json_devs = devices[: sizes.json_devices]
    arrow_devs = devices[sizes.json_devices : sizes.json_devices + sizes.arrow_devices]
    mqtt_devs = devices[sizes.json_devices + sizes.arrow_devices :]
    assert server.mqtt_port is not None
    fleets: list[HttpFleet | MqttFleet] = [
        HttpFleet(
            ledger,
            json_devs,
            "127.0.0.1",
            server.http_port,
            connections=sizes.http_connections,
            units_per_request=sizes.units_per_request,
            kind="json",
        ),
        HttpFleet(
            ledger,
            arrow_devs,
            "127.0.0.1",
            server.http_port,
            connections=sizes.http_connections,
            units_per_request=sizes.units_per_request,
            kind="arrow",
            admin_token=server.district.admin_token,
        ),
        MqttFleet(ledger, mqtt_devs, "127.0.0.1", server.mqtt_port, window=sizes.mqtt_window),
    ]
    t_start = time.monotonic()
    for fleet in fleets:
        fleet.start()
    kills: list[dict[str, Any]] = []
    for k in range(sizes.kills):
        await asyncio.sleep(sizes.stream_s)
        sent_before, acked_before = ledger.sent_points(), ledger.acked_points
        killed = "main"
        if workers > 1 and k % 2 == 0:
            killed = "front"
            fronts: set[int] = set()
            deadline = time.monotonic() + 60.0
            while not fronts:
                if time.monotonic() > deadline:
                    raise RuntimeError("no front process answered for /api/health in 60 s")
                fronts = await asyncio.to_thread(server.answering_fronts)
                await asyncio.sleep(0 if fronts else 0.05)
            victim = min(fronts)
            os.kill(victim, signal.SIGKILL)
            t_restart = time.monotonic()
            acked_at_restart = ledger.acked_points
            say(log, f"crash: kill -9 of front {victim} after {acked_before:,} acknowledged points")
            first_ack = _first_ack(ledger, t_restart, acked_at_restart)
            ready_s = await asyncio.to_thread(server.wait_for_fronts, {victim})
        else:
            await asyncio.to_thread(server.kill)
            t_restart = time.monotonic()
            acked_at_restart = ledger.acked_points
            say(log, f"crash: kill -9 #{k + 1} after {acked_before:,} acknowledged points")
            first_ack = _first_ack(ledger, t_restart, acked_at_restart)
            ready_s = await asyncio.to_thread(server.start)
            ready_s += await asyncio.to_thread(server.wait_for_fronts)
        first_ack_s = await first_ack
        kills.append(
            {
                "killed": killed,
                "sent_before": sent_before,
                "acked_before": acked_before,
                "ready_s": round(ready_s, 2),
                "recovery_s": None if first_ack_s is None else round(first_ack_s, 2),
            }
        )
    await asyncio.sleep(sizes.tail_s)
    t_stop = time.monotonic()
    drained = [await fleet.drain(sizes.drain_s) for fleet in fleets]
    streaming_s = t_stop - t_start
    recoveries = [k["recovery_s"] for k in kills if k["recovery_s"] is not None]
    return {
        "kills": len(kills),
        "kill_log": kills,
        "recovery_s_max": max(recoveries) if recoveries else None,
        "streaming_s": round(streaming_s, 1),
        "acked_points_per_s": round(ledger.acked_points / streaming_s),
        "drained": all(drained),
    }
