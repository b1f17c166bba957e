"""One flooding device must neither stall other tenants' alarms nor raise an alarm per flip.

A rack sensor of enterprise A posts points alternating 20/40 °C around the 27 °C limit of
`rack_sensor.inlet_high`; enterprise B's rack sensor crosses the limit once. Turns of the
monitor are driven by hand with a fixed clock, so every bound here is a count, not a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

from shugu.domain.batch import QUALITY_GOOD, Batch
from shugu.domain.errors import ValidationError
from shugu.monitor import service
from shugu.monitor.engine import Transition
from shugu.monitor.rules import default_rules
from shugu.monitor.service import MOMENTS_PER_DEVICE_PER_TURN, Monitor
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry
from shugu.store.registry.monitoring import AlarmRecord
from tests.clock import ManualClock

START = 1_790_000_000_000
RULE = "rack_sensor.inlet_high"
FLOOD = 60_000


@dataclass
class Site:
    registry: Registry
    store: DuckDBTelemetryStore
    monitor: Monitor
    clock: ManualClock[int]
    flooder: int
    other: int
    inlet: int

    def send(self, device: int, ts: np.ndarray, values: np.ndarray) -> None:
        n = len(ts)
        batch = Batch(
            np.full(n, device, np.int32),
            np.full(n, self.inlet, np.int32),
            ts.astype(np.int64),
            values.astype(np.float64),
            np.full(n, QUALITY_GOOD, np.uint8),
        )
        self.store.submit(batch).result(30)

    def flood(self, n: int, first_hot: bool = True) -> None:
        """``n`` points 1 ms apart ending at the clock, each one on the other side of the limit."""
        ts = self.clock.now - n + np.arange(n)
        hot = (np.arange(n) % 2 == 0) == first_hot
        self.send(self.flooder, ts, np.where(hot, 40.0, 20.0))

    def alarms(self, device: int) -> list[AlarmRecord]:
        """The device's alarms of ``RULE`` (40 °C flips `inlet_critical` the same way)."""
        alarms = self.registry.list_alarms(None, device_id=device, limit=100_000)
        return [a for a in alarms if a.rule_ref == RULE]

    def drain(self) -> int:
        """Turns until every queued point is evaluated, then the tick's flapping step."""
        turns = 0
        while self.monitor.stats().pending_rows:
            self.monitor.process_pending()
            turns += 1
        self.monitor.book.settle_flapping()
        return turns


@pytest.fixture
def site(tmp_path: Path, password_hasher: PasswordHasher) -> Iterator[Site]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}", password_hasher=password_hasher)
    store = DuckDBTelemetryStore(tmp_path / "t.duckdb")
    region = registry.create_region("350112", "长乐区")
    park = registry.create_park(region.id, "数字经济产业园", "350112")
    a = registry.create_enterprise(park.id, "甲数据中心", "91350112MA000901XW", "0405")
    b = registry.create_enterprise(park.id, "乙数据中心", "91110108551385082Q", "0405")
    flooder = registry.create_device(a.id, "rack-flood", "rack_sensor")[0].id
    other = registry.create_device(b.id, "rack-b01", "rack_sensor")[0].id
    [inlet] = (int(m) for m in store.metric_ids(["inlet_c"]))
    clock = ManualClock(START)
    monitor = Monitor(registry, store, clock=clock)
    store.add_listener(monitor.on_batch)
    try:
        yield Site(registry, store, monitor, clock, flooder, other, inlet)
    finally:
        store.close()
        registry.close()


def test_another_enterprise_s_alarm_is_raised_in_the_turn_its_point_arrives(site: Site) -> None:
    """60,000 flips queued before B's one crossing: B's alarm comes in the first turn, after
    evaluating at most one turn's share of the flood, and the flood goes on in later turns."""
    site.flood(FLOOD)
    site.send(site.other, np.asarray([site.clock.now]), np.asarray([35.0]))
    raised: list[tuple[int, int]] = []  # (device, points evaluated by then)

    def on_raised(t: Transition, _alarm_id: int) -> None:
        raised.append((t.device_id, site.monitor.engine.evaluated_points))

    site.monitor.book.on_raised = on_raised
    site.monitor.process_pending()
    assert site.other in {device for device, _n in raised}, "B's alarm comes in the first turn"
    assert max(n for _device, n in raised) <= MOMENTS_PER_DEVICE_PER_TURN + 1
    assert site.monitor.stats().pending_rows == FLOOD - MOMENTS_PER_DEVICE_PER_TURN
    [alarm] = site.alarms(site.other)
    assert (alarm.rule_ref, alarm.status, alarm.flapping) == (RULE, "active", False)

    # Another crossing of B's while the flood is still queued: raised in the very next turn.
    second = site.registry.create_device(alarm.enterprise_id, "rack-b02", "rack_sensor")[0].id
    site.monitor.configure()
    site.send(second, np.asarray([site.clock.now]), np.asarray([36.0]))
    site.monitor.process_pending()
    assert [a.status for a in site.alarms(second)] == ["active"]
    assert site.monitor.stats().pending_rows > 0  # the flood is not done yet


