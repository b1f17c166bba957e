"""The running process: the services one shugu process holds, built from its settings, and the
start and stop of everything that runs in the background (MQTT endpoint, broker bridge, monitor,
notifier, inspection schedule, retention, long-poll sweep, control socket).

The API and the pages only use what runs here; they never start or stop anything themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import duckdb

from shugu.analytics.closed_hours import ClosedHours
from shugu.analytics.service import Analytics, open_analytics
from shugu.config import Settings
from shugu.domain.errors import ShuguError, ValidationError
from shugu.domain.timeutil import utc_now_ms
from shugu.ingest.attributes import AttributeService
from shugu.ingest.beat import IngestBeat
from shugu.ingest.bridge import BrokerBridge
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.door import IngestDoor
from shugu.ingest.mqtt.server import MqttEndpoint
from shugu.ingest.mqtt.tb_app import SessionLimits, ThingsBoardApp
from shugu.ingest.mqtt.tls import tls_context
from shugu.ingest.poll_sweep import PollSweep
from shugu.ingest.rpc import RpcHub
from shugu.monitor.feed import ClusterFeed
from shugu.monitor.notify.dispatcher import Notifier
from shugu.monitor.notify.targets import Resolver, TargetGuard, parse_networks, system_resolver
from shugu.monitor.round_service import RoundService
from shugu.monitor.service import Monitor
from shugu.region.service import RegionServices, open_region
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry
from shugu.store.registry.cluster import ROLES

if TYPE_CHECKING:
    from shugu.front.hub import FrontHub
    from shugu.front.supervisor import FrontSupervisor
    from shugu.store.clickhouse_store import ClickHouseTelemetryStore

log = logging.getLogger(__name__)

RETENTION_SWEEP_S = 3600.0
#: Room for an MQTT packet's topic and headers on top of the payload limit.
MQTT_HEADER_ALLOWANCE = 64 * 1024
#: Unacknowledged QoS 1/2 messages one MQTT connection may have in flight before it is paused.
MQTT_MAX_INFLIGHT = 1000


@dataclass(slots=True)
class Services:
    """The long-lived services one shugu process holds, shared by all routes."""

    settings: Settings
    registry: Registry
    store: DuckDBTelemetryStore | ClickHouseTelemetryStore
    #: The ingest door (`ingest/door.py`) every transport hands its decoded points to.
    door: IngestDoor
    device_cache: DeviceCache
    rpc: RpcHub
    #: Client and shared attributes, and the pushes of shared ones to devices.
    attributes: AttributeService
    monitor: Monitor
    rounds: RoundService
    notifier: Notifier
    #: KPIs: the fact engine fed by the store, the KPI, energy and calendar services.
    analytics: Analytics
    #: The bureau's system: enterprise files, monthly operation, projects, policies, targets.
    region: RegionServices
    mqtt: MqttEndpoint | None = None
    bridge: BrokerBridge | None = None
    #: The port the MQTT endpoint listens on, once started.
    mqtt_port: int | None = None
    mqtt_tls_port: int | None = None
    #: In a cluster: this process's member id, its ingest heartbeat, its monitor feed.
    member_id: str = ""
    beat: IngestBeat | None = None
    feed: ClusterFeed | None = None
    #: With ``--workers N``: the channel the front processes store through, and the fronts.
    fronts: FrontHub | None = None
    supervisor: FrontSupervisor | None = None

    @property
    def role(self) -> str:
        return self.settings.role

    def does(self, *roles: str) -> bool:
        """Whether this process plays one of ``roles`` (every role when it plays ``all``)."""
        return self.settings.role == "all" or self.settings.role in roles

    def drain_store(self) -> None:
        """Wait for what the store has queued (so that listeners have seen it); a store that
        cannot write any more is not waited for."""
        try:
            self.store.flush()
        except (ShuguError, TimeoutError) as exc:
            log.warning("the telemetry store did not drain before stopping: %s", exc)

    def close(self) -> None:
        self.monitor.stop()
        # Tallied refusals are written before the store's writer stops.
        self.door.refusals.flush()
        self.drain_store()
        self.analytics.stop()
        self.store.close()
        self.analytics.close()
        self.registry.close()


def open_telemetry_store(
    settings: Settings, registry: Registry | None = None, node: int = 0
) -> DuckDBTelemetryStore | ClickHouseTelemetryStore:
    """The telemetry store ``settings`` name: ClickHouse at ``telemetry_url``, else the DuckDB
    file in the data directory. On ClickHouse, ``node`` is this ingest node's number, the
    registry numbers metric names for every node, and the nodes that read roll-ups roll hours
    into cells."""
    if settings.telemetry_url:
        # Imported here: the embedded default never loads the ClickHouse driver.
        from shugu.store.clickhouse_cells import EVERY_S
        from shugu.store.clickhouse_store import ClickHouseTelemetryStore

        return ClickHouseTelemetryStore(
            settings.telemetry_url,
            commit_linger_ms=settings.commit_linger_ms,
            max_backlog_rows=settings.max_backlog_points,
            node=node,
            numberer=registry.number_metrics if registry is not None else None,
            # The nodes that answer roll-ups roll the hours into cells; ingest and monitor
            # workers leave it to them (any number of rollers is harmless, but each costs).
            roll_every_s=EVERY_S if settings.role in ("api", "all") else None,
        )
    return DuckDBTelemetryStore(
        settings.telemetry_path,
        commit_linger_ms=settings.commit_linger_ms,
        max_backlog_rows=settings.max_backlog_points,
        memory_limit_mib=settings.store_memory_mib,
    )


def open_services(
    settings: Settings, registry: Registry | None = None, *, resolver: Resolver | None = None
) -> Services:
    """Open the stores under ``settings``; a registry opened by the caller may be handed in, and
    a name resolver for notification targets (tests answer names without DNS)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.role not in ROLES:
        raise ValidationError(
            f"no role {settings.role!r}; one of {', '.join(ROLES)}", code="unknown_role"
        )
    if settings.role != "all" and not settings.telemetry_url:
        raise ValidationError(
            f"a process of role {settings.role} shares the cluster's points in ClickHouse: "
            "give --telemetry-url clickhouse://…",
            code="cluster_needs_clickhouse",
        )
    registry = registry or Registry(settings.resolved_registry_url())
    member_id = f"{settings.role}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    beat = None
    node = 0
    if settings.role == "ingest":
        beat = IngestBeat(member_id, registry, lambda: store.committed_seq)
        node = beat.join()
    store = open_telemetry_store(settings, registry, node)
    door = IngestDoor(store, settings.process_share())
    rpc = RpcHub()
    attributes = AttributeService(door, store)
    device_cache = DeviceCache(registry)
    guard = TargetGuard(
        parse_networks(settings.notify_allow_networks), resolver=resolver or system_resolver
    )
    notifier = Notifier(guard=guard)
    # Only a process that evaluates points keeps what detectors learn (an API node does not).
    keep_states = settings.role in ("all", "monitor")
    monitor = Monitor(registry, store, notify=notifier.submit, keep_states=keep_states)
    feed = None
    if settings.role == "all":
        store.add_listener(monitor.on_batch)
    elif settings.role == "monitor":
        from shugu.store.clickhouse_store import ClickHouseTelemetryStore

        assert isinstance(store, ClickHouseTelemetryStore)
        feed = ClusterFeed(member_id, registry, store, monitor)
    else:
        # Changes made here (rules, devices, alarms acknowledged) reach the monitor workers.
        monitor.on_configured = lambda: registry.bump_signal("monitor")
        monitor.book.add_change_listener(lambda _enterprise: registry.bump_signal("monitor"))
    mqtt = None
    serves_devices = settings.role in ("all", "ingest")
    if serves_devices and (settings.mqtt_port is not None or settings.mqtt_tls_port is not None):
        limits = SessionLimits(settings.max_payload_bytes, MQTT_MAX_INFLIGHT)
        mqtt = MqttEndpoint(
            ThingsBoardApp(
                registry,
                door,
                store,
                rpc,
                limits,
                attributes,
                device_cache,
                # A device seen behind another gateway regroups incidents on the next turn.
                carriage_changed=monitor.reload,
            ),
            max_packet_bytes=settings.max_payload_bytes + MQTT_HEADER_ALLOWANCE,
            max_inflight=MQTT_MAX_INFLIGHT,
            congested=lambda: door.congested,
            revalidate=registry.device_ids_for_tokens,
            max_connections_per_address=settings.per_process(
                settings.mqtt_max_connections_per_address
            ),
        )
    bridge = None
    if settings.broker_url and serves_devices:
        bridge = BrokerBridge(
            settings.broker_url, settings.broker_client_id, registry, door, device_cache
        )
    analytics = open_analytics(registry, store, settings.data_dir / "analytics.duckdb")
    return Services(
        settings=settings,
        registry=registry,
        store=store,
        door=door,
        device_cache=device_cache,
        rpc=rpc,
        attributes=attributes,
        monitor=monitor,
        rounds=RoundService(registry, store, monitor),
        notifier=notifier,
        analytics=analytics,
        region=open_region(registry, store, analytics),
        mqtt=mqtt,
        bridge=bridge,
        member_id=member_id,
        beat=beat,
        feed=feed,
    )


