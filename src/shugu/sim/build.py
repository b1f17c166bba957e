"""Turn a provisioned district into running plants, each with its own random stream."""

from __future__ import annotations

import zlib

import numpy as np

from shugu.sim.calendar import WorkSchedule
from shugu.sim.cooling_tower import CoolingTowerSite, TowerParams
from shugu.sim.datahall import DataHall
from shugu.sim.district import DistrictSpec, plant_params
from shugu.sim.loom import LoomShed
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
    name, spec = enterprise.spec.name, layout.spec
    rng = _rng(seed, name, spec.line)
    plant: Plant
    if spec.kind == "loom_shed":
        calendar = enterprise.spec.shift_calendar()
        plant = LoomShed(
            layout.devices,
            rng,
            spec.loom_params(),
            nameplate=spec.looms[0].nameplate(),
            schedule=WorkSchedule(calendar) if calendar is not None else None,
        )
    elif spec.kind == "cooling_tower_site":
        weather = Weather(_rng(seed, name, spec.site, "weather"))
        params = plant_params(spec.kind, spec.params)
        tower = params if isinstance(params, TowerParams) else None
        plant = CoolingTowerSite(layout.devices, rng, weather, tower)
    else:
        hall = DataHall(
            layout.crahs,
            layout.devices,
            rng,
            weather=Weather(_rng(seed, name, spec.site, "weather")),
        )
        plant = hall
        if spec.it_meter:
            plant = MeteredPlant(
                plant,
                spec.it_meter,
                _rng(seed, name, spec.it_meter),
                power=lambda _readings: hall.it_power_kw(),
                role="it",
            )
        if spec.meter:
            return MeteredPlant(
                plant,
                spec.meter,
                _rng(seed, name, spec.meter),
                power=lambda _readings: hall.total_power_kw(),
                role="facility",
            )
        return plant
    if spec.meter:
        plant = MeteredPlant(plant, spec.meter, _rng(seed, name, spec.meter))
    return plant


def build_plants(district: DistrictSpec, enterprises: list[SimEnterprise]) -> list[RunningPlant]:
    return [
        RunningPlant(ent, layout, make_plant(district.seed, ent, layout))
        for ent in enterprises
        for layout in ent.plants
    ]
