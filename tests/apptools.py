"""A small world for API tests: two enterprises, their devices, and one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from shugu.api.app import create_app
from shugu.config import Settings
from shugu.domain.tenancy import Role
from shugu.store.registry import Registry


@dataclass
class World:
    client: TestClient
    registry: Registry
    enterprise_a: int
    enterprise_b: int
    park: int
    region: int
    device_a: int
    device_b: int
    device_token_a: str
    device_token_b: str
    #: bearer tokens by role name: operator, bureau, admin_a, viewer_a, admin_b
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@contextmanager
def world(tmp_path: Path, registry_url: str | None = None) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path / "data", registry_url=registry_url, retention_days=3650)
    app = create_app(settings)
    registry: Registry = app.state.services.registry
    region = registry.create_region(code="350112", name="长乐区")
    park = registry.create_park(region_id=region.id, name="滨海工业区")
    ent_a = registry.create_enterprise(
        park_id=park.id, name="甲纺织有限公司", uscc="91110000600037341L"
    )
    ent_b = registry.create_enterprise(
        park_id=park.id, name="乙数据有限公司", uscc="91110108551385082Q"
    )
    dev_a, tok_a = registry.create_device(ent_a.id, "织机 A-01", "loom")
    dev_b, tok_b = registry.create_device(ent_b.id, "织机 B-01", "loom")
    users = {
        "operator": (Role.OPERATOR, None),
        "bureau": (Role.BUREAU, None),
        "admin_a": (Role.ENTERPRISE_ADMIN, ent_a.id),
        "viewer_a": (Role.ENTERPRISE_VIEWER, ent_a.id),
        "admin_b": (Role.ENTERPRISE_ADMIN, ent_b.id),
    }
    with TestClient(app) as client:
        w = World(
            client,
            registry,
            ent_a.id,
            ent_b.id,
            park.id,
            region.id,
            dev_a.id,
            dev_b.id,
            tok_a,
            tok_b,
        )
        for name, (role, ent) in users.items():
            user = registry.create_user(f"u_{name}", "password-of-" + name, role, ent)
            w.user_ids[name] = user.id
            w.tokens[name] = registry.create_api_token(user.id, "tests")
        yield w
