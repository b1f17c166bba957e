"""An enterprise's open alarms rolled up its plant: per device, and per asset over everything
below it (its own devices and its sub-assets' ones), each with how many and the worst.

The API's alarm tree and the console's asset tree and device list read the same roll-up. Reads
are one query for the assets, one for the devices and one for the open alarms, whatever the size
of the plant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shugu.monitor.alarms import OPEN_STATUSES
from shugu.monitor.model import SEVERITY_RANK, Severity
from shugu.store.registry import Registry
from shugu.store.registry.records import AssetRecord


@dataclass(frozen=True, slots=True)
class OpenAlarms:
    """How many alarms are open and the worst of them (None: none open)."""

    count: int = 0
    worst: Severity | None = None

    def plus(self, other: OpenAlarms) -> OpenAlarms:
        known = [s for s in (self.worst, other.worst) if s is not None]
        worst = min(known, key=SEVERITY_RANK.__getitem__) if known else None
        return OpenAlarms(self.count + other.count, worst)


NONE_OPEN = OpenAlarms()


@dataclass(frozen=True, slots=True)
class AssetAlarms:
    asset: AssetRecord
    alarms: OpenAlarms


def open_alarms_by_device(registry: Registry, enterprise_id: int) -> dict[int, OpenAlarms]:
    """Each device of the enterprise with an open alarm → its open alarms."""
    records = registry.list_alarms([enterprise_id], statuses=OPEN_STATUSES, limit=1_000_000)
    by_device: dict[int, OpenAlarms] = {}
    for record in records:
        one = OpenAlarms(1, Severity(record.severity))
        by_device[record.device_id] = by_device.get(record.device_id, NONE_OPEN).plus(one)
    return by_device


def asset_paths(assets: Iterable[AssetRecord]) -> dict[int, tuple[int, ...]]:
    """Each asset → the ids from itself up to its site."""
    parent = {a.id: a.parent_id for a in assets}
    paths: dict[int, tuple[int, ...]] = {}

    def path(asset_id: int) -> tuple[int, ...]:
        known = paths.get(asset_id)
        if known is None:
            above = parent.get(asset_id)
            # Levels are at most four deep (site → area → line → unit): no deep recursion.
            known = (asset_id, *(path(above) if above in parent and above is not None else ()))
            paths[asset_id] = known
        return known

    for asset_id in parent:
        path(asset_id)
    return paths


def roll_up(
    assets: Sequence[AssetRecord],
    device_assets: Mapping[int, int | None],
    by_device: Mapping[int, OpenAlarms],
) -> dict[int, OpenAlarms]:
    """Each asset → the open alarms of the devices on it and below it."""
    paths = asset_paths(assets)
    under: dict[int, OpenAlarms] = {a.id: NONE_OPEN for a in assets}
    for device_id, alarms in by_device.items():
        asset_id = device_assets.get(device_id)
        for above in paths.get(asset_id, ()) if asset_id is not None else ():
            under[above] = under[above].plus(alarms)
    return under


def asset_alarms(registry: Registry, enterprise_id: int) -> list[AssetAlarms]:
    """Every asset of the enterprise, depth-first, with the open alarms at and below it."""
    assets = registry.list_assets(enterprise_id)
    device_assets = {d.id: d.asset_id for d in registry.list_devices(enterprise_id)}
    under = roll_up(assets, device_assets, open_alarms_by_device(registry, enterprise_id))
    return [AssetAlarms(a, under[a.id]) for a in assets]
