"""The asset tree page's nodes: each asset with the devices on it and below it, how many of
them are online, and their open alarms rolled up (the same roll-up as the API's alarm tree)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shugu.monitor.alarm_tree import NONE_OPEN, OpenAlarms, roll_up
from shugu.monitor.liveness import Liveness
from shugu.store.registry.records import AssetRecord
from shugu.web.plant import Plant

#: The key of the node holding devices placed on no asset (a gateway, say).
UNPLACED = "unplaced"


@dataclass(slots=True)
class TreeNode:
    #: None: the devices placed on no asset.
    asset: AssetRecord | None
    devices: int = 0
    #: Devices whose state is known (a gateway that sent nothing of its own is not).
    known: int = 0
    online: int = 0
    alarms: OpenAlarms = NONE_OPEN
    children: list[TreeNode] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.asset.id) if self.asset is not None else UNPLACED


@dataclass(frozen=True, slots=True)
class Totals:
    devices: int
    online: int
    stale: int
    offline: int
    alarms: OpenAlarms


def tree_of(plant: Plant) -> list[TreeNode]:
    """The sites with everything under them, then (if any) the devices placed on no asset."""
    nodes = {a.id: TreeNode(a) for a in plant.assets}
    roots: list[TreeNode] = []
    for asset in plant.assets:
        node = nodes[asset.id]
        parent = nodes.get(asset.parent_id) if asset.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    unplaced = TreeNode(None)
    for device in plant.devices:
        state = plant.states.get(device.id)
        path = plant.paths.get(device.asset_id, ()) if device.asset_id is not None else ()
        for node in [nodes[a] for a in path] if path else [unplaced]:
            node.devices += 1
            node.known += state is not None
            node.online += state is Liveness.ONLINE
    if plant.with_values:
        assets_of = {d.id: d.asset_id for d in plant.devices}
        for asset_id, alarms in roll_up(plant.assets, assets_of, plant.alarms).items():
            nodes[asset_id].alarms = alarms
        for device in plant.devices:
            if device.asset_id is None:
                unplaced.alarms = unplaced.alarms.plus(plant.alarms_of(device.id))
    if unplaced.devices:
        roots.append(unplaced)
    return roots


def flat(nodes: list[TreeNode]) -> list[TreeNode]:
    out: list[TreeNode] = []
    for node in nodes:
        out.append(node)
        out.extend(flat(node.children))
    return out


def totals(plant: Plant) -> Totals:
    counted = {state: 0 for state in Liveness}
    for state in plant.states.values():
        counted[state] += 1
    alarms = NONE_OPEN
    for device in plant.devices:
        alarms = alarms.plus(plant.alarms_of(device.id))
    return Totals(
        devices=len(plant.devices),
        online=counted[Liveness.ONLINE],
        stale=counted[Liveness.STALE],
        offline=counted[Liveness.OFFLINE],
        alarms=alarms,
    )
