"""Alarms per fault against notices per fault, before and after incidents (`shugu bench incidents`).

Two faults of the demo district, replayed as the rule engine's transitions into the real alarm
book (registry on SQLite, incidents, notices counted at the notifier's door):

- a CRAH trip: the CRAH's fan-stopped alarm, then its hall's racks warming over four minutes
  (30 racks above the recommended inlet limit, 11 of them also changing too fast): 42 alarms,
  the count the demo showed;
- a gateway going offline: the 30 cooling towers behind it fall silent within a minute.

Before incidents the book sent one ``raised`` notice per alarm; now it sends one per incident.
Both faults are scripted transitions, not a run of the simulator: the counts are what the demo
showed, replayed exactly.

Cost, in the same run: the alarm book raising alarms one per turn (as the monitor does when
faults arrive one by one) on a plant of lines of racks, with its incidents and, as the
baseline, without them (the same book with nothing planned for incidents, so its turns write
the alarms alone); and the grouping alone (``IncidentGrouper.place``) per alarm.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import say
from shugu.monitor.alarms import AlarmBook, NotifyConfig
from shugu.monitor.engine import DeviceInfo, Transition
from shugu.monitor.incidents import AlarmFact, IncidentGrouper, Topology, load_rules
from shugu.monitor.incidents_desk import IncidentTurn, build_topology
from shugu.monitor.model import AlarmNotice, NoticeEvent, Severity
from shugu.monitor.notify.channels import ChannelConfig, parse_channels
from shugu.monitor.notify.escalation import EscalationPolicy
from shugu.monitor.rules import default_rules
from shugu.store.registry import Registry
from shugu.store.registry.records import AssetRecord, DeviceRecord

T0 = 1_796_457_600_000  # 2026-12-05 00:00 (+08:00 is 08:00)
RACKS_WARM = 30
RACKS_FAST = 11
TOWERS = 30


@dataclass(frozen=True, slots=True)
class FaultResult:
    fault: str
    alarms: int
    notices_before: int
    notices_after: int
    incidents: int
    cause_device: str


class _NoLinks:
    """A telemetry store with no link attributes (the bench's devices have none)."""

    def attributes_named(self, keys: object) -> list[Any]:
        return []


def _world(folder: Path) -> tuple[Registry, dict[str, int]]:
    registry = Registry(f"sqlite:///{folder / 'registry.sqlite'}")
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐数字经济产业园", "350112")
    hall = registry.create_enterprise(park.id, "福州滨海云数据中心有限公司", "91350112MA000901XW")
    towers = registry.create_enterprise(park.id, "长乐冷塔运维服务有限公司", "91350112MA0009028W")
    ids: dict[str, int] = {"hall": hall.id, "towers": towers.id}
    site = registry.create_asset(hall.id, "site", "一号楼")
    area = registry.create_asset(hall.id, "area", "二层", site.id)
    line = registry.create_asset(hall.id, "line", "一号数据机房", area.id)
    ids["crah"] = registry.create_device(hall.id, "精密空调 02", "crah", asset_id=line.id)[0].id
    for i in range(RACKS_WARM):
        name = f"机柜 R{i + 1:03d}"
        ids[name] = registry.create_device(hall.id, name, "rack_sensor", asset_id=line.id)[0].id
    ids["gateway"] = registry.create_device(towers.id, "sim-gateway", "generic", is_gateway=True)[
        0
    ].id
    t_site = registry.create_asset(towers.id, "site", "客户甲")
    t_area = registry.create_asset(towers.id, "area", "冷却水站", t_site.id)
    lines = [registry.create_asset(towers.id, "line", f"{n} 号系统", t_area.id) for n in (1, 2)]
    for i in range(TOWERS):
        name = f"冷却塔 {i + 1:02d}"
        asset = lines[i % 2].id
        ids[name] = registry.create_device(towers.id, name, "cooling_tower", asset_id=asset)[0].id
        # What ingest records when the gateway publishes for the tower.
        registry.set_device_gateway(ids[name], ids["gateway"])
    return registry, ids


def _transitions(ids: dict[str, int]) -> dict[str, list[tuple[int, Transition]]]:
    """Each fault's transitions, each at the time the book sees it."""
    crah = [
        (T0 + 30_000, Transition("crah.fan_stopped", ids["crah"], True, T0, 0.0, Severity.critical))
    ]
    for i in range(RACKS_WARM):
        at = T0 + 60_000 + i * 6_000
        device = ids[f"机柜 R{i + 1:03d}"]
        crah.append(
            (at, Transition("rack_sensor.inlet_high", device, True, at, 27.5, Severity.major))
        )
        if i < RACKS_FAST:
            crah.append(
                (
                    at + 1_000,
                    Transition("rack_sensor.inlet_rate", device, True, at, 21.0, Severity.warning),
                )
            )
    hour = T0 + 3_600_000
    gateway = [
        (
            hour + i * 2_000,
            Transition(
                "cooling_tower.offline",
                ids[f"冷却塔 {i + 1:02d}"],
                True,
                hour,
                None,
                Severity.warning,
            ),
        )
        for i in range(TOWERS)
    ]
    return {"crah_trip": crah, "gateway_offline": gateway}


def replay(folder: Path) -> list[FaultResult]:
    """Both faults through the alarm book; notices counted per fault."""
    registry, ids = _world(folder)
    try:
        rules = {ref: rule for ref, (_p, rule) in default_rules().items()}
        devices = {
            d.id: DeviceInfo(d.id, d.enterprise_id, d.name, d.profile)
            for d in registry.all_devices()
        }
        names = {d.id: d.name for d in devices.values()}
        channels: dict[str, ChannelConfig] = parse_channels(
            [{"kind": "webhook", "name": "ops", "url": "https://hooks.example.com/shugu"}]
        )
        config = NotifyConfig(channels, EscalationPolicy(first=["ops"]))
        raised: list[AlarmNotice] = []
        now = [T0]

        def notify(notice: AlarmNotice, _channels: list[ChannelConfig]) -> None:
            if notice.event is NoticeEvent.raised:
                raised.append(notice)

        book = AlarmBook(
            registry,
            rule_of=lambda ref, _d: rules.get(ref),
            device_of=devices.get,
            notify_config=lambda _e: config,
            notify=notify,
            clock=lambda: now[0],
        )
        book.incidents.set_topology(build_topology(registry, _NoLinks(), load_rules()))  # type: ignore[arg-type]
        out = []
        for fault, timeline in _transitions(ids).items():
            raised.clear()
            before = book.raised
            for at, transition in timeline:
                now[0] = at
                book.apply([transition])
            alarms = book.raised - before
            incidents = {n.incident_id for n in raised if n.incident_id is not None}
            causes = [registry.get_incident(i).cause_alarm_id for i in sorted(incidents)]
            cause = registry.get_alarm(causes[0]) if causes and causes[0] else None
            out.append(
                FaultResult(
                    fault,
                    alarms,
                    notices_before=alarms,
                    notices_after=len(raised),
                    incidents=len(incidents),
                    cause_device=names.get(cause.device_id, "") if cause else "",
                )
            )
        return out
    finally:
        registry.close()


def grouping_cost_us(alarms: int, runs: int) -> list[float]:
    """Microseconds per alarm placed, over a plant of 50 lines of 40 devices, alarms spread
    over lines and time (medians of ``runs``)."""
    rules = load_rules()
    at = T0
    assets = [AssetRecord(1, 1, None, "site", "s", _dt()), AssetRecord(2, 1, 1, "area", "a", _dt())]
    assets += [AssetRecord(10 + n, 1, 2, "line", f"l{n}", _dt()) for n in range(50)]
    devices = [
        DeviceRecord(1000 + i, 1, 10 + i // 40, f"d{i}", "rack_sensor", False, _dt())
        for i in range(2000)
    ]
    topology = Topology.build(devices, assets, [], rules)
    facts = [
        AlarmFact(i + 1, 1000 + (i * 7919) % 2000, 1, at + i * 500, Severity.major, False)
        for i in range(alarms)
    ]
    costs = []
    for _ in range(runs):
        grouper = IncidentGrouper(topology, rules.window_s * 1000)
        started = time.perf_counter()
        for fact in facts:
            grouper.place(fact)
        costs.append((time.perf_counter() - started) / alarms * 1e6)
    return costs


def book_cost_us(folder: Path, alarms: int, *, grouped: bool) -> float:
    """Microseconds per alarm the alarm book raises, one alarm per turn, on a fresh registry
    of ``alarms`` racks over 25 lines; ``grouped`` False leaves the incident step out."""
    registry = Registry(f"sqlite:///{folder / f'book-{grouped}.sqlite'}")
    try:
        region = registry.create_region("350100", "福州市")
        park = registry.create_park(region.id, "长乐数字经济产业园", "350112")
        hall = registry.create_enterprise(
            park.id, "福州滨海云数据中心有限公司", "91350112MA000901XW"
        )
        site = registry.create_asset(hall.id, "site", "一号楼")
        area = registry.create_asset(hall.id, "area", "二层", site.id)
        lines = [registry.create_asset(hall.id, "line", f"{n} 列", area.id) for n in range(25)]
        racks = [
            registry.create_device(
                hall.id, f"机柜 {i:04d}", "rack_sensor", asset_id=lines[i % 25].id
            )[0].id
            for i in range(alarms)
        ]
        rules = {ref: rule for ref, (_p, rule) in default_rules().items()}
        devices = {
            d.id: DeviceInfo(d.id, d.enterprise_id, d.name, d.profile)
            for d in registry.all_devices()
        }
        channels = parse_channels(
            [{"kind": "webhook", "name": "ops", "url": "https://hooks.example.com/shugu"}]
        )
        config = NotifyConfig(channels, EscalationPolicy(first=["ops"]))
        now = [T0]
        book = AlarmBook(
            registry,
            rule_of=lambda ref, _d: rules.get(ref),
            device_of=devices.get,
            notify_config=lambda _e: config,
            notify=lambda _n, _c: None,
            clock=lambda: now[0],
        )
        book.incidents.set_topology(build_topology(registry, _NoLinks(), load_rules()))  # type: ignore[arg-type]
        if not grouped:
            # Nothing placed, nothing written: the alarms' transaction alone.
            book.incidents.plan = lambda _raised, _cleared, at: IncidentTurn(at)  # type: ignore[method-assign]
        started = time.perf_counter()
        for i, rack in enumerate(racks):
            now[0] = T0 + i * 500
            book.apply(
                [Transition("rack_sensor.inlet_high", rack, True, now[0], 29.0, Severity.major)]
            )
        return (time.perf_counter() - started) / alarms * 1e6
    finally:
        registry.close()


def _dt() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 12, 5, tzinfo=UTC)


def run(*, quick: bool = False, runs: int = 5, log: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shugu-bench-incidents-") as tmp:
        say(log, "replaying the CRAH trip and the gateway outage through the alarm book")
        faults = replay(Path(tmp))
        book = 200 if quick else 1_000
        say(log, f"timing the alarm book with and without incidents: {book} alarms × {runs} runs")
        with_incidents, without = [], []
        for n in range(runs):
            run_folder = Path(tmp) / f"run-{n}"
            run_folder.mkdir()
            without.append(book_cost_us(run_folder, book, grouped=False))
            with_incidents.append(book_cost_us(run_folder, book, grouped=True))
    alarms = 2_000 if quick else 20_000
    say(log, f"timing the grouping: {alarms} alarms × {runs} runs")
    costs = grouping_cost_us(alarms, runs)
    base, grouped = statistics.median(without), statistics.median(with_incidents)
    return {
        "faults": [
            {
                "fault": f.fault,
                "alarms": f.alarms,
                "notices_before": f.notices_before,
                "notices_after": f.notices_after,
                "incidents": f.incidents,
                "probable_cause": f.cause_device,
            }
            for f in faults
        ],
        "grouping_per_alarm_ms": round(statistics.median(costs) / 1000, 4),
        "grouping_per_alarm_runs_ms": [round(c / 1000, 4) for c in costs],
        "alarms_timed": alarms,
        "book_per_alarm_ms": {
            "without_incidents": round(base / 1000, 4),
            "with_incidents": round(grouped / 1000, 4),
            "runs_without_ms": [round(c / 1000, 4) for c in without],
            "runs_with_ms": [round(c / 1000, 4) for c in with_incidents],
            "alarms_timed": book,
        },
        "incidents_share_of_book": round((grouped - base) / base, 3),
        "grouping_share_of_book": round(statistics.median(costs) / base, 4),
    }
