"""The cluster's members in the registry, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shugu.domain.errors import ValidationError
from shugu.store.registry import Registry

T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _ids(registry: Registry, role: str, at: datetime) -> list[str]:
    return [m.member_id for m in registry.live_members(role, at, timeout_s=7)]


def test_members_are_alive_while_they_beat_and_gone_after(registry: Registry) -> None:
    registry.heartbeat("monitor-b", "monitor", T0, address="10.0.0.2:7000")
    registry.heartbeat("monitor-a", "monitor", T0 + timedelta(seconds=1))
    registry.heartbeat("ingest-a", "ingest", T0)
    registry.heartbeat("node-1", "all", T0)
    assert _ids(registry, "monitor", T0 + timedelta(seconds=2)) == [
        "monitor-a",
        "monitor-b",
        "node-1",
    ]
    assert _ids(registry, "ingest", T0) == ["ingest-a", "node-1"]
    # monitor-b stops beating; after the bound only those who beat remain.
    registry.heartbeat("monitor-a", "monitor", T0 + timedelta(seconds=6))
    assert _ids(registry, "monitor", T0 + timedelta(seconds=8)) == ["monitor-a"]
    [member] = registry.live_members("monitor", T0 + timedelta(seconds=8), timeout_s=7)
    assert member.started_at == T0 + timedelta(seconds=1)


def test_a_late_beat_never_moves_the_heartbeat_back(registry: Registry) -> None:
    registry.heartbeat("monitor-a", "monitor", T0 + timedelta(seconds=5))
    registry.heartbeat("monitor-a", "monitor", T0)
    [member] = registry.live_members("monitor", T0 + timedelta(seconds=11), timeout_s=7)
    assert member.heartbeat_at == T0 + timedelta(seconds=5)


def test_leaving_and_forgetting(registry: Registry) -> None:
    registry.heartbeat("monitor-a", "monitor", T0)
    registry.heartbeat("monitor-b", "monitor", T0 + timedelta(minutes=10))
    registry.save_watermarks("monitor-b", {1: 42})
    registry.leave_cluster("monitor-b", T0 + timedelta(minutes=10))
    assert _ids(registry, "monitor", T0 + timedelta(minutes=10)) == []
    # Gone, but its row stays for whoever takes its enterprises over.
    [left] = [m for m in registry.members(["monitor"]) if m.member_id == "monitor-b"]
    assert left.progress == {1: 42}
    assert registry.forget_members_before(T0 + timedelta(minutes=1)) == 1
    assert [m.member_id for m in registry.members(["monitor"])] == ["monitor-b"]
    assert registry.forget_members_before(T0 + timedelta(minutes=11)) == 1
    assert registry.members(["monitor"]) == []


def test_an_unknown_role_is_refused(registry: Registry) -> None:
    with pytest.raises(ValidationError) as refused:
        registry.heartbeat("x", "leader", T0)
    assert refused.value.code == "unknown_role"
