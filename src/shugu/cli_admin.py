"""`shugu admin …`: create registry objects and rotate device tokens, for operators and scripts.

Each command does one thing and prints what it did; errors print their code and message on one
line and exit with status 1. Where it happens depends on ``--data`` (default: serve's):

- a `shugu serve` runs on it: the command goes through its control socket and the server runs
  it with the HTTP route's own code, so it takes effect at once (a rotated token is refused
  from the next request on, and the device's open MQTT sessions are closed);
- no server runs there but the directory (or ``--registry-url``) holds a registry: the command
  writes it directly; a server started on it later sees the change, and servers sharing a
  PostgreSQL registry see it within seconds (their open MQTT sessions re-check their tokens);
- neither: the command refuses and creates nothing, since the server would never read what it
  wrote; ``shugu admin init`` creates a new registry on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from shugu.api.control import public_registry_url
from shugu.api.control_wire import (
    ApiTokenOut,
    CreateDevice,
    CreateToken,
    validate_args,
)
from shugu.api.registry_schemas import (
    AssetOut,
    DeviceCreated,
    DeviceOut,
    DeviceToken,
    EnterpriseOut,
    ParkOut,
    RegionOut,
    UserOut,
)
from shugu.cli_control import find_server
from shugu.config import Settings
from shugu.domain.errors import NotFoundError, ShuguError, ValidationError
from shugu.domain.tenancy import Role
from shugu.ingest.mqtt.server import REVALIDATE_S
from shugu.store.datadir import check_writable
from shugu.store.registry import Registry
from shugu.store.registry.core import DEFAULT_CACHE_TTL_S
from shugu.store.registry.engine import registry_exists

DataOpt = Annotated[
    Path,
    typer.Option(
        "--data",
        help="the data directory of the server to change (the same as `shugu serve --data`)",
    ),
]
RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry-url",
        help="SQLAlchemy URL of the registry, when the server uses one (PostgreSQL); "
        "default: the SQLite file in --data",
    ),
]

Direct = Callable[[Registry, Any], BaseModel]


def _create_token(registry: Registry, args: CreateToken) -> BaseModel:
    user = registry.user_by_username(args.username)
    if user is None:
        raise NotFoundError(f"no user named {args.username!r}", code="not_found")
    return ApiTokenOut(token=registry.create_api_token(user.id, args.name, args.ttl_seconds))


def _create_device(registry: Registry, a: CreateDevice) -> BaseModel:
    device, token = registry.create_device(
        a.enterprise_id, a.name, a.profile, asset_id=a.asset_id, is_gateway=a.is_gateway
    )
    return DeviceCreated(device=DeviceOut.from_record(device), token=token)


#: With no server running: the same registry calls the HTTP routes make.
DIRECT: dict[str, Direct] = {
    "create-region": lambda r, a: RegionOut.from_record(r.create_region(a.code, a.name)),
    "create-park": lambda r, a: ParkOut.from_record(
        r.create_park(a.region_id, a.name, a.division_code)
    ),
    "create-enterprise": lambda r, a: EnterpriseOut.from_record(
        r.create_enterprise(a.park_id, a.name, a.uscc, a.nbs_category)
    ),
    "create-asset": lambda r, a: AssetOut.from_record(
        r.create_asset(a.enterprise_id, a.level, a.name, a.parent_id)
    ),
    "create-device": _create_device,
    "rotate-device-token": lambda r, a: DeviceToken(token=r.rotate_device_token(a.device_id)),
    # Whoever runs it holds the host: the operator (an enterprise account so made is marked).
    "create-user": lambda r, a: UserOut.from_record(
        r.create_user(
            a.username,
            a.password,
            a.role,
            a.enterprise_id,
            made_by_operator=Role(a.role).bound_to_enterprise,
            park_id=a.park_id,
        )
    ),
    "create-token": _create_token,
}


def _no_registry(data: Path, url: str, given_url: str | None) -> NotFoundError:
    where = public_registry_url(url) if given_url else str(data.resolve())
    return NotFoundError(
        f"{where} holds no shugu registry and no server runs on {data.resolve()}: pass the "
        "server's --data (and its --registry-url if it has one), or create a new registry "
        f"with `shugu admin init --data {data}`",
        code="no_registry",
    )


def run_admin(data: Path, registry_url: str | None, command: str, args: dict[str, Any]) -> Any:
    """Run one admin command where the server reads it (see the module doc); returns the
    result as the HTTP route answers it."""
    body = validate_args(command, args)
    server = find_server(data)
    if server is not None:
        running = server.info.get("registry")
        if registry_url and running and running != public_registry_url(registry_url):
            server.sock.close()
            raise ValidationError(
                f"the server on {data.resolve()} uses the registry {running}, not "
                f"{public_registry_url(registry_url)}; leave out --registry-url",
                code="registry_mismatch",
            )
        result = server.send(command, body)
        typer.echo(
            f"done by the server running on {data} (pid {server.pid}): in effect now", err=True
        )
        return result
    url = Settings(data_dir=data, registry_url=registry_url).resolved_registry_url()
    if not registry_exists(url):
        raise _no_registry(data, url, registry_url)
    registry = Registry(url)
    try:
        result = DIRECT[command](registry, body).model_dump(mode="json")
    finally:
        registry.close()
    if registry_url:
        typer.echo(
            f"written to the registry {public_registry_url(url)}: servers using it see it within "
            f"{DEFAULT_CACHE_TTL_S:g} s, and close revoked devices' MQTT sessions within "
            f"{REVALIDATE_S:g} s",
            err=True,
        )
    else:
        typer.echo(
            f"no server runs on {data}: written to its registry directly; a server started on "
            "it uses it",
            err=True,
        )
    return result


def _run(data: Path, registry_url: str | None, command: str, **args: Any) -> Any:
    try:
        return run_admin(data, registry_url, command, args)
    except ShuguError as exc:
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
        raise typer.Exit(1) from None


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
        region = _run(data, registry_url, "create-region", code=code, name=name)
        typer.echo(f"region {region['id']}: {region['name']} ({region['code']})")

    @admin.command("create-park")
    def create_park(
        region: Annotated[int, typer.Option(help="region id")],
        name: Annotated[str, typer.Option(help="park name")],
        division_code: Annotated[str | None, typer.Option(help="division the park lies in")] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Create an industrial park (园区)."""
        park = _run(
            data,
            registry_url,
            "create-park",
            region_id=region,
            name=name,
            division_code=division_code,
        )
        typer.echo(f"park {park['id']}: {park['name']}")

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
        ent = _run(
            data,
            registry_url,
            "create-enterprise",
            park_id=park,
            name=name,
            uscc=uscc,
            nbs_category=nbs_category,
        )
        typer.echo(f"enterprise {ent['id']}: {ent['name']} ({ent['uscc']})")
        if ent["uscc_warning"]:
            typer.echo(f"warning: {ent['uscc_warning']}")

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
        asset = _run(
            data,
            registry_url,
            "create-asset",
            enterprise_id=enterprise,
            level=level,
            name=name,
            parent_id=parent,
        )
        typer.echo(f"asset {asset['id']}: {asset['level']} {asset['name']}")

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
        created = _run(
            data,
            registry_url,
            "create-device",
            enterprise_id=enterprise,
            name=name,
            profile=profile,
            asset_id=asset,
        )
        device = created["device"]
        typer.echo(f"device {device['id']}: {device['name']} ({device['profile']})")
        typer.echo(f"access token: {created['token']}")

    @admin.command("rotate-device-token")
    def rotate_device_token(
        device: Annotated[int, typer.Option(help="device id")],
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Give a device a new access token; the old one stops working.

        Through a running server: at once, for HTTP and MQTT alike, and the device's open MQTT
        sessions are closed. With no server on --data: when a server starts on it."""
        rotated = _run(data, registry_url, "rotate-device-token", device_id=device)
        typer.echo(f"access token: {rotated['token']}")

    @admin.command("create-user")
    def create_user(
        username: Annotated[str, typer.Option(help="login name")],
        password: Annotated[str, typer.Option(help="password", prompt=True, hide_input=True)],
        role: Annotated[Role, typer.Option(help="operator, bureau, enterprise_admin, …")],
        enterprise: Annotated[
            int | None, typer.Option(help="enterprise id (enterprise roles only)")
        ] = None,
        park: Annotated[
            int | None, typer.Option(help="park id (park_official only: the park it serves)")
        ] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Create a user account."""
        user = _run(
            data,
            registry_url,
            "create-user",
            username=username,
            password=password,
            role=role,
            enterprise_id=enterprise,
            park_id=park,
        )
        typer.echo(f"user {user['id']}: {user['username']} ({user['role']})")

    @admin.command("create-token")
    def create_token(
        username: Annotated[str, typer.Option(help="the user the token acts as")],
        name: Annotated[str, typer.Option(help="what the token is for")] = "script",
        ttl_seconds: Annotated[int | None, typer.Option(help="lifetime (default: none)")] = None,
        data: DataOpt = Path("shugu-data"),
        registry_url: RegistryOpt = None,
    ) -> None:
        """Create an API token for a user (for scripts); printed once."""
        issued = _run(
            data,
            registry_url,
            "create-token",
            username=username,
            name=name,
            ttl_seconds=ttl_seconds,
        )
        typer.echo(f"api token: {issued['token']}")

    @admin.command("init")
    def init(data: DataOpt = Path("shugu-data"), registry_url: RegistryOpt = None) -> None:
        """Create a new, empty registry in --data (or at --registry-url) for a server to use.

        The other admin commands refuse to write where no registry is, so that a mistyped --data
        never makes a second registry the server does not read."""
        try:
            server = find_server(data)
            if server is not None:
                server.sock.close()
                typer.echo(f"a server runs on {data}: its registry exists already")
                return
            url = Settings(data_dir=data, registry_url=registry_url).resolved_registry_url()
            if registry_exists(url):
                typer.echo(f"{public_registry_url(url)} holds a registry already; nothing to do")
                return
            check_writable(data)
            Registry(url).close()
        except ShuguError as exc:
            typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"registry created: {public_registry_url(url)}")
