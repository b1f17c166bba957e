"""A private ClickHouse server on free ports, its own config in a temp dir: the tests' server
(``tests/clickhouse.py``) and ``shugu bench clickhouse``'s when no URL is given.

Debian's ``clickhouse-server`` (18.16) provides the binary.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_BINARIES = ("clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")

CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{root}/server.log</log>
        <errorlog>{root}/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{tcp}</tcp_port>
    <http_port>{http}</http_port>
    <interserver_http_port>{interserver}</interserver_http_port>
    <path>{root}/data/</path>
    <tmp_path>{root}/tmp/</tmp_path>
    <user_files_path>{root}/user_files/</user_files_path>
    <format_schema_path>{root}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>0</uncompressed_cache_size>
    <max_concurrent_queries>64</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
    <remote_servers>{remote_servers}</remote_servers>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
"""


def find_server_binary() -> str | None:
    for name in _BINARIES:
        path = shutil.which(name) or (name if os.path.isfile(name) else None)
        if path:
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ClickHouseServer:
    """One private server process; ``stop`` and ``start`` again keep its data (the same port)."""

    binary: str
    root: Path
    port: int = 0
    #: The ``<remote_servers>`` clusters this server knows (XML), for Distributed tables.
    remote_servers: str = ""
    process: subprocess.Popen[bytes] | None = None
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str | None = None) -> str:
        """The URL of a database not used before in this server (or of ``database``)."""
        name = database or f"t_{os.getpid()}_{next(self._counter)}"
        return f"clickhouse://127.0.0.1:{self.port}/{name}"

    def start(self, timeout_s: float = 30.0) -> None:
        if not (self.root / "config.xml").exists():
            self.port = self.port or _free_port()
            (self.root / "config.xml").write_text(
                CONFIG.format(
                    root=self.root,
                    tcp=self.port,
                    http=_free_port(),
                    interserver=_free_port(),
                    remote_servers=self.remote_servers,
                )
            )
            (self.root / "users.xml").write_text(USERS)
        self.process = subprocess.Popen(
            [self.binary, f"--config-file={self.root / 'config.xml'}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.root,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"clickhouse-server exited: {self._log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"clickhouse-server did not listen in {timeout_s} s: {self._log_tail()}")

    def stop(self, *, crash: bool = False) -> None:
        """Shut the server down, or with ``crash`` kill it at once (no flush, no goodbye)."""
        if self.process is None:
            return
        if crash:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _log_tail(self) -> str:
        log = self.root / "server.err.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def started_server(binary: str) -> ClickHouseServer:
    """A new server on free ports, retried when a port was taken between choice and bind."""
    return started_servers(binary, 1)[0]


def cluster_xml(name: str, ports: list[int]) -> str:
    """A cluster of one single-replica shard per server port, all on this machine."""
    shards = "".join(
        f"<shard><replica><host>127.0.0.1</host><port>{port}</port></replica></shard>"
        for port in ports
    )
    return f"<{name}>{shards}</{name}>"


def started_servers(binary: str, count: int, cluster: str | None = None) -> list[ClickHouseServer]:
    """``count`` new servers on free ports; with ``cluster``, each knows a cluster of that name
    whose shards are these servers. Retried when a port was taken before the server bound it."""
    for attempt in range(3):
        servers = [
            ClickHouseServer(binary, Path(tempfile.mkdtemp(prefix="shugu-ch-")), _free_port())
            for _ in range(count)
        ]
        remote = cluster_xml(cluster, [s.port for s in servers]) if cluster else ""
        try:
            for server in servers:
                server.remote_servers = remote
                server.start()
            return servers
        except RuntimeError:
            for server in servers:
                server.stop()
                shutil.rmtree(server.root, ignore_errors=True)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
