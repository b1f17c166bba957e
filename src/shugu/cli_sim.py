"""`shugu sim …`: run a simulated district against a running shugu, through its real APIs."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from shugu.domain.errors import ShuguError
from shugu.domain.timeutil import parse_bucket
from shugu.sim.build import build_plants
from shugu.sim.client import ShuguClient
from shugu.sim.district import load_district
from shugu.sim.provision import Provisioner
from shugu.sim.runner import LiveRunner, Simulation, backfill, now_ms

DistrictOpt = Annotated[
    Path, typer.Option("--district", help="district YAML, e.g. districts/changle.yaml")
]
UrlOpt = Annotated[str, typer.Option("--url", help="shugu's HTTP API")]
UserOpt = Annotated[str, typer.Option("--user", help="an operator account")]
PasswordOpt = Annotated[
    str, typer.Option("--password", help="its password", envvar="SHUGU_SIM_PASSWORD")
]
ScaleOpt = Annotated[
    float, typer.Option(help="multiply device counts (0.25 for a laptop, 10 for benchmarks)")
]
StateOpt = Annotated[Path, typer.Option(help="where device tokens are kept between runs")]


def _prepare(
    district_file: Path,
    url: str,
    user: str,
    password: str,
    scale: float,
    state: Path,
    start_ms: int,
) -> tuple[ShuguClient, Simulation]:
    district = load_district(district_file)
    client = ShuguClient(url)
    client.login(user, password)
    enterprises = Provisioner(client, state).provision(district, scale)
    plants = build_plants(district, enterprises)
    typer.echo(
        f"district {district.name}: {len(enterprises)} enterprises, "
        f"{sum(len(e.device_ids) for e in enterprises)} devices"
    )
    return client, Simulation(district, plants, start_ms)


def register(app: typer.Typer) -> None:
    sim = typer.Typer(help="Simulated machines and districts, through shugu's real device APIs.")
    app.add_typer(sim, name="sim")

    @sim.command("run")
    def run(
        district: DistrictOpt = Path("districts/changle.yaml"),
        url: UrlOpt = "http://127.0.0.1:8080",
        mqtt_host: Annotated[str, typer.Option(help="shugu's MQTT endpoint host")] = "127.0.0.1",
        mqtt_port: Annotated[int, typer.Option(help="shugu's MQTT endpoint port")] = 1883,
        user: UserOpt = "operator",
        password: PasswordOpt = "",
        scale: ScaleOpt = 1.0,
        speed: Annotated[float, typer.Option(help="simulated seconds per real second")] = 1.0,
        period: Annotated[float, typer.Option(help="real seconds between reports")] = 5.0,
        minutes: Annotated[
            float, typer.Option(help="stop after this many real minutes (0: never)")
        ] = 0.0,
        state: StateOpt = Path(".shugu-sim.json"),
    ) -> None:
        """Create what is missing, then stream live data until Ctrl-C."""
        logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # Faster than real time starts in the past, so that it can run fast and meet the present.
        lead_ms = int(min(speed - 1, 60) * 3_600_000) if speed > 1 else 0
        try:
            client, simulation = _prepare(
                district, url, user, password, scale, state, now_ms() - lead_ms
            )
        except ShuguError as exc:
            typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
            raise typer.Exit(1) from None
        runner = LiveRunner(client, simulation, mqtt_host, mqtt_port, period_s=period, speed=speed)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if minutes:
            threading.Timer(minutes * 60, stop.set).start()
        try:
            runner.run(stop, simulation.start_ms)
        finally:
            runner.close()
        typer.echo(f"sent {runner.sent_messages} messages")

    @sim.command("backfill")
    def backfill_command(
        district: DistrictOpt = Path("districts/changle.yaml"),
        url: UrlOpt = "http://127.0.0.1:8080",
        user: UserOpt = "operator",
        password: PasswordOpt = "",
        scale: ScaleOpt = 1.0,
        days: Annotated[float, typer.Option(help="how far back")] = 30.0,
        step: Annotated[
            str, typer.Option(help="simulated time between points, e.g. 1m, 15m")
        ] = "15m",
        state: StateOpt = Path(".shugu-sim.json"),
    ) -> None:
        """Fill past days quickly through the bulk ingest path."""
        end = now_ms() - 60_000
        start = end - int(days * 86_400_000)
        try:
            client, simulation = _prepare(district, url, user, password, scale, state, start)
            step_s = parse_bucket(step, "step") / 1000
        except ShuguError as exc:
            typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
            raise typer.Exit(1) from None
        began = time.monotonic()
        points = backfill(client, simulation, start, end, step_s, progress=typer.echo)
        typer.echo(f"backfilled {points:,} points in {time.monotonic() - began:.1f} s")
