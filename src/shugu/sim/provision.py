"""Create through shugu's API whatever of a district is missing, and learn the devices' tokens.

Everything goes through the public API as an operator would do it: region, park, enterprises,
their ISA-95 assets (site → area → line), devices, one gateway device per enterprise that
talks over MQTT's gateway API, and each enterprise's shift calendar (``provision_calendar.py``).
Device tokens are shown once at creation; the simulator keeps them in a state file, and rotates
the token of a device it finds without one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shugu.sim.client import ShuguClient
from shugu.sim.district import (
    DistrictSpec,
    EnterpriseSpec,
    PlantSpec,
    device_names,
    expand_enterprises,
    scaled,
)
from shugu.sim.provision_calendar import put_calendar

PROFILE_OF_KIND = {
    "loom_shed": "loom",
    "cooling_tower_site": "cooling_tower",
    "data_hall": "rack_sensor",
}


@dataclass
class PlantLayout:
    spec: PlantSpec
    devices: list[str]
    crahs: list[str] = field(default_factory=list)


@dataclass
class SimEnterprise:
    id: int
    spec: EnterpriseSpec
    plants: list[PlantLayout]
    #: device name → id
    device_ids: dict[str, int] = field(default_factory=dict)
    #: device name → access token (devices that post themselves, and the gateway)
    tokens: dict[str, str] = field(default_factory=dict)
    gateway: str | None = None


def layout(spec: EnterpriseSpec, scale: float) -> list[PlantLayout]:
    plants = []
    for plant in spec.plants:
        devices = device_names(plant.devices, scaled(plant.count, scale))
        # Air handlers scale with the racks they cool, or a grown hall could not be cooled.
        crahs = device_names(plant.crahs, scaled(plant.crah_count, scale)) if plant.crahs else []
        plants.append(PlantLayout(plant, devices, crahs))
    return plants


def _find(items: list[dict[str, Any]], **match: object) -> dict[str, Any] | None:
    return next((i for i in items if all(i.get(k) == v for k, v in match.items())), None)


class Provisioner:
    def __init__(self, client: ShuguClient, state_file: Path) -> None:
        self.client = client
        self.state_file = state_file
        self.tokens: dict[str, str] = (
            json.loads(state_file.read_text()) if state_file.exists() else {}
        )

    def _save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(self.tokens, ensure_ascii=False))

    def provision(self, district: DistrictSpec, scale: float) -> list[SimEnterprise]:
        c = self.client
        regions = c.get("/api/regions")
        region = _find(regions, code=district.region.code) or c.post(
            "/api/regions", {"code": district.region.code, "name": district.region.name}
        )
        out: list[SimEnterprise] = []
        serial = 0
        for park_spec in district.parks:
            parks = c.get("/api/parks")
            park = _find(parks, name=park_spec.name, region_id=region["id"]) or c.post(
                "/api/parks",
                {
                    "region_id": region["id"],
                    "name": park_spec.name,
                    "division_code": park_spec.division_code,
                },
            )
            copies = expand_enterprises(park_spec, district.region.code, serial)
            serial += len(copies)
            existing = c.get(f"/api/enterprises?park_id={park['id']}")
            for spec in copies:
                ent = _find(existing, uscc=spec.uscc) or c.post(
                    "/api/enterprises",
                    {
                        "park_id": park["id"],
                        "name": spec.name,
                        "uscc": spec.uscc,
                        "nbs_category": spec.nbs_category,
                    },
                )
                out.append(self._enterprise(int(ent["id"]), spec, scale))
        self._save()
        return out

    def _enterprise(self, ent_id: int, spec: EnterpriseSpec, scale: float) -> SimEnterprise:
        c = self.client
        sim = SimEnterprise(ent_id, spec, layout(spec, scale))
        assets = c.get(f"/api/enterprises/{ent_id}/assets")
        devices = {d["name"]: d for d in c.get(f"/api/enterprises/{ent_id}/devices")}

        def asset(level: str, name: str, parent: int | None) -> int:
            found = _find(assets, level=level, name=name, parent_id=parent)
            if found is None:
                found = c.post(
                    f"/api/enterprises/{ent_id}/assets",
                    {"level": level, "name": name, "parent_id": parent},
                )
                assets.append(found)
            return int(found["id"])

        def device(name: str, profile: str, asset_id: int | None, gateway: bool = False) -> None:
            key = f"{ent_id}/{name}"
            found = devices.get(name)
            if found is None:
                created = c.post(
                    f"/api/enterprises/{ent_id}/devices",
                    {"name": name, "profile": profile, "asset_id": asset_id, "is_gateway": gateway},
                )
                found = created["device"]
                self.tokens[key] = created["token"]
            sim.device_ids[name] = int(found["id"])
            if gateway or spec.transport != "mqtt_gateway":
                if key not in self.tokens:
                    self.tokens[key] = c.post(f"/api/devices/{found['id']}/token", {})["token"]
                sim.tokens[name] = self.tokens[key]

        for plant in sim.plants:
            site = asset("site", plant.spec.site, None)
            area = asset("area", plant.spec.area, site)
            line = asset("line", plant.spec.line, area)
            kind_profile = PROFILE_OF_KIND[plant.spec.kind]
            for name in plant.devices:
                device(name, kind_profile, line)
            for name in plant.crahs:
                device(name, "crah", line)
            for meter in (plant.spec.meter, plant.spec.it_meter):
                if meter:
                    device(meter, "power_meter", line)
        if spec.transport == "mqtt_gateway":
            sim.gateway = "sim-gateway"
            device(sim.gateway, "generic", None, gateway=True)
        calendar = spec.shift_calendar()
        if calendar is not None and spec.uscc:
            put_calendar(c, self.tokens, ent_id, spec.name, spec.uscc, calendar)
        if spec.inspection_plans:
            plans = c.get(f"/api/enterprises/{ent_id}/inspection-plans")
            have = {p["plan"]["name"] for p in plans}
            for plan in spec.inspection_plans:
                if plan.get("name") not in have:
                    c.post(f"/api/enterprises/{ent_id}/inspection-plans", plan)
        return sim