async def sweep_retention(services: Services) -> None:
    """Remove points older than the retention period, now and every hour."""
    while True:
        cutoff = utc_now_ms() - services.settings.retention_days * 86_400_000
        try:
            removed = await asyncio.to_thread(services.store.purge_before, cutoff)
        except (duckdb.Error, ShuguError) as exc:
            log.error("retention sweep failed, will retry in an hour: %s", exc)
            removed = 0
        if removed:
            log.info(
                "retention removed %d points older than %d days",
                removed,
                services.settings.retention_days,
            )
        await asyncio.sleep(RETENTION_SWEEP_S)


class Attachment(Protocol):
    """Something that runs beside the services and needs them once started (the control socket
    of `shugu admin`, defined by the API that answers its commands)."""

    async def start(self, services: Services) -> None: ...

    async def stop(self) -> None: ...


@contextlib.contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """While serving, keep what the process built to start (modules, profiles, open stores)
    out of the garbage collector's full passes.

    Those objects live as long as the process, yet every full pass walked all of them: with
    MQTT devices publishing, full passes came several times a second and took a quarter of the
    event loop's time (docs/benchmarks.md, 2026-12-06). Objects made later are collected as
    before; frozen ones are still freed by reference counting, and are thawed at the end so
    that the collection at exit frees the rest (native extensions report what it does not).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class Runtime:
    """Starts and stops everything that runs in the background of one process, in order; with
    ``owned``, stopping also closes the services (their stores and registry)."""

    services: Services
    owned: bool = False
    attachments: Sequence[Attachment] = ()
    #: With ``--workers N``: the HTTP listener the fronts share (host, port, limits), or None
    #: when they serve MQTT only.
    front_http: dict[str, object] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    @classmethod
    def open(cls, settings: Settings, *, attachments: Sequence[Attachment] = ()) -> Runtime:
        """A runtime over services of its own, opened from ``settings``."""
        return cls(open_services(settings), owned=True, attachments=attachments)

    async def start(self) -> None:
        services = self.services
        settings = services.settings
        if services.does("api"):
            # One kind of process sweeps retention: the store is shared in a cluster.
            self._tasks.append(asyncio.create_task(sweep_retention(services)))
        # Long polls re-check their tokens, as MQTT sessions do (revocations made elsewhere).
        poll_sweep = PollSweep(
            services.registry.device_ids_for_tokens, (services.rpc, services.attributes)
        )
        self._tasks.append(asyncio.create_task(poll_sweep.run()))
        if services.does("monitor", "api"):
            # An API node's acknowledgements and clears send their notices, too.
            await services.notifier.start()
        if services.does("monitor"):
            services.monitor.start()
            if services.feed is not None:
                services.feed.start()
        if services.does("api"):
            services.analytics.start()
            services.region.start()
        if settings.role == "api":
            # No batch reaches an API node: its facts come from each hour once it has closed.
            hours = ClosedHours(services.analytics.engine)
            self._tasks.append(asyncio.create_task(hours.run()))
        if settings.role == "all":
            # Inspection rounds read every device: one process runs them.
            self._tasks.append(asyncio.create_task(services.rounds.schedule()))
        if services.beat is not None:
            services.beat.start()
        shared = settings.workers > 1
        if shared:
            await self._open_front_channel()
        if services.mqtt is not None and settings.mqtt_port is not None:
            services.mqtt_port = await services.mqtt.start(
                settings.mqtt_host, settings.mqtt_port, shared=shared
            )
        if services.mqtt is not None and settings.mqtt_tls_port is not None:
            services.mqtt_tls_port = await services.mqtt.start(
                settings.mqtt_host, settings.mqtt_tls_port, tls_context(settings), shared=shared
            )
        if services.supervisor is not None:
            services.supervisor.start(services.mqtt_port, services.mqtt_tls_port)
        if services.bridge is not None:
            services.bridge.start()
        for attachment in self.attachments:
            await attachment.start(services)

    async def _open_front_channel(self) -> None:
        """The channel the fronts store through, and the fronts' supervisor (started once the
        ports are bound: a port given as 0 is then the same for every process)."""
        from shugu.front.hub import FrontHub
        from shugu.front.routes import MainRoutes
        from shugu.front.sessions import MainHome
        from shugu.front.supervisor import FrontSupervisor

        services = self.services
        settings = services.settings
        routes = MainRoutes(services.rpc, services.attributes)
        services.fronts = FrontHub(services.store, settings.data_dir, routes)
        if services.mqtt is not None:
            hub = services.fronts
            services.mqtt.on_session_taken = lambda device, client: hub.session_taken(
                None, device, client
            )
            hub.close_local = services.mqtt.close_holder
            # Main keeps every process's persistent sessions, in its own endpoint's store.
            hub.sessions.kept = services.mqtt.sessions
            services.mqtt.session_home = MainHome(
                hub.sessions, lambda device, client: hub.session_taken(None, device, client)
            )
        await services.fronts.start()
        services.supervisor = FrontSupervisor(settings, settings.workers - 1, self.front_http)

    async def stop(self) -> None:
        services = self.services
        if services.supervisor is not None:
            # First: a front's last batches are still answered while the channel is open.
            await services.supervisor.stop()
        if services.fronts is not None:
            await services.fronts.stop()
        for attachment in reversed(self.attachments):
            await attachment.stop()
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        if services.feed is not None:
            await asyncio.to_thread(services.feed.stop)
        await asyncio.to_thread(services.monitor.stop)
        await asyncio.to_thread(services.region.stop)
        await services.notifier.aclose()
        if services.bridge is not None:
            await asyncio.to_thread(services.bridge.stop)
        if services.mqtt is not None:
            await services.mqtt.stop()
        # After ingest has stopped: the last batches reach the facts before the clean stop.
        await asyncio.to_thread(services.drain_store)
        if services.beat is not None:
            await asyncio.to_thread(services.beat.stop)
        await asyncio.to_thread(services.analytics.stop)
        if self.owned:
            await asyncio.to_thread(services.close)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Services]:
        """Started for the duration of the block, stopped after it, however it ends."""
        await self.start()
        try:
            yield self.services
        finally:
            await self.stop()
