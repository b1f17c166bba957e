"""The long-lived services one shugu process holds, shared by all routes."""

from __future__ import annotations

from dataclasses import dataclass

from shugu.config import Settings
from shugu.ingest.attributes import AttributeService
from shugu.ingest.bridge import BrokerBridge
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.mqtt.server import MqttEndpoint
from shugu.ingest.pipeline import IngestPipeline
from shugu.ingest.rpc import RpcHub
from shugu.monitor.notify.dispatcher import Notifier
from shugu.monitor.round_service import RoundService
from shugu.monitor.service import Monitor
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry


@dataclass(slots=True)
class Services:
    settings: Settings
    registry: Registry
    store: DuckDBTelemetryStore
    pipeline: IngestPipeline
    device_cache: DeviceCache
    rpc: RpcHub
    #: Client and shared attributes, and the pushes of shared ones to devices.
    attributes: AttributeService
    monitor: Monitor
    rounds: RoundService
    notifier: Notifier
    mqtt: MqttEndpoint | None = None
    bridge: BrokerBridge | None = None
    #: The port the MQTT endpoint listens on, once started.
    mqtt_port: int | None = None
    mqtt_tls_port: int | None = None

    def close(self) -> None:
        self.monitor.stop()
        # Tallied refusals are written before the store's writer stops.
        self.pipeline.refusals.flush()
        self.store.close()
        self.registry.close()
