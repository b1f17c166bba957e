"""An app with the registry and auth routes over a real SQLite registry, and a small world:
two enterprises in one park, an account of every role, a site and a device per enterprise, and
a second park with no enterprise, whose official sees none of the world's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shugu.api.app import create_app
from shugu.api.services import Services
from shugu.config import Settings
from shugu.domain.tenancy import Role
from shugu.monitor.notify.targets import Resolver
from shugu.runtime import open_services
from shugu.store.registry import Registry

PASSWORD = "correct horse battery"


def build_app(
    registry: Registry, data_dir: Path, *, resolver: Resolver | None = None, **settings: Any
) -> tuple[FastAPI, Services]:
    """The real application over the given registry, with its telemetry store in ``data_dir``;
    ``settings`` beyond the defaults, ``resolver`` to answer notification host names."""
    options: dict[str, Any] = {"retention_days": 3650, **settings}
    config = Settings(data_dir=data_dir, **options)
    services = open_services(config, registry, resolver=resolver)
    return create_app(config, services), services


@dataclass
class World:
    client: TestClient
    registry: Registry
    region_id: int
    park_id: int
    #: A second park of the region, with no enterprise of the world in it.
    other_park_id: int
    ent_a: int
    ent_b: int
    site_a: int
    site_b: int
    device_a: int
    device_b: int
    device_token_a: str
    device_token_b: str
    tokens: dict[str, str]
    user_ids: dict[str, int]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def registry(tmp_path: Path, password_hasher: PasswordHasher) -> Iterator[Registry]:
    opened = Registry(f"sqlite:///{tmp_path / 'registry.sqlite'}", password_hasher=password_hasher)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def world_settings() -> dict[str, Any]:
    """Settings of the world's app beyond the defaults; a test module overrides this fixture
    (to allow its loopback webhook receiver as a notification target, say)."""
    return {}


@pytest.fixture
def world_resolver() -> Resolver | None:
    """Answers notification host names for the world's app; None: the system's resolver."""
    return None


@pytest.fixture
def world(
    registry: Registry,
    tmp_path: Path,
    world_settings: dict[str, Any],
    world_resolver: Resolver | None,
) -> Iterator[World]:
    region = registry.create_region("350100", "福州市")
    park = registry.create_park(region.id, "长乐纺织园", "350112")
    other_park = registry.create_park(region.id, "滨海数据园", "350112")
    ent_a = registry.create_enterprise(park.id, "甲纺织", "91110000600037341L", "0502")
    ent_b = registry.create_enterprise(park.id, "乙数据中心", "91110108551385082Q", "0405")
    site_a = registry.create_asset(ent_a.id, "site", "甲厂区")
    site_b = registry.create_asset(ent_b.id, "site", "乙机房")
    device_a, token_a = registry.create_device(ent_a.id, "loom-001", "loom", asset_id=site_a.id)
    device_b, token_b = registry.create_device(ent_b.id, "crah-01", "crah", asset_id=site_b.id)
    # username → (role, enterprise, park served)
    accounts: dict[str, tuple[Role, int | None, int | None]] = {
        "operator": (Role.OPERATOR, None, None),
        "bureau": (Role.BUREAU, None, None),
        "admin_a": (Role.ENTERPRISE_ADMIN, ent_a.id, None),
        "viewer_a": (Role.ENTERPRISE_VIEWER, ent_a.id, None),
        "admin_b": (Role.ENTERPRISE_ADMIN, ent_b.id, None),
        "park_official": (Role.PARK_OFFICIAL, None, park.id),
        "park_other": (Role.PARK_OFFICIAL, None, other_park.id),
    }
    tokens: dict[str, str] = {}
    user_ids: dict[str, int] = {}
    for username, (role, enterprise_id, park_id) in accounts.items():
        user = registry.create_user(username, PASSWORD, role, enterprise_id, park_id=park_id)
        user_ids[username] = user.id
        tokens[username] = registry.create_api_token(user.id, "tests")
    app, services = build_app(
        registry, tmp_path / "data", resolver=world_resolver, **world_settings
    )
    with TestClient(app) as client:
        yield World(
            client=client,
            registry=registry,
            region_id=region.id,
            park_id=park.id,
            other_park_id=other_park.id,
            ent_a=ent_a.id,
            ent_b=ent_b.id,
            site_a=site_a.id,
            site_b=site_b.id,
            device_a=device_a.id,
            device_b=device_b.id,
            device_token_a=token_a,
            device_token_b=token_b,
            tokens=tokens,
            user_ids=user_ids,
        )
    services.close()
