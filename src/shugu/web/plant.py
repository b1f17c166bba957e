"""What the asset tree and the device list show of an enterprise's plant, read at once: its
assets, its devices, and, for a user who may read its machine values, each device's latest
values, state (online, stale, offline) and open alarms.

A fixed number of reads whatever the size of the plant: the assets, the devices, the open
alarms, and the latest values of every device from the store's in-memory cache in one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from shugu.api.services import Services
from shugu.domain.profiles import Profile, load_profiles
from shugu.domain.timeutil import utc_now_ms
from shugu.monitor.alarm_tree import NONE_OPEN, OpenAlarms, asset_paths, open_alarms_by_device
from shugu.monitor.liveness import LatestValues, Liveness, states
from shugu.store.registry.records import AssetLevel, AssetRecord, DeviceRecord, EnterpriseRecord
from shugu.web.i18n import N_

#: The ISA-95 levels as the console names them.
LEVEL_LABELS: Final[Mapping[AssetLevel, str]] = {
    AssetLevel.SITE: N_("level.site"),
    AssetLevel.AREA: N_("level.area"),
    AssetLevel.LINE: N_("level.line"),
    AssetLevel.UNIT: N_("level.unit"),
}
STATE_LABELS: Final[Mapping[Liveness, str]] = {
    Liveness.ONLINE: N_("Online"),
    Liveness.STALE: N_("Stale"),
    Liveness.OFFLINE: N_("Offline"),
}


@dataclass(frozen=True, slots=True)
class Plant:
    enterprise: EnterpriseRecord
    #: Depth-first: each asset right after its parent.
    assets: list[AssetRecord]
    devices: list[DeviceRecord]
    #: Asset → the ids from itself up to its site.
    paths: dict[int, tuple[int, ...]]
    #: Whether the reader may see machine values; without, the fields below stay empty.
    with_values: bool
    latest: LatestValues | None = None
    last_seen: dict[int, int] = field(default_factory=dict)
    states: dict[int, Liveness] = field(default_factory=dict)
    alarms: dict[int, OpenAlarms] = field(default_factory=dict)
    now_ms: int = 0

    @property
    def asset_by_id(self) -> dict[int, AssetRecord]:
        return {a.id: a for a in self.assets}

    def alarms_of(self, device_id: int) -> OpenAlarms:
        return self.alarms.get(device_id, NONE_OPEN)

    def place_of(self, device: DeviceRecord, names: Mapping[int, str]) -> str:
        """Where a device stands, site first: ``一厂区 / 生产区 / 织造一车间``."""
        if device.asset_id is None:
            return ""
        path = self.paths.get(device.asset_id, ())
        return " / ".join(names[a] for a in reversed(path) if a in names)


def read_plant(services: Services, enterprise_id: int, *, with_values: bool) -> Plant:
    """The plant of an enterprise the caller may see (the page checked); its machine values
    only ``with_values``."""
    registry = services.registry
    enterprise = registry.get_enterprise(enterprise_id)
    assets = registry.list_assets(enterprise_id)
    devices = registry.list_devices(enterprise_id)
    plant = Plant(enterprise, assets, devices, asset_paths(assets), with_values)
    if not with_values:
        return plant
    latest = LatestValues.read(services.store, [d.id for d in devices])
    last_seen = latest.last_seen()
    now = utc_now_ms()
    return Plant(
        enterprise,
        assets,
        devices,
        plant.paths,
        True,
        latest=latest,
        last_seen=last_seen,
        # A gateway that has sent nothing of its own may still be sending for the devices
        # behind it: its state is unknown, not offline.
        states=states(
            {d.id: d.profile for d in devices if d.id in last_seen or not d.is_gateway},
            last_seen,
            now,
        ),
        alarms=open_alarms_by_device(registry, enterprise_id),
        now_ms=now,
    )


def profiles() -> dict[str, Profile]:
    return load_profiles()


def profile_label(name: str, lang: str, known: Mapping[str, Profile] | None = None) -> str:
    profile = (known if known is not None else load_profiles()).get(name)
    if profile is None:
        return name
    return profile.label_zh if lang == "zh-CN" else profile.label_en
