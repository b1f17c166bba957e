"""A shugu cluster on this machine, every part its own process on its own free ports.

:class:`Backends` are the servers shugu stands on: a Mosquitto broker with persistence
(``broker.py``), two ClickHouse servers that know each other as the cluster ``shugu`` of two
plain shards (no ZooKeeper: ``replicated=0``, see ``bench/clickhouse_server.py``) and a private
PostgreSQL for the registry (``bench/postgres_server.py``). :func:`start_node` starts one
``shugu serve --role …`` process on them (``served.py``'s :class:`Served`), with its own data
directory, HTTP port and log. The fault run ``cluster.py`` and ``shugu bench cluster`` use both.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.clickhouse_server import ClickHouseServer, find_server_binary, started_servers
from bench.faults.broker import Broker, mosquitto_binary
from bench.faults.served import District, Served
from bench.postgres_server import MISSING as POSTGRES_MISSING
from bench.postgres_server import RunningPostgres, find_bin_dir, started_postgres

#: The ClickHouse cluster's name in both servers' ``<remote_servers>``.
CLUSTER = "shugu"
ROLES = ("ingest", "monitor", "api", "all")


def missing_binaries() -> list[str]:
    """Why a cluster cannot start here: one sentence per missing server binary."""
    reasons = []
    if mosquitto_binary() is None:
        reasons.append("mosquitto is not installed (Debian: apt-get install mosquitto)")
    if find_server_binary() is None:
        reasons.append(
            "clickhouse-server is not installed (Debian: apt-get install clickhouse-server)"
        )
    if find_bin_dir() is None:
        reasons.append(f"{POSTGRES_MISSING} (Debian: apt-get install postgresql)")
    return reasons


@functools.cache
def serve_has_roles() -> bool:
    """Whether this shugu's ``serve`` takes ``--role`` (ingest, monitor, api, all)."""
    out = subprocess.run(
        [sys.executable, "-m", "shugu.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"COLUMNS": "200"},
    )
    return "--role" in out.stdout


class Backends:
    """Mosquitto, two ClickHouse shards and PostgreSQL, started in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        reasons = missing_binaries()
        if reasons:
            raise RuntimeError("; ".join(reasons))
        self.workdir = workdir
        self.broker = Broker(workdir / "broker")
        self.shards: list[ClickHouseServer] = []
        self.postgres: RunningPostgres | None = None

    def start(self) -> None:
        try:
            self.broker.start()
            binary = find_server_binary()
            assert binary is not None
            self.shards = started_servers(binary, 2, cluster=CLUSTER)
            bin_dir = find_bin_dir()
            assert bin_dir is not None
            self.postgres = started_postgres(bin_dir)
        except BaseException:
            self.close()
            raise

    def telemetry_url(self, database: str, shard: int = 0) -> str:
        """The store URL a node uses: the cluster's Distributed tables, reached through the
        server of ``shard`` (nodes are spread over both; either answers for every device)."""
        port = self.shards[shard % len(self.shards)].port
        return f"clickhouse://127.0.0.1:{port}/{database}?cluster={CLUSTER}&replicated=0"

    def registry_url(self, prefix: str = "registry") -> str:
        """A new empty PostgreSQL database for a registry."""
        assert self.postgres is not None
        return self.postgres.server.create_database(prefix)

    def close(self) -> None:
        self.broker.close()
        for server in self.shards:
            server.stop(crash=True)  # thrown away: no need to wait for a clean shutdown
            shutil.rmtree(server.root, ignore_errors=True)
        self.shards = []
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None


@dataclass(frozen=True)
class NodeSpec:
    """One ``shugu serve`` process of the cluster."""

    name: str
    role: str
    #: Which ClickHouse server the node talks to (its Distributed tables reach both shards).
    shard: int = 0


def start_node(
    spec: NodeSpec,
    district: District,
    backends: Backends,
    database: str,
    workdir: Path,
    *,
    broker: Broker | None = None,
    log_level: str = "info",
) -> Served:
    """Start ``shugu serve --role spec.role`` on the cluster; ingest and all-in-one nodes consume
    the shared subscription of the backends' broker (or of ``broker``) under their own
    persistent client id."""
    if spec.role not in ROLES:
        raise ValueError(f"unknown role {spec.role!r}; known: {ROLES}")
    consumes = spec.role in ("ingest", "all")
    extra = ["--telemetry-url", backends.telemetry_url(database, spec.shard)]
    if serve_has_roles():
        extra = ["--role", spec.role, *extra]
    elif spec.role != "all":
        raise RuntimeError(
            f"this shugu's serve has no --role option: cannot start a {spec.role} node"
        )
    node = Served(
        district,
        data=workdir / spec.name,
        mqtt=False,
        broker_url=(broker or backends.broker).url if consumes else None,
        broker_client_id=f"shugu-{spec.name}" if consumes else None,
        extra_args=extra,
        log_path=workdir / f"{spec.name}.log",
        log_level=log_level,
    )
    node.start()
    return node


def start_nodes(
    specs: Sequence[NodeSpec],
    district: District,
    backends: Backends,
    database: str,
    workdir: Path,
    into: dict[str, Served],
    *,
    broker: Broker | None = None,
) -> None:
    """Start the first node alone (it migrates the registry and makes the ClickHouse tables),
    then the others at once. Each node joins ``into`` as soon as it is up, so that the caller
    stops every node started even when another failed or the run was interrupted."""

    def launch(spec: NodeSpec) -> None:
        into[spec.name] = start_node(spec, district, backends, database, workdir, broker=broker)

    launch(specs[0])
    with ThreadPoolExecutor(max(1, len(specs) - 1)) as pool:
        futures = [pool.submit(launch, spec) for spec in specs[1:]]
        for future in futures:
            future.result()
