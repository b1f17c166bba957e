"""`shugu demo`: a living district on the embedded default, in one command.

Starts `shugu serve` (HTTP and MQTT) on a data directory, creates the Changle demo district
through the public API as an operator would (at a laptop's scale), backfills a few days of
history through the bulk path, then streams live data from the simulated looms, data hall and
cooling towers through the real device APIs (MQTT gateways and HTTP). Faults from the district
file (a CRAH trip, tower fouling, a bad warp beam) happen on schedule. Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from shugu.cli_lifecycle import (
    STOP_GRACE_S,
    Listener,
    PortUnavailable,
    announce_stop,
    check_ports,
)
from shugu.config import Settings
from shugu.domain.tenancy import Role
from shugu.front.supervisor import WORKERS_HELP, default_workers, port_wait_s
from shugu.region.demo_seed import seed_bureau
from shugu.region.service import RegionServices
from shugu.sim.build import build_plants
from shugu.sim.client import ApiError, ShuguClient
from shugu.sim.district import load_district
from shugu.sim.provision import Provisioner, SimEnterprise
from shugu.sim.runner import LiveRunner, Simulation, backfill, now_ms
from shugu.sim.state import load_counters, save_counters
from shugu.store.registry import Registry

log = logging.getLogger(__name__)

DISTRICT = Path(__file__).resolve().parents[2] / "districts" / "changle.yaml"
OPERATOR = ("operator", "demo-operator")
#: Demo-only accounts, printed at start: username, password, role, and the enterprise (or, for a
#: park official, the park) the account belongs to.
ACCOUNTS = [
    ("bureau", "demo-bureau", Role.BUREAU, None),
    ("park-textile", "demo-park-textile", Role.PARK_OFFICIAL, "长乐滨海纺织产业园"),
    ("park-digital", "demo-park-digital", Role.PARK_OFFICIAL, "长乐数字经济产业园"),
    ("mill-admin", "demo-mill-admin", Role.ENTERPRISE_ADMIN, "长乐01号织造有限公司"),
    ("mill-viewer", "demo-mill-viewer", Role.ENTERPRISE_VIEWER, "长乐01号织造有限公司"),
    ("dc-admin", "demo-dc-admin", Role.ENTERPRISE_ADMIN, "福州滨海云数据中心有限公司"),
    ("tower-admin", "demo-tower-admin", Role.ENTERPRISE_ADMIN, "长乐冷塔运维服务有限公司"),
    # The mill short of orders: it publishes idle looms on the capacity board, mill 01 asks.
    ("minjiang-admin", "demo-minjiang-admin", Role.ENTERPRISE_ADMIN, "福州闽江织造有限公司"),
]


#: The history's step: within the loom KPIs' longest span between points (2 minutes), so that
#: running time and stops are measured in the history as in live data.
BACKFILL_STEP_S = 120.0


def ensure_operator(settings: Settings) -> None:
    registry = Registry(settings.resolved_registry_url())
    try:
        if registry.user_by_username(OPERATOR[0]) is None:
            registry.create_user(OPERATOR[0], OPERATOR[1], Role.OPERATOR)
    finally:
        registry.close()


def wait_until_serving(base_url: str, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            urllib.request.urlopen(f"{base_url}/api/health", timeout=2).read()
            return True
        except (urllib.error.URLError, OSError):
            stop.wait(0.2)
    return False


def ensure_accounts(client: ShuguClient, enterprises: list[SimEnterprise]) -> None:
    """The demo's accounts; the mill lets the bureau see its machines (its admin consents).

    The operator creates the bureau's and the park officials' accounts and each enterprise's
    first administrator; the enterprise's other accounts are its administrator's to create, as
    on a real platform."""
    by_name = {e.spec.name: e.id for e in enterprises}
    parks = {p["name"]: p["id"] for p in client.get("/api/parks")}
    existing = {u["username"] for u in client.get("/api/users")}
    admins: dict[str, ShuguClient] = {}
    for username, password, role, enterprise in ACCOUNTS:
        if role is Role.ENTERPRISE_ADMIN and enterprise:
            admin = ShuguClient(client.base)
            if username not in existing:
                client.post(
                    "/api/users",
                    {
                        "username": username,
                        "password": password,
                        "role": role,
                        "enterprise_id": by_name[enterprise],
                    },
                )
            admin.login(username, password)
            admins[enterprise] = admin
    for username, password, role, enterprise in ACCOUNTS:
        if username in existing or role is Role.ENTERPRISE_ADMIN:
            continue
        body: dict[str, object] = {"username": username, "password": password, "role": role}
        if role is Role.PARK_OFFICIAL and enterprise:
            body["park_id"] = parks[enterprise]
            client.post("/api/users", body)
            continue
        if enterprise:
            body["enterprise_id"] = by_name[enterprise]
        (admins[enterprise] if enterprise else client).post("/api/users", body)
    mill_name = next(e for u, _, _, e in ACCOUNTS if u == "mill-admin")
    assert mill_name is not None
    # Consent is the enterprise's to give: its administrator grants it, not the operator.
    try:
        admins[mill_name].post(
            f"/api/enterprises/{by_name[mill_name]}/consents",
            {"note": "演示：允许工信局查看设备数据"},
        )
    except ApiError as exc:
        if exc.status != 409:  # already granted
            raise


def keep_demo_passwords(registry: Registry) -> None:
    """The demo's passwords are published (printed at start, in the README) so that anyone can
    try each role: its accounts are not asked to replace them at sign-in, as accounts made by
    another are on a real platform."""
    for username, *_ in ACCOUNTS:
        user = registry.user_by_username(username)
        if user is not None and user.must_change_password:
            registry.set_must_change_password(user.id, False)


def run_district(
    base_url: str,
    mqtt_port: int,
    data: Path,
    scale: float,
    backfill_days: float,
    stop: threading.Event,
    region: RegionServices | None = None,
) -> None:
    """The district through the API; with ``region``, the bureau's records beside it
    (``region/demo_seed.py``)."""
    if not wait_until_serving(base_url, stop):
        return
    district = load_district(DISTRICT)
    client = ShuguClient(base_url)
    client.login(*OPERATOR)
    enterprises = Provisioner(client, data / "demo-sim-tokens.json").provision(district, scale)
    ensure_accounts(client, enterprises)
    if region is not None:
        keep_demo_passwords(region.registry)
        seed_bureau(region, after_data=False)
    counters_file = data / "demo-sim-counters.json"
    marker = data / "demo-backfilled"
    if not marker.exists() and backfill_days > 0:
        end = now_ms() - 60_000
        start = end - int(backfill_days * 86_400_000)
        live = Simulation(district, build_plants(district, enterprises), start)
        began = time.monotonic()
        points = backfill(client, live, start, end, BACKFILL_STEP_S, stop=stop)
        if stop.is_set():
            return  # not marked: the next start fills the history again
        marker.write_text(str(end))
        log.info("backfilled %d points in %.0f s", points, time.monotonic() - began)
        # The same machines carry on live, so counters continue from the history, and so do
        # the faults still in progress at its end (a fouled fill stays fouled until it is
        # cleaned); those that were over happen again on schedule in live time. The live clock
        # starts where the history ends and catches up with the present at once.
        if carried := live.in_progress():
            log.info("faults carried on into live data: %s", "; ".join(carried))
        clock = end
    else:
        clock = now_ms()
        live = Simulation(district, build_plants(district, enterprises), clock)
        resumed = live.resume_counters(load_counters(counters_file))
        if resumed:
            log.info("counters of %d devices resume where the last run left them", resumed)
    if region is not None:
        seed_bureau(region, after_data=True)
    live.plan_faults(now_ms())
    runner = LiveRunner(
        client,
        live,
        "127.0.0.1",
        mqtt_port,
        period_s=5.0,
        checkpoint=lambda t: save_counters(counters_file, t, live.counters()),
    )
    log.info("live: %d devices reporting every 5 s", sum(len(e.device_ids) for e in enterprises))
    try:
        runner.run(stop, clock)
    finally:
        runner.close()


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        data: Annotated[Path, typer.Option("--data", help="data directory")] = Path("demo-data"),
        http_port: Annotated[int, typer.Option("--http-port")] = 8080,
        mqtt_port: Annotated[int, typer.Option("--mqtt-port")] = 1883,
        mqtt_max_connections_per_address: Annotated[
            int,
            typer.Option(
                min=0, help="open MQTT connections one client address may hold; 0: no limit"
            ),
        ] = 1024,
        scale: Annotated[float, typer.Option(help="device counts × this")] = 0.25,
        backfill_days: Annotated[float, typer.Option(help="days of history on first start")] = 2.0,
        workers: Annotated[int | None, typer.Option(min=1, help=WORKERS_HELP)] = None,
    ) -> None:
        """Serve a simulated district with history and live data until Ctrl-C."""
        from shugu.api.app import create_app
        from shugu.api.control import ControlSocket
        from shugu.api.http_server import HttpLimits, build_server
        from shugu.cli_workers import share_http
        from shugu.runtime import Runtime

        processes = default_workers("all") if workers is None else workers
        try:
            check_ports(
                [
                    Listener("HTTP", "127.0.0.1", http_port, "--http-port (make demo DEMO_PORT=…)"),
                    Listener(
                        "MQTT", "127.0.0.1", mqtt_port, "--mqtt-port (make demo DEMO_MQTT_PORT=…)"
                    ),
                ],
                wait_s=port_wait_s(data),
            )
        except PortUnavailable as exc:
            typer.echo(f"shugu demo cannot start: {exc.message}", err=True)
            raise typer.Exit(2) from None
        logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings = Settings(
            data_dir=data,
            mqtt_port=mqtt_port,
            mqtt_max_connections_per_address=mqtt_max_connections_per_address,
            workers=processes,
        )
        data.mkdir(parents=True, exist_ok=True)
        ensure_operator(settings)
        url = f"http://127.0.0.1:{http_port}"
        typer.echo(f"\nshugu demo: the console is at {url} (open it in a browser and sign in)")
        typer.echo(f"API docs: {url}/docs; MQTT on 127.0.0.1:{mqtt_port}")
        typer.echo("Accounts (username / password / role):")
        typer.echo(f"  {OPERATOR[0]:12s} {OPERATOR[1]:18s} {Role.OPERATOR}")
        for username, password, role, ent in ACCOUNTS:
            where = f" · {ent}" if ent else ""
            typer.echo(f"  {username:12s} {password:18s} {role}{where}")
        typer.echo("The district appears within a minute; Ctrl-C stops.\n")
        stop = threading.Event()
        runtime = Runtime.open(settings, attachments=(ControlSocket(data, url),))
        # The node's limit: each process admits its share (decision 0056).
        limits = HttpLimits()
        limits = dataclasses.replace(
            limits,
            max_connections_per_address=settings.per_process(limits.max_connections_per_address),
        )
        try:
            shared = share_http(runtime, "127.0.0.1", http_port, limits, "warning")
        except OSError as exc:
            typer.echo(f"shugu demo cannot start: port {http_port} (HTTP): {exc}", err=True)
            raise typer.Exit(2) from exc
        worker = threading.Thread(
            target=_guarded,
            args=(url, mqtt_port, data, scale, backfill_days, stop, runtime.services.region),
            name="demo-district",
            daemon=True,
        )
        worker.start()
        server, _ = build_server(
            # `shugu admin … --data demo-data` then acts through this server, as with serve.
            create_app(settings, runtime=runtime),
            host="127.0.0.1",
            port=http_port,
            limits=limits,
            log_level="warning",
            timeout_graceful_shutdown=STOP_GRACE_S,
        )
        # The simulator stops the moment Ctrl-C is pressed, while the server is still there to
        # take its goodbyes; uvicorn raises the Ctrl-C again once it has stopped cleanly.
        with contextlib.suppress(KeyboardInterrupt), announce_stop(server, typer.echo, stop.set):
            server.run(sockets=shared.for_server)
        shared.close()
        stop.set()
        worker.join(timeout=STOP_GRACE_S)
        if not server.started:
            raise typer.Exit(3)  # uvicorn said why (the port was taken meanwhile, say)
        typer.echo("stopped.")


def _guarded(
    url: str,
    mqtt_port: int,
    data: Path,
    scale: float,
    days: float,
    stop: threading.Event,
    region: RegionServices,
) -> None:
    try:
        run_district(url, mqtt_port, data, scale, days, stop, region)
    except Exception:
        if not stop.is_set():
            log.exception("the demo district stopped")
