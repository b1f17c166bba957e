"""`shugu admin …`: create registry objects directly, for operators and scripts.

Each command opens the registry of ``--data`` (or ``--registry-url``), does one thing, and prints
what it created. Errors print their code and message and exit with status 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from shugu.config import Settings
from shugu.domain.errors import ShuguError
from shugu.domain.tenancy import Role
from shugu.store.registry import Registry

DataOpt = Annotated[Path, typer.Option("--data", help="data directory")]
RegistryOpt = Annotated[
    str | None, typer.Option("--registry-url", help="SQLAlchemy URL (default: SQLite in --data)")
]


@contextmanager
def open_registry(data: Path, registry_url: str | None) -> Iterator[Registry]:
    settings = Settings(data_dir=data, registry_url=registry_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry(settings.resolved_registry_url())
    try:
        yield registry
    except ShuguError as exc:
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        registry.close()


def register(app: typer.Typer, admin: typer.Typer) -> None:
    from shugu import demo

    demo.register(app)

    @admin.command("create-region")
    def create_region(
        code: Annotated[str, typer.Option(help="GB/T 2260 division code, e.g. 350112")],
        name: Annotated[str, typer.Option(help="name, e.g. 长乐区")],
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Create the region (区/市) this platform serves."""
        with open_registry(data, registry_url) as registry:
            region = registry.create_region(code=code, name=name)
            typer.echo(f"region {region.id}: {region.name} ({region.code})")

    @admin.command("create-park")
    def create_park(
        region: Annotated[int, typer.Option(help="region id")],
        name: Annotated[str, typer.Option(help="park name")],
        division_code: Annotated[str | None, typer.Option(help="division the park lies in")] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Create an industrial park (园区)."""
        with open_registry(data, registry_url) as registry:
            park = registry.create_park(region_id=region, name=name, division_code=division_code)
            typer.echo(f"park {park.id}: {park.name}")

    @admin.command("create-enterprise")
    def create_enterprise(
        park: Annotated[int, typer.Option(help="park id")],
        name: Annotated[str, typer.Option(help="registered name")],
        uscc: Annotated[str, typer.Option(help="unified social credit code (18 characters)")],
        nbs_category: Annotated[
            str | None, typer.Option(help="digital-economy category, e.g. 0502")
        ] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Register an enterprise (tenant); a bad check character is kept, with a warning."""
        with open_registry(data, registry_url) as registry:
            ent = registry.create_enterprise(
                park_id=park, name=name, uscc=uscc, nbs_category=nbs_category
            )
            typer.echo(f"enterprise {ent.id}: {ent.name} ({ent.uscc})")
            if ent.uscc_warning:
                typer.echo(f"warning: {ent.uscc_warning}")

    @admin.command("create-asset")
    def create_asset(
        enterprise: Annotated[int, typer.Option(help="enterprise id")],
        level: Annotated[str, typer.Option(help="site, area, line or unit")],
        name: Annotated[str, typer.Option(help="asset name")],
        parent: Annotated[int | None, typer.Option(help="parent asset id")] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Add a site, area, line or unit (ISA-95) to an enterprise's plant."""
        with open_registry(data, registry_url) as registry:
            asset = registry.create_asset(enterprise, level, name, parent_id=parent)
            typer.echo(f"asset {asset.id}: {asset.level} {asset.name}")

    @admin.command("create-device")
    def create_device(
        enterprise: Annotated[int, typer.Option(help="enterprise id")],
        name: Annotated[str, typer.Option(help="device name, unique in the enterprise")],
        profile: Annotated[str, typer.Option(help="loom, cooling_tower, crah, rack_sensor, …")],
        asset: Annotated[int | None, typer.Option(help="asset id the device belongs to")] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Register a device and print its access token (shown only this once)."""
        with open_registry(data, registry_url) as registry:
            device, token = registry.create_device(enterprise, name, profile, asset_id=asset)
            typer.echo(f"device {device.id}: {device.name} ({device.profile})")
            typer.echo(f"access token: {token}")

    @admin.command("rotate-device-token")
    def rotate_device_token(
        device: Annotated[int, typer.Option(help="device id")],
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Give a device a new access token; the old one stops working."""
        with open_registry(data, registry_url) as registry:
            typer.echo(f"access token: {registry.rotate_device_token(device)}")

    @admin.command("create-user")
    def create_user(
        username: Annotated[str, typer.Option(help="login name")],
        password: Annotated[str, typer.Option(help="password", prompt=True, hide_input=True)],
        role: Annotated[Role, typer.Option(help="operator, bureau, enterprise_admin, …")],
        enterprise: Annotated[
            int | None, typer.Option(help="enterprise id (enterprise roles only)")
        ] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Create a user account."""
        with open_registry(data, registry_url) as registry:
            user = registry.create_user(
                username=username, password=password, role=role, enterprise_id=enterprise
            )
            typer.echo(f"user {user.id}: {user.username} ({user.role})")

    @admin.command("create-token")
    def create_token(
        username: Annotated[str, typer.Option(help="the user the token acts as")],
        name: Annotated[str, typer.Option(help="what the token is for")] = "script",
        ttl_seconds: Annotated[int | None, typer.Option(help="lifetime (default: none)")] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Create an API token for a user (for scripts); printed once."""
        with open_registry(data, registry_url) as registry:
            user = registry.user_by_username(username)
            if user is None:
                typer.echo(f"error [not_found]: no user named {username!r}", err=True)
                raise typer.Exit(1)
            typer.echo(f"api token: {registry.create_api_token(user.id, name, ttl_seconds)}")
