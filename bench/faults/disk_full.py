"""Disk full: the data directory runs out of space while devices stream; then space returns.

The server's data directory (telemetry store and registry) lives on a tmpfs of its own (see
``tmpfs.py``). Devices stream at a steady pace over HTTP (ThingsBoard JSON) and MQTT (QoS 1).
Then a ballast file takes every free byte: commits fail with ENOSPC, and shugu must refuse
rather than acknowledge what it cannot keep (HTTP 503 with Retry-After; MQTT: no PUBACK, the
connection is dropped so that the device sends again after reconnecting). After ``full_s`` the
ballast is deleted; shugu must take data again by itself, without a restart. At the end the
server is killed with SIGKILL and restarted, to prove that the write-ahead log it wrote around
the failures replays cleanly, and every device is read back: lost must be 0.

With ``workers`` > 1 (``shugu serve --workers``) the devices' connections are spread over main
and its fronts by the kernel; the fronts store through main's writer, so the full disk reaches
them as main's failed commits. ``per_worker`` tells, for each process, the points it got
acknowledged before the disk filled, while it was full (after a one-second grace) and after
space returned, and the batches it refused for the store's failure while full (read from
/api/health's ``workers``): each process must have refused, acknowledged nothing while full,
and taken data again by itself.

The same run checks a data directory that is read-only from the start: ``shugu serve`` must
refuse to start with a clear reason and exit code 2, not serve and then fail every device.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import say
from bench.faults import FaultOptions
from bench.faults.clients import HttpFleet, MqttFleet, Pacer
from bench.faults.ledger import ApiReader, Ledger, verify
from bench.faults.served import Served, ServerGone, make_district
from bench.faults.tmpfs import fill, free_bytes, private_disk, release


@dataclass(frozen=True)
class DiskSizes:
    json_devices: int
    mqtt_devices: int
    http_connections: int
    units_per_request: int
    #: Units (of 10 points) per second offered, shared by both paths.
    units_per_s: float
    before_s: float
    full_s: float
    after_s: float
    disk_mib: int
    drain_s: float = 60.0
    #: kill -9 and restart before reading back, to replay the log written around ENOSPC.
    restart: bool = True


FULL = DiskSizes(
    json_devices=20,
    mqtt_devices=50,
    http_connections=4,
    units_per_request=20,
    units_per_s=2_000,
    before_s=5.0,
    full_s=30.0,
    after_s=10.0,
    disk_mib=256,
)
QUICK = DiskSizes(
    json_devices=4,
    mqtt_devices=8,
    http_connections=2,
    units_per_request=10,
    units_per_s=400,
    before_s=2.0,
    full_s=4.0,
    after_s=3.0,
    disk_mib=64,
)


def run(options: FaultOptions) -> dict[str, object]:
    sizes = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory(prefix="shugu-disk-") as tmp:
        workdir = Path(tmp)
        out = run_disk_full(workdir, sizes, log=options.log, workers=options.workers)
        out["read_only_start"] = check_read_only_start(workdir)
        return out


def check_read_only_start(workdir: Path) -> dict[str, Any]:
    """``shugu serve`` on a read-only data directory: refused at start, with the reason."""
    district = make_district(workdir / "ro-registry", 1)
    with private_disk(workdir / "ro", 4, read_only=True) as disk:
        server = Served(district, data=disk / "data", log_path=workdir / "ro-serve.log")
        try:
            server.start(timeout_s=30)
        except ServerGone:
            pass
        finally:
            server.stop()
    text = (workdir / "ro-serve.log").read_text(errors="replace")
    return {
        "exit_code": server.process.returncode if server.process else None,
        "reason": next((line for line in text.splitlines() if "cannot start" in line), ""),
    }


def run_disk_full(
    workdir: Path, sizes: DiskSizes, *, log: bool = False, workers: int = 1
) -> dict[str, Any]:
    n = sizes.json_devices + sizes.mqtt_devices
    with private_disk(workdir / "disk", sizes.disk_mib) as disk:
        say(log, f"disk_full: {sizes.disk_mib} MiB data disk, {n} devices, {workers} workers")
        district = make_district(disk / "data", n)
        server = Served(district, log_path=workdir / "serve.log", workers=workers)
        server.start()
        try:
            server.wait_for_fronts()
            ledger = Ledger(district.devices, ts0=int(time.time() * 1000) - 3 * 3_600_000)
            timeline = asyncio.run(_stream(server, disk, ledger, sizes, log))
            if sizes.restart:
                say(log, "disk_full: kill -9 and restart, to replay the log written around ENOSPC")
                server.kill()
                timeline["restart_ready_s"] = round(server.start(), 2)
            verification = verify(ledger, [ApiReader(server)])
        finally:
            server.stop()
    out: dict[str, Any] = verification.as_dict()
    out.update(timeline)
    out["client"] = asdict(ledger.stats)
    out["server_log"] = server.log_problems()
    out["sizes"] = asdict(sizes)
    say(log, f"disk_full: sent {out['sent']:,} acked {out['acked']:,} lost {out['lost']}")
    return out


async def _stream(
    server: Served, disk: Path, ledger: Ledger, sizes: DiskSizes, log: bool
) -> dict[str, Any]:
    assert server.mqtt_port is not None
    json_devs = ledger.devices[: sizes.json_devices]
    mqtt_devs = ledger.devices[sizes.json_devices :]
    http = HttpFleet(
        ledger,
        json_devs,
        "127.0.0.1",
        server.http_port,
        connections=sizes.http_connections,
        units_per_request=sizes.units_per_request,
        pacer=Pacer(sizes.units_per_s / 2),
    )
    mqtt = MqttFleet(
        ledger,
        mqtt_devs,
        "127.0.0.1",
        server.mqtt_port,
        window=4,
        pacer=Pacer(sizes.units_per_s / 2),
    )
    http.start()
    mqtt.start()
    await asyncio.sleep(sizes.before_s)
    stats = ledger.stats
    before = {"503": stats.statuses.get("503", 0), "connects": stats.connects}
    at_fill = await asyncio.to_thread(_worker_counts, server)
    ballast = await asyncio.to_thread(fill, disk)
    say(
        log,
        f"disk_full: disk filled ({ballast / 2**20:.0f} MiB ballast); {free_bytes(disk)} B free",
    )
    # Commits already on their way when the disk filled may still land; then nothing may.
    await asyncio.sleep(1.0)
    acked_after_grace = ledger.acked_points
    after_grace = await asyncio.to_thread(_worker_counts, server)
    await asyncio.sleep(max(0.0, sizes.full_s - 1.0))
    acked_while_full = ledger.acked_points - acked_after_grace
    health = await asyncio.to_thread(server.health)
    at_release = _counts_of(health)
    refusals = {
        "http_503": stats.statuses.get("503", 0) - before["503"],
        "mqtt_reconnects": stats.connects - before["connects"],
    }
    await asyncio.to_thread(release, disk)
    t_release = time.monotonic()
    acked_at_release = ledger.acked_points
    say(log, "disk_full: space is back")
    recovery_s = await ledger.first_ack_after(t_release, acked_at_release, 60.0)
    await asyncio.sleep(sizes.after_s)
    drained = [await http.drain(sizes.drain_s), await mqtt.drain(sizes.drain_s)]
    at_end = await asyncio.to_thread(_worker_counts, server)
    return {
        "per_worker": _per_worker(at_fill, after_grace, at_release, at_end),
        "ballast_mib": round(ballast / 2**20, 1),
        "acked_while_full": acked_while_full,
        "refused_while_full": refusals,
        "server_alive_while_full": health.get("writer_alive"),
        "recovery_s": None if recovery_s is None else round(recovery_s, 2),
        "drained": all(drained),
    }


def _counts_of(health: dict[str, Any]) -> list[dict[str, int]]:
    """Each process's points acknowledged and batches refused for the store's failure, in
    /api/health's ``workers`` order (main first); empty with ``--workers 1``."""
    return [
        {
            "pid": int(w["pid"]),
            "accepted": int(w.get("points_accepted", 0)),
            "store_failures": int(w.get("store_failures", 0)),
        }
        for w in health.get("workers", [])
    ]


def _worker_counts(server: Served) -> list[dict[str, int]]:
    return _counts_of(server.health(timeout_s=30.0))


def _per_worker(
    at_fill: list[dict[str, int]],
    after_grace: list[dict[str, int]],
    at_release: list[dict[str, int]],
    at_end: list[dict[str, int]],
) -> list[dict[str, int]]:
    """What each process did in each phase. A process restarted meanwhile (another pid)
    would make the differences meaningless, so it is reported with ``restarted``."""
    out = []
    for fill_, grace, release_, end in zip(at_fill, after_grace, at_release, at_end, strict=False):
        out.append(
            {
                "pid": fill_["pid"],
                "restarted": int(
                    len({fill_["pid"], grace["pid"], release_["pid"], end["pid"]}) > 1
                ),
                "accepted_before_full": fill_["accepted"],
                "accepted_while_full": release_["accepted"] - grace["accepted"],
                "store_failures_while_full": release_["store_failures"] - fill_["store_failures"],
                "accepted_after_release": end["accepted"] - release_["accepted"],
            }
        )
    return out
