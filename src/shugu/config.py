"""Runtime settings of one shugu process."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("shugu-data"))
    #: SQLAlchemy URL of the registry; default: a SQLite file in the data directory.
    registry_url: str | None = None
    #: ``clickhouse://host:port/database`` of the telemetry store (decision 0048); default: a
    #: DuckDB file in the data directory.
    telemetry_url: str | None = None
    #: Points older than this many days are deleted, and refused on arrival.
    retention_days: int = 365
    #: Points stamped further ahead than this are refused (clock skew allowance).
    max_future_ms: int = 10 * 60 * 1000
    max_payload_bytes: int = MIB
    #: Longest time the writer waits to gather more batches into one durable commit.
    commit_linger_ms: float = 2.0
    #: Memory the telemetry store (DuckDB) may use for its cache, sorts and hash tables.
    store_memory_mib: int = 512
    #: Points waiting to be made durable beyond which senders are slowed or refused
    #: (about 25 bytes each: 2 M points hold some 50 MB).
    max_backlog_points: int = 2_000_000
    #: HTTP ingest requests handled at once; more are refused with 429 before being read.
    max_ingest_requests: int = 32
    #: Long polls of the HTTP device API (``GET /api/v1/{token}/rpc?timeout=`` and
    #: ``.../attributes/updates``): the wait without a timeout, and the longest one granted
    #: (ThingsBoard's defaults).
    device_poll_default_ms: int = 60_000
    device_poll_max_ms: int = 300_000
    #: Host and port of the built-in MQTT endpoint; no port, no endpoint. Port 0 picks one.
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int | None = None
    #: MQTT over TLS: port, and the server's certificate chain and key (PEM files).
    mqtt_tls_port: int | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Open MQTT connections (plain and TLS together) one client address may hold, an IPv6
    #: client by its /64; more are closed at once. 0: no limit. Generous: a factory's devices
    #: often share one NAT address.
    mqtt_max_connections_per_address: int = 1024
    #: External broker to consume from (bridge mode), e.g. mqtt://broker:1883; None: off.
    broker_url: str | None = None
    #: This worker's persistent client id at the broker; unique per worker.
    broker_client_id: str = "shugu-worker"
    #: Failed sign-ins allowed per username, and per client address, within the window;
    #: beyond them sign-in answers 429 until the oldest failure leaves the window.
    login_failures_per_user: int = 5
    login_failures_per_address: int = 20
    login_failure_window_s: float = 15 * 60
    #: The HTTP API is reached over TLS (a terminating proxy in front): session cookies are
    #: marked Secure and responses carry Strict-Transport-Security even on plain-HTTP hops.
    behind_tls: bool = False
    #: Networks (CIDR) notification channels may reach although they are not public: the
    #: company's mail relay on the LAN, say. Loopback, private, link-local and the like are
    #: refused otherwise; cloud metadata addresses always.
    notify_allow_networks: tuple[str, ...] = ()
    #: What this process does in a cluster (``docs/deploy.md``): ``ingest`` (the broker's
    #: shared subscription and the device APIs into the store), ``monitor`` (rules and alarms
    #: for its share of the enterprises), ``api`` (the HTTP API and console), or ``all``.
    role: str = "all"
    #: Processes serving the MQTT endpoint on one node (``--workers``): this one and N−1 front
    #: processes sharing its ports (decision 0056).
    workers: int = 1

    def per_process(self, limit: int) -> int:
        """One process's share of a node-wide limit under ``--workers`` (decision 0056):
        rounded up, at least 1; 0 (no limit) stays 0."""
        if limit <= 0 or self.workers <= 1:
            return limit
        return max(1, -(-limit // self.workers))

    def process_share(self) -> Settings:
        """The settings one process's ingest door works with: under ``--workers`` its share
        of the node's HTTP ingest requests handled at once."""
        return dataclasses.replace(
            self, max_ingest_requests=self.per_process(self.max_ingest_requests)
        )

    @property
    def telemetry_path(self) -> Path:
        return self.data_dir / "telemetry.duckdb"

    def resolved_registry_url(self) -> str:
        if self.registry_url:
            return self.registry_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite').resolve()}"
