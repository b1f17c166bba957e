"""The FastAPI application of one shugu process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator

import duckdb
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from shugu import __version__
from shugu.api import (
    alarm_routes,
    auth_routes,
    command_routes,
    device_routes,
    inspection_routes,
    registry_routes,
    telemetry_routes,
)
from shugu.api.body_limit import BodyLimit
from shugu.api.control import ControlSocket
from shugu.api.docs_pages import install_docs
from shugu.api.errors import install_error_handlers
from shugu.api.login_guard import LoginGuard
from shugu.api.openapi import install_openapi
from shugu.api.security_headers import SecurityHeaders
from shugu.api.services import Services
from shugu.config import Settings
from shugu.domain.errors import ValidationError
from shugu.domain.timeutil import utc_now_ms
from shugu.ingest.attributes import AttributeService
from shugu.ingest.bridge import BrokerBridge
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.mqtt.server import MqttEndpoint
from shugu.ingest.mqtt.tb_app import SessionLimits, ThingsBoardApp
from shugu.ingest.pipeline import IngestPipeline
from shugu.ingest.poll_sweep import PollSweep
from shugu.ingest.rpc import RpcHub
from shugu.monitor.notify.dispatcher import Notifier
from shugu.monitor.notify.targets import Resolver, TargetGuard, parse_networks, system_resolver
from shugu.monitor.round_service import RoundService
from shugu.monitor.service import Monitor
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry

log = logging.getLogger(__name__)

_RETENTION_SWEEP_S = 3600.0
#: Room for an MQTT packet's topic and headers on top of the payload limit.
MQTT_HEADER_ALLOWANCE = 64 * 1024
#: Unacknowledged QoS 1/2 messages one MQTT connection may have in flight before it is paused.
MQTT_MAX_INFLIGHT = 1000


def open_services(
    settings: Settings, registry: Registry | None = None, *, resolver: Resolver | None = None
) -> Services:
    """Open the stores under ``settings``; a registry opened by the caller may be handed in, and
    a name resolver for notification targets (tests answer names without DNS)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    registry = registry or Registry(settings.resolved_registry_url())
    store = DuckDBTelemetryStore(
        settings.telemetry_path,
        commit_linger_ms=settings.commit_linger_ms,
        max_backlog_rows=settings.max_backlog_points,
        memory_limit_mib=settings.store_memory_mib,
    )
    pipeline = IngestPipeline(store, settings)
    rpc = RpcHub()
    attributes = AttributeService(pipeline, store)
    mqtt = None
    if settings.mqtt_port is not None or settings.mqtt_tls_port is not None:
        limits = SessionLimits(settings.max_payload_bytes, MQTT_MAX_INFLIGHT)
        mqtt = MqttEndpoint(
            ThingsBoardApp(registry, pipeline, store, rpc, limits, attributes),
            max_packet_bytes=settings.max_payload_bytes + MQTT_HEADER_ALLOWANCE,
            max_inflight=MQTT_MAX_INFLIGHT,
            congested=lambda: pipeline.congested,
            revalidate=registry.device_ids_for_tokens,
            max_connections_per_address=settings.mqtt_max_connections_per_address,
        )
    device_cache = DeviceCache(registry)
    bridge = None
    if settings.broker_url:
        bridge = BrokerBridge(
            settings.broker_url, settings.broker_client_id, registry, pipeline, device_cache
        )
    guard = TargetGuard(
        parse_networks(settings.notify_allow_networks), resolver=resolver or system_resolver
    )
    notifier = Notifier(guard=guard)
    monitor = Monitor(registry, store, notify=notifier.submit)
    store.add_listener(monitor.on_batch)
    return Services(
        settings=settings,
        registry=registry,
        store=store,
        pipeline=pipeline,
        device_cache=device_cache,
        rpc=rpc,
        attributes=attributes,
        monitor=monitor,
        rounds=RoundService(registry, store, monitor),
        notifier=notifier,
        mqtt=mqtt,
        bridge=bridge,
    )


