"""The cluster under fire: one ingest worker and one monitor worker killed mid-stream.

Every part is its own process on its own free ports (``cluster_nodes.py``): Mosquitto with
persistence, two ClickHouse servers as two plain shards of one cluster, PostgreSQL for the
registry, two ingest workers (``shugu serve --role ingest``, one per shard's server) on the
broker's shared subscription, two monitor workers (``--role monitor``) and one API node
(``--role api``), all on the same ``--registry-url`` and ``--telemetry-url`` database.

Two kinds of devices publish MQTT 5 at QoS 1 through Mosquitto:

- the ledger's devices (``ledger.py``), ``units_per_s`` messages of 10 points a second over all
  of them; a point counts as acknowledged when Mosquitto PUBACKs it with reason code 0;
- probe rack sensors (``alarm_probe.py``) in ``enterprises`` enterprises (monitor workers
  divide enterprises among themselves), one inlet temperature a second: normal at first, above
  27 °C once the monitors have settled (each device's ``inlet_high`` must fire), then above
  32 °C from the moment of the kill (each device's ``inlet_critical`` must fire, on the
  surviving monitor's enterprises at once and on the killed one's after the survivor took them
  over).

After ``before_kill_s`` the second ingest worker and the monitor worker that watches more of
the probe enterprises (told by rendezvous hashing over the live members, as the workers do) are
killed (SIGKILL) together. The ingest worker is started again ``ingest_down_s`` later on the same
broker client id (as a supervisor would): its persistent session holds what the broker had
sent it and not had acknowledged, and what the broker queued for it meanwhile. The monitor is
not restarted: the survivor must take its enterprises over.

Then the devices stop and the run reads everything back through the API node alone: every
acknowledged point present once with its value (the ledger's verify), and every intended alarm
raised once per (rule, device) while active (``/api/alarms``). Reported: the ledger, the alarm
counts, the acknowledged points not readable just before the ingest worker's restart (its share,
held in its session at the broker), the time from the kill to the first ``inlet_critical``
alarm of a device the killed monitor watched (and to the last of them), and the time after the
devices stopped until every acknowledged point was readable.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import say
from bench.faults import FaultOptions
from bench.faults.alarm_probe import (
    CRITICAL_C,
    CRITICAL_RULE,
    HIGH_C,
    HIGH_RULE,
    AlarmWatch,
    ProbeEnterprise,
    ProbeFleet,
    add_probe_enterprises,
    check_alarms,
    read_alarms,
    watch_until,
)
from bench.faults.broker_outage import reconnected_after
from bench.faults.clients import MqttFleet, Pacer
from bench.faults.cluster_nodes import (
    Backends,
    NodeSpec,
    missing_binaries,
    serve_has_roles,
    start_nodes,
)
from bench.faults.ledger import ApiReader, Ledger, Verification, verify
from bench.faults.served import Served, make_district
from shugu.monitor.partitions import owners
from shugu.store.registry import Registry
from shugu.store.registry.cluster import MEMBER_TIMEOUT_S

DATABASE = "shugu"
NODES = (
    NodeSpec("api", "api", shard=0),
    NodeSpec("ingest-1", "ingest", shard=0),
    NodeSpec("ingest-2", "ingest", shard=1),
    NodeSpec("monitor-1", "monitor", shard=0),
    NodeSpec("monitor-2", "monitor", shard=1),
)
KILLED_INGEST = "ingest-2"
KILLED_MONITOR = "monitor-2"


@dataclass(frozen=True)
class ClusterSizes:
    devices: int
    #: Ledger messages (units of 10 points) per second over all ledger devices.
    units_per_s: float
    window: int
    enterprises: int
    probes_per_enterprise: int
    #: Streaming before the probes go above 27 °C (the monitors find their shares).
    settle_monitors_s: float
    #: Streaming between the probes' first alarms and the kill.
    before_kill_s: float
    #: The killed ingest worker is started again this long after the kill.
    ingest_down_s: float
    #: Streaming after the kill.
    after_kill_s: float
    #: Longest wait for the intended alarms of one phase.
    alarm_timeout_s: float = 60.0
    drain_s: float = 60.0
    #: Longest wait after the devices stopped for every acknowledged point to be readable.
    settle_s: float = 120.0


# 10 k points/s: about half of what this cluster stores on the 2-core machine (bench cluster).
FULL = ClusterSizes(
    devices=200,
    units_per_s=1000,
    window=10,
    enterprises=6,
    probes_per_enterprise=3,
    settle_monitors_s=10.0,
    before_kill_s=10.0,
    ingest_down_s=5.0,
    after_kill_s=30.0,
)
QUICK = ClusterSizes(
    devices=40,
    units_per_s=500,
    window=5,
    enterprises=4,
    probes_per_enterprise=2,
    settle_monitors_s=4.0,
    before_kill_s=3.0,
    ingest_down_s=3.0,
    after_kill_s=12.0,
)


def run(options: FaultOptions) -> dict[str, object]:
    """The scenario at its full or quick size; skipped (with the reason) where a server binary
    is missing or this shugu's ``serve`` has no roles."""
    reasons = missing_binaries()
    if not serve_has_roles():
        reasons.append("this shugu's serve has no --role option")
    if reasons:
        say(options.log, f"cluster: skipped: {'; '.join(reasons)}")
        return {"skipped": "; ".join(reasons)}
    sizes = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory(prefix="shugu-cluster-") as tmp:
        return run_cluster(Path(tmp), sizes, log=options.log)


