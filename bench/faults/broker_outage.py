"""Broker outage in bridge mode: Mosquitto stops for a while and comes back; nothing is lost.

Two ``shugu serve`` bridge workers consume ``$share/shugu/shugu/v1/+/+/telemetry`` from a
Mosquitto with persistence on (see ``broker.py``), each with its own store and its persistent
session. Devices publish MQTT 5 at QoS 1 to Mosquitto at a steady rate; a message counts as
acknowledged when Mosquitto PUBACKs it to the device with reason code 0 (success).

Why MQTT 5 devices: Mosquitto (2.0) saves a persistent session's ordinary subscriptions and
queued messages on shutdown, but not its shared subscriptions. After a restart the workers'
sessions come back with the messages queued before the stop, and without the shared
subscription until each worker reconnects and subscribes again. Whatever devices publish in that
window matches no subscription and is dropped; Mosquitto still acknowledges it, with reason code
0x10 ("no matching subscribers") for MQTT 5 publishers and a plain PUBACK for MQTT 3.1.1 ones.
The devices here treat 0x10 as "not delivered" and send again; the run counts those answers.

For the last ``pause_s`` before the stop the second worker is frozen (SIGSTOP), so that its
share piles up in its session at the broker (up to 1,000 in flight, the rest queued); it is
thawed once the broker is down. After ``before_s`` Mosquitto is stopped (SIGTERM: it saves its
sessions and queued messages) for ``outage_s`` and started again on the same port. Devices keep
their unacknowledged messages, reconnect and send them again; the workers reconnect with
back-off, resume their sessions and subscribe again, and Mosquitto delivers what it kept for
them. ``queued_in_broker_over_restart`` counts the acknowledged points no worker had stored
during the outage: they exist only in Mosquitto's persistence file until it delivers them.

Then the devices stop and the run waits until every acknowledged point is readable from the
two workers' range APIs (together). A point stored by both workers counts as duplicated.
Reported: the ledger, each worker's reconnect time (broker back → CONNACK, from the worker's
log), the time to the first delivered message (broker back → first PUBACK with reason code 0),
the messages Mosquitto took with no subscription to match, and how long the workers took after
the devices stopped to have stored everything.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import say
from bench.faults import FaultOptions
from bench.faults.broker import Broker
from bench.faults.clients import MqttFleet, Pacer
from bench.faults.ledger import ApiReader, Ledger, Verification, raw_rows, verify
from bench.faults.served import Served, make_district


@dataclass(frozen=True)
class OutageSizes:
    devices: int
    #: Messages (units of 10 points) per second over all devices.
    units_per_s: float
    window: int
    before_s: float
    #: The second worker is frozen (SIGSTOP) for the last ``pause_s`` before the stop.
    pause_s: float
    outage_s: float
    after_s: float
    drain_s: float = 60.0
    #: Longest wait after the devices stopped for the workers to store everything.
    settle_s: float = 120.0


FULL = OutageSizes(
    devices=200,
    units_per_s=2000,
    window=10,
    before_s=10.0,
    pause_s=4.0,
    outage_s=30.0,
    after_s=10.0,
)
QUICK = OutageSizes(
    devices=40, units_per_s=600, window=5, before_s=5.0, pause_s=4.0, outage_s=3.0, after_s=3.0
)


def run(options: FaultOptions) -> dict[str, object]:
    sizes = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory(prefix="shugu-outage-") as tmp:
        return run_broker_outage(Path(tmp), sizes, log=options.log)


def run_broker_outage(workdir: Path, sizes: OutageSizes, *, log: bool = False) -> dict[str, Any]:
    broker = Broker(workdir / "broker")
    broker.start()
    workers: list[Served] = []
    try:
        district = make_district(workdir / "registry", sizes.devices)
        for i in (1, 2):
            worker = Served(
                district,
                data=workdir / f"w{i}",
                mqtt=False,
                broker_url=broker.url,
                broker_client_id=f"shugu-fault-w{i}",
                log_path=workdir / f"w{i}.log",
                log_level="info",
            )
            workers.append(worker)
            worker.start()
        ledger = Ledger(district.devices, ts0=int(time.time() * 1000) - 3 * 3_600_000)
        timeline = asyncio.run(_stream(broker, workers, ledger, sizes, log))
        say(log, "broker outage: waiting until the workers stored every acknowledged point")
        verification, settled_s = _settle(ledger, workers, sizes.settle_s)
        still_connected = [bool(w.health().get("broker_connected")) for w in workers]
    finally:
        for worker in workers:
            worker.stop()
        broker.close()
    out: dict[str, Any] = verification.as_dict()
    out.update(timeline)
    out["stored_everything_after_s"] = settled_s
    out["workers_connected_at_end"] = still_connected
    out["worker_raw_rows"] = [raw_rows(w.data / "telemetry.duckdb") for w in workers]
    out["client"] = asdict(ledger.stats)
    # Messages Mosquitto took while no subscription matched (the shared subscription is not
    # restored on restart, only re-made when a worker reconnects): MQTT 5 devices were told
    # (PUBACK reason 0x10) and sent them again; an MQTT 3.1.1 device would have lost them.
    out["broker_no_subscriber_pubacks"] = ledger.stats.statuses.get("puback_0x10", 0)
    out["broker_no_subscriber_messages"] = ledger.stats.undelivered_units
    out["worker_logs"] = [w.log_problems() for w in workers]
    out["sizes"] = asdict(sizes)
    say(log, f"broker outage: sent {out['sent']:,} acked {out['acked']:,} lost {out['lost']}")
    return out


async def _stream(
    broker: Broker, workers: list[Served], ledger: Ledger, sizes: OutageSizes, log: bool
) -> dict[str, Any]:
    enterprise = workers[0].district.enterprise
    fleet = MqttFleet(
        ledger,
        ledger.devices,
        "127.0.0.1",
        broker.port,
        window=sizes.window,
        topic=f"shugu/v1/{enterprise}/{{name}}/telemetry",
        use_token=False,
        pacer=Pacer(sizes.units_per_s),
        level=5,
    )
    fleet.start()
    await asyncio.sleep(sizes.before_s - sizes.pause_s)
    # A frozen worker: the broker keeps sending it its share up to the in-flight limit and
    # queues the rest, so that the outage starts with messages queued in the session.
    workers[-1].pause()
    await asyncio.sleep(sizes.pause_s)
    say(log, f"broker outage: stopping Mosquitto for {sizes.outage_s:.0f} s")
    t_stop = time.monotonic()
    await asyncio.to_thread(broker.stop)
    t_down = time.monotonic()
    workers[-1].resume()
    acked_at_stop = ledger.acked_points
    # What the workers hold now (after the frozen one took what reached its socket) against
    # what the broker acknowledged: the difference waits in the broker's persistence file.
    await asyncio.sleep(1.0)
    during = await asyncio.to_thread(verify, ledger, [ApiReader(w) for w in workers])
    await asyncio.sleep(max(0.0, sizes.outage_s - (time.monotonic() - t_down)))
    acked_at_restart = ledger.acked_points
    t_up, wall_up = time.monotonic(), time.time()
    broker_start_s = await asyncio.to_thread(broker.start)
    say(log, "broker outage: Mosquitto is back")
    first_ack_s = await ledger.first_ack_after(t_up, acked_at_restart, 60.0)
    await asyncio.sleep(sizes.after_s)
    drained = await fleet.drain(sizes.drain_s)
    worker_s = [await reconnected_after(w, wall_up, 60.0) for w in workers]
    return {
        "outage_s": round(t_up - t_down, 1),
        "broker_stop_s": round(t_down - t_stop, 2),
        "acked_before_outage": acked_at_stop,
        # Acknowledged by the broker before the stop, stored by no worker until after it.
        "queued_in_broker_over_restart": during.tally.lost,
        "broker_restart_s": round(broker_start_s, 2),
        # Broker back → the first message it acknowledged as delivered (0x00).
        "first_ack_after_restart_s": None if first_ack_s is None else round(first_ack_s, 2),
        "worker_reconnect_s": [None if s is None else round(s, 2) for s in worker_s],
        "drained": drained,
    }


async def reconnected_after(worker: Served, since_wall: float, timeout_s: float) -> float | None:
    """Seconds from ``since_wall`` to the worker's first "connected to broker" log line after it
    (written in paho's on_connect, so it times the CONNACK to the millisecond); the log is
    polled until the line appears or ``timeout_s`` passes."""
    assert worker.log_path is not None
    deadline = time.monotonic() + timeout_s
    while True:
        for line in worker.log_path.read_text(errors="replace").splitlines():
            if "connected to broker" not in line:
                continue
            try:
                stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            except ValueError:
                continue
            if stamp >= since_wall:
                return stamp - since_wall
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.1)


def _settle(
    ledger: Ledger, workers: list[Served], timeout_s: float
) -> tuple[Verification, float | None]:
    """Verify until nothing acknowledged is missing (the workers may still be catching up)."""
    readers = [ApiReader(w) for w in workers]
    t0 = time.monotonic()
    while True:
        result = verify(ledger, readers)
        if result.tally.lost == 0:
            return result, round(time.monotonic() - t0, 1)
        if time.monotonic() - t0 > timeout_s:
            return result, None
        time.sleep(1.0)
