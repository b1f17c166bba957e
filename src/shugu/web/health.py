"""The platform's health as the operator's page shows it and its live stream sends it."""

from __future__ import annotations

from shugu.api.services import Services


def snapshot(services: Services) -> dict[str, object]:
    """Figures of this process right now (JSON-ready)."""
    store = services.store
    return {
        "writer_alive": store.writer_alive,
        "backlog_points": store.backlog_rows,
        "queued_jobs": store.queued_jobs,
        "mqtt_connections": len(services.mqtt.connections) if services.mqtt else 0,
        "monitor_pending_rows": services.monitor.stats().pending_rows,
    }
