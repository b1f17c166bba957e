"""The KPI bench's district: districts/changle.yaml scaled to a device count, registered through
the registry's own API (region, parks, enterprises with their shift calendars, ISA-95 assets,
devices), with the attributes the KPIs read (a loom's rated speed, a meter's role) stored as the
devices would report them (only those: the store writes attributes a row at a time).

The bench replays a month that has passed, so its devices are dated as registered the day before
that month: planned time counts from a device's registration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import update

from bench.kpi_data import DataHall, Looms, ShedMeters, Telemetry, Towers
from shugu.analytics.calendar_service import save_calendar
from shugu.domain.batch import Batch
from shugu.sim.district import DistrictSpec, expand_enterprises, load_district, scaled
from shugu.sim.loom import LoomParams
from shugu.sim.provision import PROFILE_OF_KIND, layout
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry
from shugu.store.registry.models import Device
from shugu.store.telemetry import AttributeRecord

I64 = npt.NDArray[np.int64]
DISTRICT = Path(__file__).resolve().parents[1] / "districts" / "changle.yaml"


@dataclass(slots=True)
class District:
    registry: Registry
    telemetry: Telemetry
    devices: int
    enterprises: int
    #: enterprise id of each mill, in the looms' mill order
    mill_enterprise: list[int]
    loom_rated_rpm: dict[int, float]
    #: device counts by profile
    profiles: dict[str, int]


def scale_for(devices: int, spec: DistrictSpec) -> float:
    """The scale at which the district has about ``devices`` devices (meters do not scale)."""
    per_scale, fixed = 0.0, 0
    for park in spec.parks:
        for ent in park.enterprises:
            for plant in ent.plants:
                per_scale += ent.repeat * (plant.count + plant.crah_count)
                fixed += ent.repeat * ((plant.meter is not None) + (plant.it_meter is not None))
    return max((devices - fixed) / per_scale, 0.001)


def device_count(spec: DistrictSpec, scale: float) -> int:
    total = 0
    for park in spec.parks:
        for ent in park.enterprises:
            for plant in ent.plants:
                crahs = scaled(plant.crah_count, scale) if plant.crahs else 0
                meters = (plant.meter is not None) + (plant.it_meter is not None)
                total += ent.repeat * (scaled(plant.count, scale) + crahs + meters)
    return total


def with_mills(spec: DistrictSpec, mills: int | None) -> DistrictSpec:
    """The district with at most ``mills`` weaving firms (None: its forty), for small runs."""
    if mills is None:
        return spec
    parks = []
    for park in spec.parks:
        enterprises = [
            e.model_copy(update={"repeat": min(e.repeat, mills)}) if e.repeat > 1 else e
            for e in park.enterprises
        ]
        parks.append(park.model_copy(update={"enterprises": enterprises}))
    return spec.model_copy(update={"parks": parks})


def build_district(
    folder: Path,
    store: DuckDBTelemetryStore,
    devices: int,
    registered_ms: int,
    mills: int | None = None,
    seed: int = 7,
) -> District:
    spec = with_mills(load_district(DISTRICT), mills)
    scale = scale_for(devices, spec)
    registry = Registry("sqlite://")  # in memory: the registry is not what is measured
    region = registry.create_region(spec.region.code, spec.region.name)
    looms: list[tuple[int, int, float]] = []  # (device, mill, rated rpm)
    loom_params: list[LoomParams] = []  # per mill
    shed_meters: list[int] = []
    racks: list[int] = []
    crahs: list[int] = []
    hall_meters: dict[str, int] = {}
    towers: list[int] = []
    rest: list[list[bool]] = []
    mill_enterprise: list[int] = []
    attributes: list[AttributeRecord] = []
    profiles: dict[str, int] = {}
    enterprises = 0
    serial = 0

    def attribute(device: int, key: str, value: object) -> None:
        attributes.append(AttributeRecord(device, "client", key, json.dumps(value), registered_ms))

    for park_spec in spec.parks:
        park = registry.create_park(region.id, park_spec.name, park_spec.division_code)
        copies = expand_enterprises(park_spec, spec.region.code, serial)
        serial += len(copies)
        for ent_spec in copies:
            assert ent_spec.uscc is not None
            ent = registry.create_enterprise(
                park.id, ent_spec.name, ent_spec.uscc, ent_spec.nbs_category
            )
            enterprises += 1
            calendar = ent_spec.shift_calendar()
            if calendar is not None:
                save_calendar(registry, ent.id, calendar.body(), "bench")
            for plant in layout(ent_spec, scale):
                site = registry.create_asset(ent.id, "site", plant.spec.site)
                area = registry.create_asset(ent.id, "area", plant.spec.area, site.id)
                line = registry.create_asset(ent.id, "line", plant.spec.line, area.id)

                def device(
                    name: str, profile: str, line_id: int = line.id, ent_id: int = ent.id
                ) -> int:
                    record, _ = registry.create_device(ent_id, name, profile, asset_id=line_id)
                    profiles[profile] = profiles.get(profile, 0) + 1
                    return record.id

                profile = PROFILE_OF_KIND[plant.spec.kind]
                ids = [device(name, profile) for name in plant.devices]
                if plant.spec.kind == "loom_shed":
                    nameplate = plant.spec.looms[0]
                    mill = len(mill_enterprise)
                    mill_enterprise.append(ent.id)
                    loom_params.append(plant.spec.loom_params())
                    rest_days = set(calendar.rest_days) if calendar is not None else set()
                    rest.append([day in rest_days for day in range(1, 8)])
                    for d in ids:
                        looms.append((d, mill, nameplate.rated_speed_rpm))
                        attribute(d, "rated_speed_rpm", nameplate.rated_speed_rpm)
                    assert plant.spec.meter is not None
                    meter = device(plant.spec.meter, "power_meter")
                    shed_meters.append(meter)
                    attribute(meter, "meter_role", "line")
                elif plant.spec.kind == "data_hall":
                    racks += ids
                    crahs += [device(name, "crah") for name in plant.crahs]
                    for role, name in (("facility", plant.spec.meter), ("it", plant.spec.it_meter)):
                        assert name is not None
                        hall_meters[role] = device(name, "power_meter")
                        attribute(hall_meters[role], "meter_role", role)
                else:
                    towers += ids
    # The month replayed has passed: the devices were there before it began.
    registered = datetime.fromtimestamp(registered_ms / 1000, UTC)
    with registry._session() as session:  # a bench's set-up: no API backdates a registration
        session.execute(update(Device).values(created_at=registered))
    store.submit(Batch.empty(), attributes=attributes).result(timeout=600)

    loom_ids = np.array([x[0] for x in looms], np.int64)
    mill_of_loom = np.array([x[1] for x in looms], np.int64)
    first_loom = np.flatnonzero(np.r_[True, mill_of_loom[1:] != mill_of_loom[:-1]]).astype(np.int64)
    telemetry = Telemetry(
        Looms.make(
            loom_ids, mill_of_loom, loom_params, np.array(rest, np.bool_).reshape(-1, 7), seed
        ),
        ShedMeters.make(np.array(shed_meters, np.int64), first_loom, seed + 1),
        DataHall.make(
            np.array(racks, np.int64),
            np.array(crahs, np.int64),
            hall_meters["facility"],
            hall_meters["it"],
            seed + 2,
        ),
        Towers.make(np.array(towers, np.int64), seed + 3),
        seed,
    )
    return District(
        registry,
        telemetry,
        sum(profiles.values()),
        enterprises,
        mill_enterprise,
        {int(d): float(r) for d, _, r in looms},
        profiles,
    )