def test_a_flooding_device_ends_with_one_flapping_alarm_with_every_flip_counted(
    site: Site,
) -> None:
    flood = FLOOD // 10  # thousands of flips, drained in a few seconds
    site.flood(flood)
    turns = site.drain()
    assert turns == -(-flood // MOMENTS_PER_DEVICE_PER_TURN)
    assert site.monitor.engine.evaluated_points == flood
    rule = default_rules()[RULE][1]
    alarms = site.alarms(site.flooder)
    open_ = [a for a in alarms if a.status != "cleared"]
    assert len(open_) == 1, [(a.status, a.flips) for a in alarms]
    [held] = open_
    assert held.flapping and held.flips == flood
    # Before it flapped, each raise was an alarm: flap_start changes make rule.flap_start // 2.
    assert len(alarms) == rule.flap_start // 2
    kinds = [e.kind for e in site.registry.alarm_events(held.id)]
    assert kinds == ["raised", "flapping"]  # no event per flip
    assert site.monitor.book.raised == 2 * len(alarms)  # inlet_critical flaps alike


@pytest.mark.parametrize(("first_hot", "settles_to"), [(True, "cleared"), (False, "active")])
def test_flapping_ends_below_the_lower_threshold_in_the_rule_s_verdict(
    site: Site, first_hot: bool, settles_to: str
) -> None:
    """With an even number of flips the last one is the opposite of the first: a flood that
    starts hot ends cool (the alarm clears), one that starts cool ends hot (it stays open)."""
    site.flood(100, first_hot=first_hot)
    site.drain()
    [held] = [a for a in site.alarms(site.flooder) if a.status != "cleared"]
    flips = held.flips
    assert held.flapping and flips == (100 if first_hot else 99)
    rule = default_rules()[RULE][1]
    # Within the window the changes are still above the lower threshold: still flapping.
    site.clock.now += int(rule.flap_window_s * 1000) - 10
    site.monitor.book.settle_flapping()
    assert site.registry.get_alarm(held.id).flapping
    site.clock.now += 10
    site.monitor.book.settle_flapping()
    settled = site.registry.get_alarm(held.id)
    assert (settled.status, settled.flapping, settled.flips) == (settles_to, False, flips)
    kinds = [e.kind for e in site.registry.alarm_events(held.id)]
    assert kinds[-1] == ("cleared" if settles_to == "cleared" else "flapping_ended")
    # Afterwards the rule raises and clears as usual again.
    site.send(site.flooder, np.asarray([site.clock.now]), np.asarray([20.0]))
    site.send(site.flooder, np.asarray([site.clock.now + 1]), np.asarray([40.0]))
    site.drain()
    [now_open] = [a for a in site.alarms(site.flooder) if a.status != "cleared"]
    assert not now_open.flapping and now_open.id != held.id


def test_a_flapping_alarm_survives_a_restart_marked(site: Site) -> None:
    site.flood(100)
    site.drain()
    [held] = [a for a in site.alarms(site.flooder) if a.status != "cleared"]
    again = Monitor(site.registry, site.store, clock=site.clock)
    site.store.add_listener(again.on_batch)
    site.flood(10, first_hot=False)  # still flapping: the same alarm counts on
    while again.stats().pending_rows:
        again.process_pending()
    again.book.settle_flapping()
    [still] = [a for a in site.alarms(site.flooder) if a.status != "cleared"]
    assert still.id == held.id and still.flapping and still.flips == held.flips + 10


def test_flap_limits_are_rule_data_checked_like_every_limit() -> None:
    rule = default_rules()[RULE][1]
    assert rule.with_overrides({"flap_start": 20, "flap_stop": 5}).flap_start == 20
    with pytest.raises(ValidationError) as caught:
        rule.with_overrides({"flap_start": 4, "flap_stop": 4})
    assert caught.value.details["field"] == "flap_stop"


def test_a_flood_beyond_the_carry_limit_drops_its_own_oldest_points(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The points carried to later turns are bounded: beyond the limit the flooder's oldest are
    skipped (counted), and the queue keeps room for the other tenants' batches."""
    monkeypatch.setattr(service, "MAX_CARRIED_ROWS", 100)
    site.flood(1000)
    site.monitor.process_pending()
    stats = site.monitor.stats()
    skipped = 1000 - MOMENTS_PER_DEVICE_PER_TURN - 100
    assert (stats.pending_rows, stats.skipped_rows) == (100, skipped)
    site.send(site.other, np.asarray([site.clock.now]), np.asarray([35.0]))
    site.monitor.process_pending()
    assert [a.status for a in site.alarms(site.other)] == ["active"]
    site.drain()
    assert site.monitor.engine.evaluated_points == MOMENTS_PER_DEVICE_PER_TURN + 100 + 1


def test_a_flapping_rule_sends_no_notice_per_flip(site: Site) -> None:
    """With a notification policy, the flood sends one notice however many flips follow: the
    alarms raised and cleared before the rule started flapping, and the held one, are one
    incident (one device, one rule, minutes apart), which notifies when it opens and stays open
    while the held alarm is."""
    enterprise = site.registry.get_device(site.flooder).enterprise_id
    site.registry.put_config(
        "channel",
        enterprise,
        {"kind": "webhook", "name": "ops", "url": "https://hooks.example.com/ops"},
        ref=f"{enterprise}:ops",
    )
    site.registry.put_config("escalation", enterprise, {"first": ["ops"]}, ref=str(enterprise))
    notices: list[tuple[str, str]] = []
    monitor = Monitor(
        site.registry,
        site.store,
        clock=site.clock,
        notify=lambda notice, _channels: notices.append((notice.rule_en, notice.event.value)),
    )
    site.store.add_listener(monitor.on_batch)
    site.monitor = monitor
    site.flood(2000)
    site.drain()
    rule = default_rules()[RULE][1]
    raised = [n for n in notices if n == (rule.label_en, "raised")]
    cleared = [n for n in notices if n == (rule.label_en, "cleared")]
    assert (len(raised), len(cleared)) == (1, 0)
    [held] = [a for a in site.alarms(site.flooder) if a.status != "cleared"]
    assert held.flapping and held.flips == 2000


# -- one clock per pair: the device's points, the server's clock only for silence (0019) --------

WINDOW_MS = int(default_rules()[RULE][1].flap_window_s * 1000)
HOUR_MS = 3_600_000


def flap(site: Site, newest_ms: int, n: int = 100) -> int:
    """``n`` points 1 ms apart ending at ``newest_ms`` on the device's clock, each on the other
    side of the limit, starting hot (so the last one is cool); answers the held alarm's id."""
    ts = newest_ms - n + 1 + np.arange(n)
    site.send(site.flooder, ts, np.where(np.arange(n) % 2 == 0, 40.0, 20.0))
    site.drain()
    [held] = [a for a in site.alarms(site.flooder) if a.status != "cleared"]
    assert held.flapping
    return held.id


def cool(site: Site, ts_ms: int) -> None:
    """One ordinary point from the device, below the limit, stamped ``ts_ms`` by its clock."""
    site.send(site.flooder, np.asarray([ts_ms]), np.asarray([20.0]))
    site.drain()


def test_a_device_whose_clock_runs_ahead_settles_by_its_own_points(site: Site) -> None:
    ahead = START + HOUR_MS  # the device's clock, an hour ahead of the server's
    held = flap(site, ahead)
    # Both clocks go on at the same pace; the device keeps reporting, cool.
    site.clock.now += WINDOW_MS // 2
    cool(site, ahead + WINDOW_MS // 2)
    assert site.registry.get_alarm(held).flapping  # within the window: still flapping
    site.clock.now += WINDOW_MS // 2 + 1_000
    cool(site, ahead + WINDOW_MS + 1_000)
    settled = site.registry.get_alarm(held)
    assert (settled.status, settled.flapping) == ("cleared", False)


def test_late_history_is_not_settled_at_once_but_by_the_points_after_it(site: Site) -> None:
    # A gateway uploads a flapping stretch that ended ten minutes ago (within the monitor's
    # 15 minutes of lag): it was flapping then, and nothing since says it stopped.
    newest = START - WINDOW_MS
    held = flap(site, newest)
    assert site.registry.get_alarm(held).flapping
    # Its next points are a window later than the flapping: by its own clock it has settled.
    cool(site, newest + WINDOW_MS)
    settled = site.registry.get_alarm(held)
    assert (settled.status, settled.flapping) == ("cleared", False)


def test_a_device_that_falls_silent_settles_after_a_window_of_the_server_s_clock(
    site: Site,
) -> None:
    held = flap(site, START + HOUR_MS)  # its clock ahead: its points can never settle it
    site.clock.now += WINDOW_MS - 1
    site.monitor.book.settle_flapping()
    assert site.registry.get_alarm(held).flapping
    site.clock.now += 1  # silent for a whole window, by the server's clock
    site.monitor.book.settle_flapping()
    settled = site.registry.get_alarm(held)
    assert (settled.status, settled.flapping) == ("cleared", False)
