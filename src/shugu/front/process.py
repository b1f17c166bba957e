"""A front process of ``shugu serve --workers N``: the MQTT endpoint (and, given an HTTP
starter, the HTTP ingest routes) on the main process's ports, with the points going to main's
store over the front channel.

A front decodes, authenticates (reading the registry itself) and validates through the one
ingest door (`ingest/door.py`), as main does; only the store differs (`channel_store.py`). A
PUBACK leaves once main has committed the batch. When main revokes a device's credentials, the
front forgets its cached lookups and closes the device's connections. When the channel ends
(main stopped or died) the front stops listening and exits: nothing it accepts afterwards could
be stored.

Started by main (`front/supervisor.py`) as ``python -m shugu.cli_front ARGUMENT``, which adds
the HTTP application (`api/front_app.py`; this room does not import the API).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from shugu.config import Settings
from shugu.front import wire
from shugu.front.channel_store import ChannelStore
from shugu.front.routes import FrontAttributes, FrontRpc, push_from_main
from shugu.front.sessions import FrontSessions
from shugu.ingest.attributes import AttributeService
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.device_credentials import revoke_device_access
from shugu.ingest.door import IngestDoor
from shugu.ingest.mqtt.server import MqttEndpoint
from shugu.ingest.mqtt.tb_app import SessionLimits, ThingsBoardApp
from shugu.ingest.mqtt.tls import tls_context
from shugu.ingest.rpc import RpcHub
from shugu.store.registry import Registry

log = logging.getLogger(__name__)

#: Same bounds as main's endpoint (runtime.py).
MQTT_HEADER_ALLOWANCE = 64 * 1024
MQTT_MAX_INFLIGHT = 1000

_PATH_FIELDS = ("data_dir", "tls_cert", "tls_key")


def front_argument(settings: Settings, http: dict[str, Any] | None, **overrides: Any) -> str:
    """What a front runs with, as one command-line argument: the settings (with ``overrides``,
    such as the ports main bound) and the HTTP listener's (None: no HTTP)."""
    values = dataclasses.asdict(settings) | overrides
    return orjson.dumps({"settings": values, "http": http}, default=str).decode()


def parse_front_argument(text: str) -> tuple[Settings, dict[str, Any] | None]:
    given = orjson.loads(text)
    values = given["settings"]
    for name in _PATH_FIELDS:
        if values.get(name) is not None:
            values[name] = Path(values[name])
    values["notify_allow_networks"] = tuple(values.get("notify_allow_networks", ()))
    return Settings(**values), given.get("http")


@dataclass
class FrontParts:
    """What a front holds: a device's access (for ``revoke_device_access``) and what the HTTP
    ingest routes need (``api.device_routes.DeviceIngest``)."""

    settings: Settings
    registry: Registry
    door: IngestDoor
    device_cache: DeviceCache
    rpc: RpcHub
    attributes: AttributeService
    mqtt: MqttEndpoint | None
    fronts: None = None
    #: HTTP requests passed on to main.
    passed_to_main: int = 0


#: Starts a front's HTTP listener over its parts; returns how to stop it.
HttpStarter = Callable[[FrontParts], Awaitable[Callable[[], Awaitable[None]]]]


async def run_front(settings: Settings, http: HttpStarter | None = None) -> int:
    registry = Registry(settings.resolved_registry_url())
    store = ChannelStore(settings.data_dir, settings.workers)
    try:
        await store.connect()
    except (OSError, ConnectionError) as exc:
        log.error("front %d: cannot reach the main process's channel: %s", os.getpid(), exc)
        registry.close()
        return 2
    door = IngestDoor(store, settings.process_share())
    # Requests come from main's hub, answers go back to it (front/routes.py).
    rpc = FrontRpc(store.send)
    attributes = FrontAttributes(door, store, store.ask)
    store.on_rpc = rpc.deliver_from_main
    store.on_push = lambda payload: push_from_main(attributes, payload)
    device_cache = DeviceCache(registry)
    limits = SessionLimits(settings.max_payload_bytes, MQTT_MAX_INFLIGHT)
    mqtt = MqttEndpoint(
        ThingsBoardApp(registry, door, store, rpc, limits, attributes, device_cache),
        max_packet_bytes=settings.max_payload_bytes + MQTT_HEADER_ALLOWANCE,
        max_inflight=MQTT_MAX_INFLIGHT,
        congested=lambda: door.congested,
        revalidate=registry.device_ids_for_tokens,
        max_connections_per_address=settings.per_process(settings.mqtt_max_connections_per_address),
    )
    # Persistent sessions are kept by main, so a client finds its own on any process.
    mqtt.session_home = FrontSessions(store.ask, store.send)
    holders = FrontParts(settings, registry, door, device_cache, rpc, attributes, mqtt)

    def revoke(device_id: int, reason: str) -> int:
        # Main's registry forgot the old token; this process's copy of the lookups must too.
        registry.clear_caches()
        return revoke_device_access(holders, device_id, reason)

    def stats() -> dict[str, Any]:
        figures = door.meter.figures()
        return {
            "pid": os.getpid(),
            "mqtt_connections": len(mqtt.connections),
            "mqtt_refused_over_address_limit": mqtt.refused_over_cap,
            "busy_refusals": door.busy_refusals,
            "overload_refusals": store.refusals,
            "points_accepted": sum(f.accepted_total for f in figures.values()),
            "points_refused": sum(f.refused_total for f in figures.values()),
            "store_failures": door.store_failures,
            "held_for_room": door.held_for_room,
            "rows_in_flight": store.rows_in_flight,
            "http_passed_to_main": holders.passed_to_main,
        }

    store.on_revoke = revoke
    # MQTT takeover across processes: main hears of every session taken here, and tells this
    # front to close a client's connection when the client connected again elsewhere.
    mqtt.on_session_taken = lambda device_id, client_id: store.send(
        wire.TAKEN, 0, wire.for_device(device_id, client_id.encode())
    )
    store.on_taken = mqtt.close_holder
    store.stats = stats
    if settings.mqtt_port is not None:
        await mqtt.start(settings.mqtt_host, settings.mqtt_port, shared=True)
    if settings.mqtt_tls_port is not None:
        await mqtt.start(
            settings.mqtt_host, settings.mqtt_tls_port, tls_context(settings), shared=True
        )
    stop_http = await http(holders) if http is not None else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ended = asyncio.create_task(store.closed.wait())
    asked = asyncio.create_task(stop.wait())
    await asyncio.wait({ended, asked}, return_when=asyncio.FIRST_COMPLETED)
    if store.closed.is_set() and not stop.is_set():
        log.warning("front %d: the main process is gone; stopping", os.getpid())
    # MQTT first: closing its listeners at once lets a restarted main bind the port sooner.
    await mqtt.stop()
    if stop_http is not None:
        await stop_http()
    # Points already sent are answered (or failed) by main before the channel closes.
    door.refusals.flush()
    await store.close()
    for task in (ended, asked):
        task.cancel()
    registry.close()
    return 0
