"""The long-lived services one shugu process holds, shared by all routes."""

from __future__ import annotations

from dataclasses import dataclass

from shugu.config import Settings
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.pipeline import IngestPipeline
from shugu.store.duckdb_store import DuckDBTelemetryStore
from shugu.store.registry import Registry


@dataclass(slots=True)
class Services:
    settings: Settings
    registry: Registry
    store: DuckDBTelemetryStore
    pipeline: IngestPipeline
    device_cache: DeviceCache

    def close(self) -> None:
        self.store.close()
        self.registry.close()
