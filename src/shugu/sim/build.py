"""Turn a provisioned district into running plants, each with its own random stream."""

from __future__ import annotations

import zlib

import numpy as np

from shugu.sim.cooling_tower import CoolingTowerSite, TowerParams
from shugu.sim.datahall import DataHall
from shugu.sim.district import DistrictSpec, plant_params
from shugu.sim.loom import LoomParams, LoomShed
from shugu.sim.model import Plant
from shugu.sim.power import MeteredPlant
from shugu.sim.provision import PlantLayout, SimEnterprise
from shugu.sim.runner import RunningPlant
from shugu.sim.weather import Weather


def _rng(seed: int, *names: str) -> np.random.Generator:
    """A stream per plant, stable across runs and independent of the order plants are built."""
    key = zlib.crc32("/".join(names).encode("utf-8"))
    return np.random.default_rng([seed, key])


def make_plant(seed: int, enterprise: SimEnterprise, layout: PlantLayout) -> Plant:
    rng = _rng(seed, enterprise.spec.name, layout.spec.line)
    kind = layout.spec.kind
    params = plant_params(kind, layout.spec.params)
    plant: Plant
    if kind == "loom_shed":
        plant = LoomShed(layout.devices, rng, params if isinstance(params, LoomParams) else None)
    elif kind == "cooling_tower_site":
        weather = Weather(_rng(seed, enterprise.spec.name, layout.spec.site, "weather"))
        tower = params if isinstance(params, TowerParams) else None
        plant = CoolingTowerSite(layout.devices, rng, weather, tower)
    else:
        plant = DataHall(layout.crahs, layout.devices, rng)
    if layout.spec.meter:
        plant = MeteredPlant(
            plant, layout.spec.meter, _rng(seed, enterprise.spec.name, layout.spec.meter)
        )
    return plant


def build_plants(district: DistrictSpec, enterprises: list[SimEnterprise]) -> list[RunningPlant]:
    return [
        RunningPlant(ent, layout, make_plant(district.seed, ent, layout))
        for ent in enterprises
        for layout in ent.plants
    ]
