"""Devices and their access tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import select

from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ConflictError, NotFoundError, ValidationError
from shugu.store.registry import Registry
from shugu.store.registry.models import Device


@pytest.fixture
def enterprises(registry: Registry) -> tuple[int, int]:
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    a = registry.create_enterprise(park.id, "A", "91110000600037341L")
    b = registry.create_enterprise(park.id, "B", "91110108551385082Q")
    return a.id, b.id


def test_create_device_returns_the_token_once(
    registry: Registry, enterprises: tuple[int, int]
) -> None:
    ent, _ = enterprises
    site = registry.create_asset(ent, "site", "厂区")
    device, token = registry.create_device(ent, "loom-001", "loom", asset_id=site.id)
    assert (device.enterprise_id, device.asset_id, device.profile) == (ent, site.id, "loom")
    assert not device.is_gateway
    assert len(token) == 32  # token_urlsafe(24)
    with registry._session() as session:
        stored = session.scalar(select(Device.token_hash).where(Device.id == device.id))
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    ref = DeviceRef(id=device.id, enterprise_id=ent, name="loom-001", profile="loom")
    assert registry.device_for_token(token) == ref
    assert registry.get_device_ref(device.id) == ref
    assert registry.device_ref_by_name(ent, "loom-001") == ref
    assert registry.device_refs_of_enterprise(ent) == [ref]
    assert registry.get_device(device.id) == device
    assert registry.device_by_name(ent, "loom-001") == device
    assert registry.list_devices(ent) == [device]


def test_unknown_lookups(registry: Registry, enterprises: tuple[int, int]) -> None:
    ent, _ = enterprises
    assert registry.device_for_token("nope") is None
    assert registry.get_device_ref(42) is None
    assert registry.device_ref_by_name(ent, "nope") is None
    assert registry.device_by_name(ent, "nope") is None
    assert registry.device_refs_of_enterprise(ent) == []
    with pytest.raises(NotFoundError):
        registry.get_device(42)
    with pytest.raises(NotFoundError):
        registry.rotate_device_token(42)


def test_gateway_flag(registry: Registry, enterprises: tuple[int, int]) -> None:
    ent, _ = enterprises
    gateway, _ = registry.create_device(ent, "gw-1", "generic", is_gateway=True)
    assert gateway.is_gateway


def test_names_are_unique_within_an_enterprise(
    registry: Registry, enterprises: tuple[int, int]
) -> None:
    ent, other = enterprises
    registry.create_device(ent, "ct-1", "cooling_tower")
    with pytest.raises(ConflictError) as caught:
        registry.create_device(ent, "ct-1", "generic")
    assert (caught.value.code, caught.value.details["field"]) == ("device_name_taken", "name")
    registry.create_device(other, "ct-1", "cooling_tower")


def test_profile_and_asset_are_checked(registry: Registry, enterprises: tuple[int, int]) -> None:
    ent, other = enterprises
    with pytest.raises(ValidationError) as caught:
        registry.create_device(ent, "x", "toaster")
    assert (caught.value.code, caught.value.details["field"]) == ("unknown_profile", "profile")
    foreign_site = registry.create_asset(other, "site", "B厂")
    with pytest.raises(NotFoundError) as not_found:
        registry.create_device(ent, "x", "loom", asset_id=foreign_site.id)
    assert not_found.value.details["field"] == "asset_id"
    with pytest.raises(NotFoundError):
        registry.create_device(999, "x", "loom")


def test_rotation_retires_the_old_token_at_once(
    registry: Registry, enterprises: tuple[int, int]
) -> None:
    ent, _ = enterprises
    device, old = registry.create_device(ent, "crah-1", "crah")
    assert registry.device_for_token(old) is not None  # now cached
    new = registry.rotate_device_token(device.id)
    assert new != old
    assert registry.device_for_token(old) is None
    found = registry.device_for_token(new)
    assert found is not None and found.id == device.id


def test_concurrent_creation_of_one_name_gives_one_device_and_conflicts(
    registry: Registry, enterprises: tuple[int, int]
) -> None:
    ent, _ = enterprises
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def create() -> None:
        start.wait()
        try:
            registry.create_device(ent, "same-name", "loom")
            outcome = "created"
        except ConflictError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["device_name_taken"] * 5
    assert [d.name for d in registry.list_devices(ent)] == ["same-name"]