def tls_context(settings: Settings) -> ssl.SSLContext:
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValidationError(
            "MQTT over TLS needs --tls-cert and --tls-key (PEM files)", code="tls_files_missing"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


async def _retention_sweeper(services: Services) -> None:
    while True:
        cutoff = utc_now_ms() - services.settings.retention_days * 86_400_000
        try:
            removed = await asyncio.to_thread(services.store.purge_before, cutoff)
        except duckdb.Error as exc:
            log.error("retention sweep failed, will retry in an hour: %s", exc)
            removed = 0
        if removed:
            log.info(
                "retention removed %d points older than %d days",
                removed,
                services.settings.retention_days,
            )
        await asyncio.sleep(_RETENTION_SWEEP_S)


def create_app(
    settings: Settings, services: Services | None = None, control: ControlSocket | None = None
) -> FastAPI:
    """The application; with ``control``, it also publishes the control socket of its data
    directory for `shugu admin` while it runs (shugu serve does)."""
    owned = services is None
    services = services or open_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_retention_sweeper(services))
        # Long polls re-check their tokens, as MQTT sessions do (revocations made elsewhere).
        poll_sweep = PollSweep(
            services.registry.device_ids_for_tokens, (services.rpc, services.attributes)
        )
        polls = asyncio.create_task(poll_sweep.run())
        await services.notifier.start()
        services.monitor.start()
        schedule = asyncio.create_task(services.rounds.schedule())
        if services.mqtt is not None and settings.mqtt_port is not None:
            services.mqtt_port = await services.mqtt.start(settings.mqtt_host, settings.mqtt_port)
        if services.mqtt is not None and settings.mqtt_tls_port is not None:
            services.mqtt_tls_port = await services.mqtt.start(
                settings.mqtt_host, settings.mqtt_tls_port, tls_context(settings)
            )
        if services.bridge is not None:
            services.bridge.start()
        if control is not None:
            await control.start(services)
        try:
            yield
        finally:
            if control is not None:
                await control.stop()
            sweeper.cancel()
            polls.cancel()
            schedule.cancel()
            await asyncio.to_thread(services.monitor.stop)
            await services.notifier.aclose()
            if services.bridge is not None:
                await asyncio.to_thread(services.bridge.stop)
            if services.mqtt is not None:
                await services.mqtt.stop()
            if owned:
                await asyncio.to_thread(services.close)

    app = FastAPI(
        title="shugu 数谷",
        version=__version__,
        description="Open industrial-internet platform: devices, telemetry, registry.",
        lifespan=lifespan,
        # The documentation pages are shugu's own, with their scripts served from the package.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.add_middleware(BodyLimit, limit=settings.max_payload_bytes)
    # Added last, so outermost: refusals of the middlewares inside it get the headers too.
    app.add_middleware(SecurityHeaders, behind_tls=settings.behind_tls)
    app.state.login_guard = LoginGuard.from_settings(settings)
    for module in (
        auth_routes,
        registry_routes,
        device_routes,
        telemetry_routes,
        command_routes,
        alarm_routes,
        inspection_routes,
    ):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/api/health", tags=["platform"])
    def health() -> dict[str, object]:
        return {
            "status": "ok" if services.store.writer_alive else "degraded",
            "writer_alive": services.store.writer_alive,
            "version": __version__,
            "queued_jobs": services.store.queued_jobs,
            "backlog_points": services.store.backlog_rows,
            "max_backlog_points": services.store.max_backlog_rows,
            "overload_refusals": services.store.overload_refusals,
            "busy_refusals": services.pipeline.busy_refusals,
            "mqtt_port": services.mqtt_port,
            "mqtt_tls_port": services.mqtt_tls_port,
            "mqtt_connections": len(services.mqtt.connections) if services.mqtt else 0,
            "mqtt_refused_over_address_limit": services.mqtt.refused_over_cap
            if services.mqtt
            else 0,
            "broker_connected": services.bridge.connected if services.bridge else None,
            "monitor_pending_rows": services.monitor.stats().pending_rows,
        }

    return app