@dataclass
class _Cluster:
    backends: Backends
    registry_url: str
    nodes: dict[str, Served]
    probes: list[ProbeEnterprise]

    @property
    def api(self) -> Served:
        return self.nodes["api"]


def run_cluster(workdir: Path, sizes: ClusterSizes, *, log: bool = False) -> dict[str, Any]:
    backends = Backends(workdir)
    backends.start()
    nodes: dict[str, Served] = {}
    try:
        registry_url = backends.registry_url()
        district = make_district(workdir / "district", sizes.devices, registry_url=registry_url)
        probes = add_probe_enterprises(registry_url, sizes.enterprises, sizes.probes_per_enterprise)
        start_nodes(NODES, district, backends, DATABASE, workdir, nodes)
        say(log, f"cluster: {len(nodes)} shugu processes up")
        cluster = _Cluster(backends, registry_url, nodes, probes)
        ledger = Ledger(district.devices, ts0=int(time.time() * 1000) - 3 * 3_600_000)
        timeline = asyncio.run(_stream(cluster, ledger, sizes, log))
        say(log, "cluster: waiting until every acknowledged point is readable through the API")
        verification, settled_s = _settle(ledger, cluster.api, sizes.settle_s)
        check = check_alarms(read_alarms(cluster.api, probes), probes, (HIGH_RULE, CRITICAL_RULE))
        problems = {name: node.log_problems() for name, node in nodes.items()}
    finally:
        for node in nodes.values():
            node.stop()
        backends.close()
    out: dict[str, Any] = verification.as_dict()
    out.update(timeline)
    out["readable_everything_after_s"] = settled_s
    out["alarms_expected"] = check.expected
    out["alarms_raised"] = check.raised
    out["alarms_missing"] = check.missing[:10]
    out["alarms_raised_twice"] = check.raised_twice[:10]
    out["alarms_by_rule"] = check.by_rule
    out["alarms_ok"] = check.ok
    out["client"] = asdict(ledger.stats)
    out["node_logs"] = problems
    out["sizes"] = asdict(sizes)
    say(
        log,
        f"cluster: sent {out['sent']:,} acked {out['acked']:,} lost {out['lost']} "
        f"duplicated {out['duplicated']}; alarms {check.raised}/{check.expected}, "
        f"raised twice {len(check.raised_twice)}",
    )
    return out


async def _stream(
    cluster: _Cluster, ledger: Ledger, sizes: ClusterSizes, log: bool
) -> dict[str, Any]:
    broker = cluster.backends.broker
    fleet = MqttFleet(
        ledger,
        ledger.devices,
        "127.0.0.1",
        broker.port,
        window=sizes.window,
        topic="shugu/v1/{enterprise}/{name}/telemetry",
        use_token=False,
        pacer=Pacer(sizes.units_per_s),
        level=5,
    )
    probes = ProbeFleet(cluster.probes, "127.0.0.1", broker.port)
    fleet.start()
    probes.start()
    await asyncio.sleep(sizes.settle_monitors_s)
    monitors = await asyncio.to_thread(_wait_monitors, cluster.registry_url, 2, 30.0)
    watch = AlarmWatch()
    say(log, f"cluster: probes above the limit ({HIGH_C} °C)")
    t_high = time.monotonic()
    probes.inlet_c = HIGH_C
    high_ok = await watch_until(
        cluster.api, cluster.probes, watch, HIGH_RULE, sizes.alarm_timeout_s
    )
    high_s = time.monotonic() - t_high
    await asyncio.sleep(sizes.before_kill_s)
    members_before = await asyncio.to_thread(_live_monitors, cluster.registry_url)
    victim = _busiest_monitor(cluster, members_before)
    say(log, f"cluster: kill -9 {KILLED_INGEST} and {victim}")
    acked_at_kill = ledger.acked_points
    t_kill = time.monotonic()
    cluster.nodes[KILLED_INGEST].kill()
    cluster.nodes[victim].kill()
    probes.inlet_c = CRITICAL_C
    restart = asyncio.create_task(
        _restart_later(cluster.nodes[KILLED_INGEST], sizes.ingest_down_s, ledger, cluster.api)
    )
    critical_ok = await watch_until(
        cluster.api, cluster.probes, watch, CRITICAL_RULE, MEMBER_TIMEOUT_S + sizes.alarm_timeout_s
    )
    unreadable_at_restart, ingest_restart_s = await restart
    remaining = sizes.after_kill_s - (time.monotonic() - t_kill)
    await asyncio.sleep(max(0.0, remaining))
    members_after = await asyncio.to_thread(_live_monitors, cluster.registry_url)
    drained = await fleet.drain(sizes.drain_s)
    await probes.stop()
    moved = _moved_enterprises(cluster.probes, members_before, members_after)
    moved_devices = [d.id for e in cluster.probes if e.id in moved for d in e.devices]
    kept_devices = [d.id for e in cluster.probes if e.id not in moved for d in e.devices]

    def after_kill(devices: list[int], last: bool) -> float | None:
        seen = [watch.first_seen.get((CRITICAL_RULE, d)) for d in devices]
        times = [s for s in seen if s is not None]
        if not times or len(times) < len(seen):
            return None
        return round((max(times) if last else min(times)) - t_kill, 2)

    return {
        "acked_at_kill": acked_at_kill,
        "monitors_joined": monitors,
        "killed_monitor": victim,
        "high_alarms_seen": high_ok,
        "high_alarms_all_seen_after_s": round(high_s, 2),
        "critical_alarms_seen": critical_ok,
        "monitors_before_kill": members_before,
        "monitors_after_kill": members_after,
        "enterprises_moved": sorted(moved),
        "devices_moved": len(moved_devices),
        # Kill → the first (and the last) inlet_critical alarm of a device the killed monitor
        # watched, as seen by polling the API node every 0.25 s.
        "first_alarm_after_monitor_kill_s": after_kill(moved_devices, last=False),
        "last_alarm_after_monitor_kill_s": after_kill(moved_devices, last=True),
        "first_alarm_on_survivor_after_kill_s": after_kill(kept_devices, last=False),
        "acked_unreadable_before_ingest_restart": unreadable_at_restart,
        # Restart → the worker's CONNACK from the broker (its log; -1: not found).
        "ingest_restart_to_connack_s": round(ingest_restart_s, 2),
        "probe_points_delivered": probes.delivered,
        "probe_points_not_delivered": probes.not_delivered,
        "drained": drained,
    }


