"""The FastAPI application of one shugu process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI

from shugu import __version__
from shugu.api import (
    alarm_routes,
    auth_routes,
    calendar_routes,
    capacity_routes,
    command_routes,
    device_routes,
    energy_routes,
    incident_routes,
    inspection_routes,
    kpi_routes,
    region_appeals_routes,
    region_files_exports,
    region_files_routes,
    region_indicators_routes,
    region_operation_routes,
    region_particulars_routes,
    region_policies_routes,
    region_projects_routes,
    registry_routes,
    telemetry_routes,
)
from shugu.api.body_limit import BodyLimit
from shugu.api.control import ControlSocket
from shugu.api.docs_pages import install_docs
from shugu.api.errors import install_error_handlers
from shugu.api.front_app import FrontClientAddress
from shugu.api.login_guard import LoginGuard
from shugu.api.openapi import install_openapi
from shugu.api.security_headers import SecurityHeaders
from shugu.api.services import Services
from shugu.config import Settings
from shugu.runtime import Runtime, open_services
from shugu.web.console import install_console


def create_app(
    settings: Settings,
    services: Services | None = None,
    control: ControlSocket | None = None,
    *,
    runtime: Runtime | None = None,
) -> FastAPI:
    """The application over ``runtime`` (started and stopped by the app's lifespan), or over one
    built here: on ``services`` (kept open at the end) or its own, with ``control`` publishing
    the control socket of its data directory for `shugu admin` while it runs."""
    if runtime is None:
        runtime = Runtime(
            services or open_services(settings),
            owned=services is None,
            attachments=(control,) if control is not None else (),
        )
    services = runtime.services

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

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
    app.state.runtime = runtime
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.add_middleware(BodyLimit, limit=settings.max_payload_bytes)
    # Added last, so outermost: refusals of the middlewares inside it get the headers too.
    app.add_middleware(SecurityHeaders, behind_tls=settings.behind_tls)
    # Outermost of all: a request a front passed on is seen as its client's everywhere inside.
    app.add_middleware(FrontClientAddress)
    app.state.login_guard = LoginGuard.from_settings(settings)
    for module in (
        auth_routes,
        registry_routes,
        device_routes,
        telemetry_routes,
        command_routes,
        alarm_routes,
        incident_routes,
        inspection_routes,
        calendar_routes,
        capacity_routes,
        kpi_routes,
        energy_routes,
        region_indicators_routes,
        region_projects_routes,
        region_appeals_routes,
        region_files_routes,
        region_files_exports,
        region_particulars_routes,
        region_policies_routes,
        region_operation_routes,
    ):
        app.include_router(module.router)

    # The console's pages, after the API's routes and error handlers, which it extends.
    install_console(app, services)

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
            "busy_refusals": services.door.busy_refusals,
            "mqtt_port": services.mqtt_port,
            "mqtt_tls_port": services.mqtt_tls_port,
            "mqtt_connections": len(services.mqtt.connections) if services.mqtt else 0,
            "mqtt_refused_over_address_limit": services.mqtt.refused_over_cap
            if services.mqtt
            else 0,
            "broker_connected": services.bridge.connected if services.bridge else None,
            "monitor_pending_rows": services.monitor.stats().pending_rows,
            "console_live_streams": app.state.live_hub.open_streams,
            **cluster_health(services),
            **workers_health(services),
        }

    return app


def workers_health(services: Services) -> dict[str, object]:
    """With ``--workers N``: every process's counters, and the node's MQTT connections and
    refusals over the per-address limit summed (they then count the fronts' too)."""
    if services.fronts is None:
        return {}
    mqtt = services.mqtt
    own = {
        "worker": 0,
        "pid": os.getpid(),
        "mqtt_connections": len(mqtt.connections) if mqtt else 0,
        "mqtt_refused_over_address_limit": mqtt.refused_over_cap if mqtt else 0,
        "points_accepted": sum(f.accepted_total for f in services.door.meter.figures().values()),
        "store_failures": services.door.store_failures,
        "held_for_room": services.door.held_for_room,
    }
    fronts = services.fronts.stats()
    per_worker = [own, *({"worker": i + 1, **f} for i, f in enumerate(fronts))]
    return {
        "workers": per_worker,
        "workers_started": 1 + (services.supervisor.count if services.supervisor else 0),
        "mqtt_connections": sum(int(str(w.get("mqtt_connections", 0))) for w in per_worker),
        "mqtt_refused_over_address_limit": sum(
            int(str(w.get("mqtt_refused_over_address_limit", 0))) for w in per_worker
        ),
    }


def cluster_health(services: Services) -> dict[str, object]:
    """What a process of a cluster adds: its role and member id; an ingest worker its node
    number's last confirmed sequence; a monitor worker its share and what it has read."""
    extra: dict[str, object] = {"role": services.role, "member_id": services.member_id}
    if services.beat is not None:
        extra["confirmed_seq"] = services.store.committed_seq
    if services.feed is not None:
        stats = services.feed.stats()
        extra["feed"] = {
            "workers": stats.members,
            "enterprises": stats.enterprises,
            "devices": stats.devices,
            "points_read": stats.read_rows,
            "points_replayed": stats.warm_rows,
        }
    return extra
