"""The `shugu` command: serve, admin, demo and bench."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer

from shugu.cli_admin import register as register_admin_commands
from shugu.cli_anomaly import register as register_anomaly_commands
from shugu.cli_bench import register as register_bench_commands
from shugu.cli_lifecycle import STOP_GRACE_S, Listener, announce_stop, check_ports
from shugu.cli_sim import register as register_sim_commands
from shugu.config import Settings
from shugu.domain.errors import ShuguError
from shugu.front.supervisor import WORKERS_HELP, check_workers, default_workers, port_wait_s
from shugu.monitor.notify.targets import parse_networks
from shugu.store.datadir import check_writable

app = typer.Typer(
    help="shugu (数谷): an open industrial-internet platform for a district.", no_args_is_help=True
)
admin = typer.Typer(
    help="Create regions, parks, enterprises, devices and users; rotate device tokens. "
    "While `shugu serve` runs on --data, the commands run inside it (through its control "
    "socket) and take effect at once; with no server there they write its registry directly; "
    "where there is no registry either they refuse (`shugu admin init` creates one).",
    no_args_is_help=True,
)
bench = typer.Typer(help="Benchmarks (code under bench/).", no_args_is_help=True)
app.add_typer(admin, name="admin")
app.add_typer(bench, name="bench")

DataOpt = Annotated[Path, typer.Option("--data", help="data directory (telemetry, registry)")]
RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry-url",
        help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: SQLite in --data)",
    ),
]


@app.command()
def serve(
    data: DataOpt = Path("shugu-data"),
    registry_url: RegistryOpt = None,
    telemetry_url: Annotated[
        str | None,
        typer.Option(
            "--telemetry-url",
            help="clickhouse://host:port/database of a ClickHouse telemetry store "
            "(default: DuckDB in --data)",
        ),
    ] = None,
    http_port: Annotated[int, typer.Option("--http-port", help="HTTP API port")] = 8080,
    mqtt_port: Annotated[
        int | None, typer.Option("--mqtt-port", help="MQTT endpoint port (e.g. 1883); none: off")
    ] = None,
    mqtt_tls_port: Annotated[
        int | None, typer.Option("--mqtt-tls-port", help="MQTT over TLS port (e.g. 8883)")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="server certificate chain (PEM) for MQTT over TLS")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="private key (PEM) for MQTT over TLS")
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(help="consume device data from this MQTT broker, e.g. mqtt://emqx:1883"),
    ] = None,
    broker_client_id: Annotated[
        str, typer.Option(help="this worker's persistent client id at the broker")
    ] = "shugu-worker",
    role: Annotated[
        str,
        typer.Option(
            help="in a cluster (docs/deploy.md): ingest (broker and device APIs into the "
            "store), monitor (rules and alarms for a share of the enterprises), api (HTTP API "
            "and console), or all (one process does everything)"
        ),
    ] = "all",
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    retention_days: Annotated[int, typer.Option(help="keep telemetry this many days")] = 365,
    max_backlog_points: Annotated[
        int,
        typer.Option(
            help="points waiting for the disk beyond which senders are slowed (MQTT) "
            "or refused with 429 (HTTP)"
        ),
    ] = 2_000_000,
    max_ingest_requests: Annotated[
        int, typer.Option(help="HTTP ingest requests handled at once; more get 429")
    ] = 32,
    http_header_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="seconds a client has to send a request's line and headers; "
            "slower connections are closed (408)",
        ),
    ] = 10.0,
    http_max_connections_per_address: Annotated[
        int,
        typer.Option(
            min=0,
            help="open HTTP connections one client address may hold (IPv6: one /64); "
            "more are closed at once; 0: no limit, e.g. behind a proxy that limits them",
        ),
    ] = 256,
    mqtt_max_connections_per_address: Annotated[
        int,
        typer.Option(
            min=0,
            help="open MQTT connections (plain and TLS) one client address may hold "
            "(IPv6: one /64); more are closed at once; 0: no limit. A factory's devices "
            "behind one NAT address count as one address",
        ),
    ] = 1024,
    store_memory_mib: Annotated[
        int, typer.Option(help="memory cap of the telemetry store (DuckDB), MiB")
    ] = 512,
    behind_tls: Annotated[
        bool,
        typer.Option(
            "--behind-tls",
            help="a TLS proxy serves the HTTP API: Secure cookies and Strict-Transport-Security",
        ),
    ] = False,
    notify_allow_network: Annotated[
        list[str] | None,
        typer.Option(
            "--notify-allow-network",
            help="a network (CIDR) notification channels may reach although it is not public, "
            "e.g. the LAN of your mail relay; repeatable (default: public addresses only)",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help=WORKERS_HELP)] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run the API (HTTP device API, query API, registry), with the device APIs over --workers
    processes (default: the cores available).

    While it runs, <data>/control.sock (mode 0600) takes `shugu admin` commands from the
    account that runs it, and <data>/server.json tells its pid, ports and registry."""
    from shugu.api.app import create_app
    from shugu.api.control import ControlSocket
    from shugu.api.http_server import HttpLimits, build_server
    from shugu.cli_workers import share_http
    from shugu.runtime import Runtime, startup_heap_frozen
    from shugu.store.clickhouse_store import ClickHouseTarget

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if workers is None:
        workers = default_workers(role)
    settings = Settings(
        data_dir=data,
        registry_url=registry_url,
        telemetry_url=telemetry_url,
        retention_days=retention_days,
        mqtt_host=host,
        mqtt_port=mqtt_port,
        mqtt_tls_port=mqtt_tls_port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        mqtt_max_connections_per_address=mqtt_max_connections_per_address,
        broker_url=broker,
        broker_client_id=broker_client_id,
        max_backlog_points=max_backlog_points,
        max_ingest_requests=max_ingest_requests,
        store_memory_mib=store_memory_mib,
        behind_tls=behind_tls,
        notify_allow_networks=tuple(notify_allow_network or ()),
        role=role,
        workers=workers,
    )
    listeners = [Listener("HTTP", host, http_port, "--http-port")]
    if mqtt_port is not None:
        listeners.append(Listener("MQTT", host, mqtt_port, "--mqtt-port"))
    if mqtt_tls_port is not None:
        listeners.append(Listener("MQTT over TLS", host, mqtt_tls_port, "--mqtt-tls-port"))
    try:
        check_workers(settings)
        check_ports(listeners, wait_s=port_wait_s(data))
        parse_networks(settings.notify_allow_networks)
        check_writable(settings.data_dir)
        if telemetry_url is not None:
            ClickHouseTarget.from_url(telemetry_url)
        control = ControlSocket(settings.data_dir, f"http://{host}:{http_port}")
        # The stores open here: a ClickHouse or PostgreSQL out of reach is one line, too.
        runtime = Runtime.open(settings, attachments=(control,))
    except ShuguError as exc:
        typer.echo(f"shugu cannot start: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    limits = HttpLimits(
        header_timeout_s=http_header_timeout,
        # The node's limit: each process admits its share (decision 0056).
        max_connections_per_address=settings.per_process(http_max_connections_per_address),
    )
    try:
        shared = share_http(runtime, host, http_port, limits, log_level)
    except OSError as exc:
        typer.echo(f"shugu cannot start: port {http_port} (HTTP) on {host}: {exc}", err=True)
        raise typer.Exit(2) from exc
    api = create_app(settings, runtime=runtime)
    mqtt = f", MQTT on {host}:{mqtt_port}" if mqtt_port is not None else ""
    processes = f", {workers} processes" if workers > 1 else ""
    typer.echo(
        f"shugu serving on http://{host}:{http_port}{mqtt}  (data: {data.resolve()}{processes})"
    )
    server, _ = build_server(
        api,
        host=host,
        port=http_port,
        limits=limits,
        log_level=log_level,
        timeout_graceful_shutdown=STOP_GRACE_S,
    )
    # uvicorn turns SIGINT into a graceful stop and raises it again once stopped.
    with (
        contextlib.suppress(KeyboardInterrupt),
        announce_stop(server, typer.echo),
        startup_heap_frozen(),
    ):
        server.run(sockets=shared.for_server)
    shared.close()
    if not server.started:
        raise typer.Exit(3)
    typer.echo("stopped.")


register_admin_commands(app, admin)
register_bench_commands(bench)
register_sim_commands(app)
register_anomaly_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