async def _restart_later(
    node: Served, after_s: float, ledger: Ledger, api: Served
) -> tuple[int, float]:
    """Start the killed ingest worker again after ``after_s``; first count the acknowledged
    points not readable yet: Mosquitto keeps handing the dead worker's persistent session its
    share of the shared subscription, so they wait there until the worker is back (the count
    also holds the last moment's points still on their way through the live worker)."""
    await asyncio.sleep(after_s)
    unreadable = await asyncio.to_thread(verify, ledger, [ApiReader(api)])
    wall = time.time()
    await asyncio.to_thread(node.start)
    connected = await reconnected_after(node, wall, 10.0)
    return unreadable.tally.lost, -1.0 if connected is None else connected


def _live_monitors(registry_url: str) -> list[str]:
    """The live monitor members' ids, as the monitor workers list them."""
    registry = Registry(registry_url)
    try:
        members = registry.live_members("monitor", datetime.now(UTC), MEMBER_TIMEOUT_S)
        return [m.member_id for m in members]
    finally:
        registry.close()


def _wait_monitors(registry_url: str, count: int, timeout_s: float) -> int:
    """Wait until ``count`` monitor members beat; how many there are then."""
    deadline = time.monotonic() + timeout_s
    while True:
        members = _live_monitors(registry_url)
        if len(members) >= count or time.monotonic() > deadline:
            return len(members)
        time.sleep(0.2)


def _busiest_monitor(cluster: _Cluster, members: list[str]) -> str:
    """The monitor node that watches the most probe enterprises (its member id carries its
    pid), so that the kill always moves some; the second monitor if none can be told."""
    monitors = [name for name, spec in ((s.name, s) for s in NODES) if spec.role == "monitor"]
    ids = [e.id for e in cluster.probes]
    shares = {name: 0 for name in monitors}
    if members:
        for index in owners(ids, members):
            member = members[int(index)]
            for name in monitors:
                if f"-{cluster.nodes[name].pid}-" in member:
                    shares[name] += 1
    best = max(monitors, key=lambda name: (shares[name], name))
    return best if shares[best] else KILLED_MONITOR


def _moved_enterprises(
    probes: list[ProbeEnterprise], before: list[str], after: list[str]
) -> set[int]:
    """The probe enterprises whose owner (rendezvous hashing over the live monitors) was a
    member that left between ``before`` and ``after``: the killed monitor's share."""
    ids = [e.id for e in probes]
    if not before:
        return set()
    owner = owners(ids, before)
    gone = set(before) - set(after)
    return {e for e, o in zip(ids, owner, strict=True) if before[int(o)] in gone}


def _settle(ledger: Ledger, api: Served, timeout_s: float) -> tuple[Verification, float | None]:
    """Verify through the API node until nothing acknowledged is missing."""
    reader = ApiReader(api)
    t0 = time.monotonic()
    while True:
        result = verify(ledger, [reader])
        if result.tally.lost == 0:
            return result, round(time.monotonic() - t0, 1)
        if time.monotonic() - t0 > timeout_s:
            return result, None
        time.sleep(1.0)
