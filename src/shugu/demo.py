"""`shugu demo`: a small district on the embedded default, with live data, in one command.

Seeds (once per data directory) a region, a park, three enterprises with their assets and
devices, and one login per role; then serves the API and feeds every device through the real
HTTP device API with values wandering inside typical operating bands (``demo_bands.yaml``), so
that latest values and roll-ups have something to show. The feed is not a physical model: the
simulator of looms, cooling towers and data halls (with stops, faults and weather) replaces it.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
import yaml

from shugu.config import Settings
from shugu.domain.profiles import Profile, get_profile
from shugu.domain.tenancy import Role
from shugu.store.registry import Registry

log = logging.getLogger(__name__)

#: Demo-only passwords, printed at start; a real platform creates its accounts with `shugu admin`.
ACCOUNTS = [
    ("operator", "demo-operator", Role.OPERATOR, None),
    ("bureau", "demo-bureau", Role.BUREAU, None),
    ("mill-admin", "demo-mill-admin", Role.ENTERPRISE_ADMIN, "mill"),
    ("mill-viewer", "demo-mill-viewer", Role.ENTERPRISE_VIEWER, "mill"),
    ("dc-admin", "demo-dc-admin", Role.ENTERPRISE_ADMIN, "dc"),
]

ENTERPRISES = {
    # key: (name, USCC, NBS category, devices as (profile, name pattern, count))
    "mill": (
        "长乐示范纺织有限公司",
        "91110000600037341L",
        "0502",
        [("loom", "织机 A-{:02d}", 12), ("power_meter", "电表 {:02d}", 2)],
    ),
    "dc": (
        "滨海云数据中心有限公司",
        "91110108551385082Q",
        "0303",
        [("crah", "精密空调 {:02d}", 4), ("rack_sensor", "机柜 R{:02d}", 16)],
    ),
    "towers": (
        "冷塔运维服务有限公司",
        "91350100M0001TGQXM",
        "0504",
        [("cooling_tower", "冷却塔 {:02d}", 4)],
    ),
}


@dataclass
class FedDevice:
    token: str
    profile: Profile
    state: dict[str, float]


def seed(registry: Registry) -> list[tuple[str, str]]:
    """Create the demo district if the registry is empty; returns (device token, profile)."""
    if registry.list_regions():
        return []
    region = registry.create_region(code="350112", name="长乐区")
    park = registry.create_park(region_id=region.id, name="滨海工业集中区", division_code="350112")
    ids: dict[str, int] = {}
    devices: list[tuple[str, str]] = []
    for key, (name, uscc, category, kinds) in ENTERPRISES.items():
        ent = registry.create_enterprise(
            park_id=park.id, name=name, uscc=uscc, nbs_category=category
        )
        ids[key] = ent.id
        site = registry.create_asset(ent.id, "site", "一厂区")
        area = registry.create_asset(ent.id, "area", "生产区", parent_id=site.id)
        for profile, pattern, count in kinds:
            line = registry.create_asset(
                ent.id, "line", get_profile(profile).label_zh, parent_id=area.id
            )
            for i in range(1, count + 1):
                _, token = registry.create_device(
                    ent.id, pattern.format(i), profile, asset_id=line.id
                )
                devices.append((token, profile))
    for username, password, role, ent_key in ACCOUNTS:
        registry.create_user(
            username=username,
            password=password,
            role=role,
            enterprise_id=ids[ent_key] if ent_key else None,
        )
    mill_admin = registry.user_by_username("mill-admin")
    assert mill_admin is not None
    registry.grant_consent(ids["mill"], mill_admin.id, "demo: 允许工信局查看设备数据")
    return devices


@functools.cache
def demo_bands() -> dict[str, dict[str, dict[str, float]]]:
    """Typical operating values per profile and metric (``demo_bands.yaml``)."""
    text = resources.files("shugu").joinpath("demo_bands.yaml").read_text(encoding="utf-8")
    bands: dict[str, dict[str, dict[str, float]]] = yaml.safe_load(text)
    return bands


def _next_values(dev: FedDevice, rng: random.Random, period_s: float) -> dict[str, float | bool]:
    values: dict[str, float | bool] = {}
    bands = demo_bands().get(dev.profile.name, {})
    for name, spec in dev.profile.metrics.items():
        band = bands.get(name)
        if band is None:
            continue
        if "state" in band:
            state = band["state"]
            values[name] = bool(state) if spec.bool_as_number else state
        elif "rate" in band:
            growth = band["rate"] * period_s / 3600 * rng.uniform(0.9, 1.1)
            dev.state[name] = dev.state.get(name, 0.0) + growth
            values[name] = round(dev.state[name], 3)
        else:
            low, high = band["low"], band["high"]
            current = dev.state.get(name, rng.uniform(low, high))
            current = min(max(current + rng.gauss(0.0, (high - low) * 0.05), low), high)
            dev.state[name] = current
            values[name] = round(current, 2)
    return values


def _wait_until_serving(base_url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            urllib.request.urlopen(f"{base_url}/api/health", timeout=2).read()
            return
        except (urllib.error.URLError, OSError):
            stop.wait(0.2)


def feed(
    base_url: str, devices: list[tuple[str, str]], period_s: float, stop: threading.Event
) -> None:
    """Post one message per device every ``period_s`` through the ThingsBoard HTTP device API."""
    rng = random.Random(7)
    fed = [FedDevice(token, get_profile(profile), {}) for token, profile in devices]
    failing = False
    _wait_until_serving(base_url, stop)
    while not stop.is_set():
        for dev in fed:
            body = json.dumps(
                {"ts": int(time.time() * 1000), "values": _next_values(dev, rng, period_s)}
            ).encode()
            request = urllib.request.Request(
                f"{base_url}/api/v1/{dev.token}/telemetry",
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                urllib.request.urlopen(request, timeout=10).read()
                if failing:
                    log.warning("demo feed reaches the server again")
                    failing = False
            except (urllib.error.URLError, OSError) as exc:
                if not failing:
                    log.warning("demo feed cannot post: %s", exc)
                    failing = True
        stop.wait(period_s)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        data: Annotated[Path, typer.Option("--data", help="data directory")] = Path("demo-data"),
        http_port: Annotated[int, typer.Option("--http-port")] = 8080,
        period: Annotated[float, typer.Option(help="seconds between messages of a device")] = 5.0,
    ) -> None:
        """Seed a demo district, serve it, and feed live data until Ctrl-C."""
        import uvicorn

        from shugu.api.app import create_app

        logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings = Settings(data_dir=data)
        data.mkdir(parents=True, exist_ok=True)
        tokens_file = data / "demo-device-tokens.json"
        registry = Registry(settings.resolved_registry_url())
        try:
            created = seed(registry)
        finally:
            registry.close()
        if created:
            tokens_file.write_text(json.dumps(created))
        devices = (
            [tuple(x) for x in json.loads(tokens_file.read_text())] if tokens_file.exists() else []
        )
        url = f"http://127.0.0.1:{http_port}"
        typer.echo(f"\nshugu demo: {url}  (API docs: {url}/docs)")
        typer.echo(
            f"{len(devices)} devices feeding every {period:g} s. Accounts (username / password):"
        )
        for username, password, role, ent in ACCOUNTS:
            where = f" · {ENTERPRISES[ent][0]}" if ent else ""
            typer.echo(f"  {username:12s} {password:18s} {role}{where}")
        typer.echo("Ctrl-C stops.\n")
        stop = threading.Event()
        feeder = threading.Thread(
            target=feed,
            args=(url, devices, period, stop),
            name="demo-feed",
            daemon=True,
        )
        feeder.start()
        try:
            uvicorn.run(
                create_app(settings),
                host="127.0.0.1",
                port=http_port,
                log_level="warning",
                loop="uvloop",
                http="httptools",
            )
        finally:
            stop.set()
            feeder.join(timeout=15)
