"""`shugu bench …`: the benchmarks' commands; each runs a module under bench/ in the source tree."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def _bench_module(name: str) -> object:
    root = Path(__file__).resolve().parents[2]
    if not (root / "bench" / f"{name}.py").exists():
        typer.echo(f"bench/{name}.py not found next to the source tree ({root})", err=True)
        raise typer.Exit(2)
    sys.path.insert(0, str(root))
    return importlib.import_module(f"bench.{name}")


def _print_result(result: dict[str, object], as_json: bool) -> None:
    """One JSON object whose keys name their units, or one figure a line with its unit."""
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(_bench_module("units").human(result))  # type: ignore[attr-defined]


def register(bench: typer.Typer) -> None:
    """Add the benchmark commands to ``shugu bench``."""

    @bench.command("ingest")
    def bench_ingest(
        quick: Annotated[
            bool, typer.Option("--quick", help="small sizes; finishes in under a minute")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        clients: Annotated[int, typer.Option(help="concurrent HTTP clients")] = 32,
        seconds: Annotated[float, typer.Option(help="duration of each HTTP phase")] = 0.0,
        workers: Annotated[
            int, typer.Option(min=1, help="processes serving HTTP (shugu serve --workers)")
        ] = 1,
    ) -> None:
        """Ingest throughput (raw DuckDB append vs. end to end over HTTP) and read latencies."""
        module = _bench_module("ingest")
        result = module.run(  # type: ignore[attr-defined]
            quick=quick, clients=clients, seconds=seconds or None, log=not as_json, workers=workers
        )
        _print_result(result, as_json)

    @bench.command("mqtt")
    def bench_mqtt(
        quick: Annotated[bool, typer.Option("--quick", help="small sizes; under a minute")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        devices: Annotated[int, typer.Option(help="concurrent device connections")] = 10_000,
        workers: Annotated[
            int, typer.Option(min=1, help="processes serving MQTT (shugu serve --workers)")
        ] = 1,
    ) -> None:
        """MQTT endpoint throughput and connections, next to Mosquitto measured in the same run."""
        module = _bench_module("mqtt")
        result = module.run(quick=quick, devices=devices, log=not as_json, workers=workers)  # type: ignore[attr-defined]
        _print_result(result, as_json)

    @bench.command("mqtt-reconnect")
    def bench_mqtt_reconnect(
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        devices: Annotated[int, typer.Option(help="devices with persistent sessions")] = 2000,
        runs: Annotated[int, typer.Option(help="runs of each --workers value; medians")] = 3,
        workers: Annotated[
            list[int] | None, typer.Option(help="shugu serve --workers values, alternated")
        ] = None,
    ) -> None:
        """A reconnect storm: every persistent MQTT session's device connects again at once."""
        module = _bench_module("mqtt_reconnect")
        result = module.run(  # type: ignore[attr-defined]
            devices=devices, runs=runs, workers=tuple(workers or (1, 2)), log=not as_json
        )
        _print_result(result, as_json)

    @bench.command("clickhouse")
    def bench_clickhouse(
        quick: Annotated[bool, typer.Option("--quick", help="100,000 points, one run")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        url: Annotated[
            str | None,
            typer.Option(help="clickhouse://host:port of a server to use (default: start one)"),
        ] = None,
        points: Annotated[int, typer.Option(help="points per run")] = 1_000_000,
        runs: Annotated[int, typer.Option(help="runs; figures are their medians")] = 3,
    ) -> None:
        """ClickHouse store's submit against the driver's raw columnar insert, same run and
        table."""
        module = _bench_module("clickhouse_store")
        result = module.run(quick=quick, url=url, n_points=points, runs=runs, log=not as_json)  # type: ignore[attr-defined]
        _print_result(result, as_json)

    @bench.command("clickhouse-disk")
    def bench_clickhouse_disk(
        quick: Annotated[bool, typer.Option("--quick", help="2 simulated hours")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        url: Annotated[
            str | None,
            typer.Option(help="clickhouse://host:port of a server to use (default: start one)"),
        ] = None,
        scale: Annotated[float, typer.Option(help="the district's scale")] = 0.1,
        hours: Annotated[
            float, typer.Option(help="simulated hours, every device every 10 s")
        ] = 32.0,
    ) -> None:
        """Bytes on disk per point in the ClickHouse store, the simulated district merged."""
        module = _bench_module("clickhouse_disk")
        result = module.run(quick=quick, url=url, scale=scale, hours=hours, log=not as_json)  # type: ignore[attr-defined]
        _print_result(result, as_json)

    @bench.command("cluster")
    def bench_cluster(
        quick: Annotated[bool, typer.Option("--quick", help="small sizes, one run")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        devices: Annotated[int, typer.Option(help="MQTT devices publishing")] = 0,
        points: Annotated[int, typer.Option(help="points sent through each setup per run")] = 0,
        runs: Annotated[int, typer.Option(help="runs; figures are their medians")] = 0,
    ) -> None:
        """Points/s through a cluster on this machine (Mosquitto, 2 ingest workers, 2 ClickHouse
        shards) against one node and ClickHouse's own insert; API query times."""
        module = _bench_module("cluster")
        result = module.run(  # type: ignore[attr-defined]
            quick=quick,
            devices=devices or None,
            points=points or None,
            runs=runs or None,
            log=not as_json,
        )
        _print_result(result, as_json)

    @bench.command("anomaly")
    def bench_anomaly(
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        data: Annotated[
            Path | None,
            typer.Option(help="folder with nab-aws/, nab-more/, skab-dev/; or $SHUGU_NAB_DATA"),
        ] = None,
        nab_repo: Annotated[
            Path | None,
            typer.Option(
                help="a NAB checkout: its other files as validation series, its published "
                "detectors scored beside shugu; or $SHUGU_NAB_REPO"
            ),
        ] = None,
        with_cad: Annotated[
            bool,
            typer.Option(
                "--with-cad",
                help="also score the default at 0.34 or a causal CAD OSE-style detector (slow)",
            ),
        ] = False,
    ) -> None:
        """NAB standard score of shugu's detector next to a windowed-Gaussian baseline."""
        module = _bench_module("anomaly")
        try:
            result = module.run(  # type: ignore[attr-defined]
                data=data, log=not as_json, nab_repo=nab_repo, with_cad=with_cad
            )
        except FileNotFoundError as exc:
            typer.echo(f"shugu bench anomaly: {exc}", err=True)
            raise typer.Exit(2) from None
        _print_result(result, as_json)

    @bench.command("monitor")
    def bench_monitor(
        quick: Annotated[bool, typer.Option("--quick", help="small sizes; under a minute")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        rate: Annotated[int, typer.Option(help="offered points per second")] = 100_000,
        flood: Annotated[
            bool, typer.Option(help="the flood case: other tenants' alarms while one device flaps")
        ] = True,
        paced: Annotated[
            bool, typer.Option(help="the paced case and the capacity figures (--no-paced: skip)")
        ] = True,
    ) -> None:
        """Alarm latency (point stored → alarm raised) while ingesting at a steady rate."""
        module = _bench_module("monitor")
        result = module.run(quick=quick, rate=rate, log=not as_json, flood=flood, paced=paced)  # type: ignore[attr-defined]
        _print_result(result, as_json)

    @bench.command("states")
    def bench_states(
        quick: Annotated[
            bool, typer.Option("--quick", help="200 devices, 6 hours learned; under a minute")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        devices: Annotated[int | None, typer.Option(min=1, help="rack sensors")] = None,
        hours: Annotated[float | None, typer.Option(min=0.5, help="hours learned")] = None,
        runs: Annotated[int, typer.Option(min=1, help="timed slices; figures are medians")] = 3,
        postgres: Annotated[
            bool, typer.Option(help="also on PostgreSQL, when its binaries are found")
        ] = True,
    ) -> None:
        """What anomaly rules cost the monitor, and saving and restoring what they learned."""
        module = _bench_module("detector_states")
        result = module.run(  # type: ignore[attr-defined]
            quick=quick, devices=devices, hours=hours, runs=runs, postgres=postgres,
            log=not as_json,
        )  # fmt: skip
        _print_result(result, as_json)

    @bench.command("plant-history")
    def bench_plant_history(
        quick: Annotated[bool, typer.Option("--quick", help="8 looms; under a minute")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        devices: Annotated[int | None, typer.Option(min=1, help="looms (default 40)")] = None,
        runs: Annotated[int, typer.Option(min=1, help="timed runs; figures are medians")] = 3,
    ) -> None:
        """What fitting a plant rule on stored readings and back-testing it adds to saving it
        (decision 0076, 0077)."""
        module = _bench_module("plant_history")
        result = module.run(quick=quick, devices=devices, runs=runs, log=not as_json)  # type: ignore[attr-defined]
        _print_result(result, as_json)

    @bench.command("alarms")
    def bench_alarms(
        quick: Annotated[
            bool, typer.Option("--quick", help="4 mills at a fifth of the district; a few minutes")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        scale: Annotated[float, typer.Option(min=0.02, max=1.0, help="device counts' scale")] = 1.0,
        mills: Annotated[
            int | None, typer.Option(min=2, max=40, help="weaving firms kept (default all 40)")
        ] = None,
        step: Annotated[float, typer.Option(min=1, max=60, help="simulation step, seconds")] = 10.0,
        days: Annotated[float, typer.Option(min=0.5, max=14, help="simulated days")] = 7.0,
        anomaly: Annotated[
            bool, typer.Option("--anomaly", help="also an anomaly rule on every gauge metric")
        ] = False,
        plant: Annotated[
            bool, typer.Option("--plant", help="also a plant rule over each profile's gauges")
        ] = False,
        plant_fit_h: Annotated[
            float,
            typer.Option(
                min=0.1, max=72, help="with --plant: hours of rows each device is fitted on"
            ),
        ] = 24.0,
        plant_conditions: Annotated[
            bool,
            typer.Option(
                "--plant-conditions",
                help="with --plant: a cooling tower's wet bulb and a meter's active power are "
                "the plant rules' conditions, not sensors",
            ),
        ] = False,
        plant_held_out: Annotated[
            bool,
            typer.Option(
                "--plant-held-out",
                help="with --plant: what a controller holds at a set point (a cooling tower's "
                "cold water) is left to its limit rule, not modelled",
            ),
        ] = False,
        while_running: Annotated[
            bool,
            typer.Option(
                "--while-running",
                help="with --anomaly or --plant: judged only while a device's running flag "
                "reads running",
            ),
        ] = False,
    ) -> None:
        """Default rules on a simulated week: healthy alarms per device-week, faults found."""
        module = _bench_module("alarms")
        if quick:
            scale, mills, step = 0.2, 4, 30.0
        result = module.run(  # type: ignore[attr-defined]
            scale=scale, mills=mills, step_s=step, days=days, anomaly=anomaly, plant=plant,
            plant_fit_h=plant_fit_h, plant_conditions=plant_conditions,
            plant_held_out=plant_held_out, while_running=while_running, log=not as_json,
        )  # fmt: skip
        _print_result(result, as_json)

    @bench.command("incidents")
    def bench_incidents(
        quick: Annotated[bool, typer.Option("--quick", help="small sizes; seconds")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        runs: Annotated[int, typer.Option(help="timed runs of the grouping")] = 5,
    ) -> None:
        """Alarms per fault against notices per fault (CRAH trip, gateway offline), and the cost
        of grouping alarms into incidents."""
        module = _bench_module("incidents")
        result = module.run(quick=quick, runs=runs, log=not as_json)  # type: ignore[attr-defined]
        _print_result(result, as_json)

    @bench.command("kpi")
    def bench_kpi(
        quick: Annotated[
            bool, typer.Option("--quick", help="1,000 devices and 7 days; under a minute")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        devices: Annotated[
            int | None, typer.Option(min=90, help="devices of the district (default 10,000)")
        ] = None,
        days: Annotated[
            int | None, typer.Option(min=1, max=30, help="days of November 2026 (default 30)")
        ] = None,
        repeats: Annotated[int, typer.Option(min=1, help="timed repeats of each KPI query")] = 11,
        raw_repeats: Annotated[int, typer.Option(min=1, help="timed repeats of the raw scan")] = 3,
        late_points: Annotated[int, typer.Option(min=1, help="late points timed")] = 7,
    ) -> None:
        """A region's month of KPIs from the facts, next to the raw scan; late points' latency."""
        module = _bench_module("kpi")
        result = module.run(  # type: ignore[attr-defined]
            quick=quick,
            devices=devices,
            days=days,
            repeats=repeats,
            raw_repeats=raw_repeats,
            late_points=late_points,
            log=not as_json,
        )
        _print_result(result, as_json)

    @bench.command("live")
    def bench_live(
        quick: Annotated[bool, typer.Option("--quick", help="100 pages, one short run")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        pages: Annotated[int, typer.Option(help="open console pages")] = 1000,
        runs: Annotated[int, typer.Option(help="runs; the figures are their medians")] = 3,
    ) -> None:
        """What 1,000 open pages cost the server: live by server-sent events vs by polling."""
        module = _bench_module("live_cost")
        result = module.run_bench(quick=quick, pages=pages, runs=runs, log=not as_json)  # type: ignore[attr-defined]
        _print_result(result, as_json)

    @bench.command("web")
    def bench_web(
        quick: Annotated[
            bool, typer.Option("--quick", help="scale 0.1, 100 open pages, one run; about a minute")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        markdown: Annotated[
            bool, typer.Option("--markdown", help="also print the page figures as a Markdown table")
        ] = False,
        scale: Annotated[
            float, typer.Option(help="device counts of districts/changle.yaml × this")
        ] = 1.0,
        mills: Annotated[
            int | None, typer.Option(min=1, help="weaving firms of the district (default: all 40)")
        ] = None,
        pages: Annotated[int, typer.Option(min=1, help="open pages (live streams)")] = 500,
        runs: Annotated[int, typer.Option(min=1, help="rounds; figures are their medians")] = 3,
        repeats: Annotated[
            int, typer.Option(min=1, help="timed fetches of each page per run")
        ] = 10,
        seconds: Annotated[float, typer.Option(help="seconds of probes per run")] = 30.0,
        rate: Annotated[float, typer.Option(help="probes per second")] = 20.0,
        backfill_hours: Annotated[
            float, typer.Option(help="hours of history on first start")
        ] = 6.0,
        live: Annotated[
            bool, typer.Option(help="the district reports every 5 s meanwhile, as in the demo")
        ] = True,
        data: Annotated[
            Path | None, typer.Option(help="keep the district here; a second run reuses it")
        ] = None,
    ) -> None:
        """Console page times per role and device-to-screen latency with many open pages."""
        module = _bench_module("web")
        if quick:
            scale, pages, runs, repeats, seconds = min(scale, 0.1), min(pages, 100), 1, 5, 10.0
        result = module.run(  # type: ignore[attr-defined]
            scale=scale,
            mills=mills,
            pages=pages,
            runs=runs,
            repeats=repeats,
            seconds=seconds,
            rate=rate,
            backfill_hours=backfill_hours,
            live=live,
            data=data,
            log=not as_json,
        )
        _print_result(result, as_json)
        if markdown and not as_json:
            typer.echo(module.table(result))  # type: ignore[attr-defined]

    @bench.command("fuzz")
    def bench_fuzz(
        cases: Annotated[int, typer.Option(help="cases per codec")] = 10_000,
        codec: Annotated[
            list[str] | None, typer.Option("--codec", help="only this codec (repeatable)")
        ] = None,
        seed: Annotated[int, typer.Option(help="the same seed draws the same cases")] = 0,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    ) -> None:
        """Hostile input for every codec: accepted, refused with a reason, crashes (must be 0)."""
        module = _bench_module("fuzz")
        result = module.run(cases=cases, codecs=codec, seed=seed, log=not as_json)  # type: ignore[attr-defined]
        typer.echo(json.dumps(result) if as_json else module.table(result))  # type: ignore[attr-defined]
        if result["crashes"] or result["unexplained"]:
            raise typer.Exit(1)

    @bench.command("faults")
    def bench_faults(
        scenario: Annotated[
            list[str] | None,
            typer.Option(
                "--scenario", help="crash, broker_outage, disk_full, overload, soak, cluster"
            ),
        ] = None,
        quick: Annotated[bool, typer.Option("--quick", help="scaled-down sizes")] = False,
        minutes: Annotated[float, typer.Option(help="soak duration in minutes")] = 10.0,
        workers: Annotated[
            int,
            typer.Option(
                min=1, help="shugu serve --workers for crash, disk_full, overload and soak"
            ),
        ] = 1,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    ) -> None:
        """Points sent, acknowledged, stored and lost under crash, outage, disk-full, overload,
        soak."""
        _bench_module("common")
        from bench.faults import FaultOptions, run

        options = FaultOptions(quick=quick, minutes=minutes, log=not as_json, workers=workers)
        result = run(scenario, options=options)
        _print_result(result, as_json)
        if result.get("lost_total"):
            raise typer.Exit(1)
