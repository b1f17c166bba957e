"""The platform's health as the operator's page shows it and its live stream sends it.

``snapshot`` is called every couple of seconds for each open health page, on the event loop:
everything in it is read from memory (counters of the ingest meter, the store, the MQTT
endpoint, the monitor and the notifier), except the rejects log's counts per reason, which are
read from the store at most every ``REJECT_COUNTS_TTL_S`` for all pages together. The keys are
flat, so that an element ``data-health="key"`` shows a figure; ``rejects_by_code`` is the one
nested figure, which the page's script turns into its table.
"""

from __future__ import annotations

import threading
import time
import weakref
from pathlib import Path
from typing import Final

from shugu.api.services import Services
from shugu.ingest.ingest_meter import TRANSPORTS
from shugu.ingest.refusal_tally import RefusalTally
from shugu.store.telemetry import TelemetryStore

#: How long the rejects log's counts per reason are reused before the store is asked again.
REJECT_COUNTS_TTL_S: Final = 5.0
_MIB: Final = 1024 * 1024

RejectCounts = dict[str, dict[str, int]]

_reject_cache: weakref.WeakKeyDictionary[TelemetryStore, tuple[float, RejectCounts]] = (
    weakref.WeakKeyDictionary()
)
_reject_lock = threading.Lock()


def _stored_reject_counts(store: TelemetryStore) -> RejectCounts:
    """Code → {"n": refusals, "last_ms": the newest}, from the rejects log (cached briefly)."""
    now = time.monotonic()
    with _reject_lock:
        cached = _reject_cache.get(store)
    if cached is not None and now - cached[0] < REJECT_COUNTS_TTL_S:
        return cached[1]
    table = store.reject_counts(None)
    counts: RejectCounts = {}
    if table.num_rows:
        grouped = table.group_by("code").aggregate([("n", "sum"), ("last_ms", "max")])
        for code, n, last in zip(
            grouped.column("code").to_pylist(),
            grouped.column("n_sum").to_pylist(),
            grouped.column("last_ms_max").to_pylist(),
            strict=True,
        ):
            counts[str(code)] = {"n": int(n), "last_ms": int(last)}
    with _reject_lock:
        _reject_cache[store] = (now, counts)
    return counts


def forget_reject_counts(store: TelemetryStore) -> None:
    """Read the rejects log again at the next snapshot (after a write a page must show)."""
    with _reject_lock:
        _reject_cache.pop(store, None)


def reject_counts(store: TelemetryStore, tally: RefusalTally) -> RejectCounts:
    """Refusals by reason: the rejects log's, plus those counted in memory and not yet written."""
    counts = {code: dict(figures) for code, figures in _stored_reject_counts(store).items()}
    now_ms = time.time_ns() // 1_000_000
    for code, n in tally.pending_by_code().items():
        entry = counts.setdefault(code, {"n": 0, "last_ms": now_ms})
        entry["n"] += n
        entry["last_ms"] = max(entry["last_ms"], now_ms)
    return counts


def _file_mib(path: Path) -> float:
    size = 0
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            size += candidate.stat().st_size
        except OSError:
            continue
    return round(size / _MIB, 1)


def snapshot(services: Services) -> dict[str, object]:
    """Figures of this process right now (JSON-ready)."""
    store = services.store
    door = services.door
    mqtt = services.mqtt
    monitor = services.monitor.stats()
    notifier = services.notifier.status()
    figures: dict[str, object] = {
        "ts": time.time_ns() // 1_000_000,
        "writer_alive": store.writer_alive,
        "backlog_points": store.backlog_rows,
        "max_backlog_points": store.max_backlog_rows,
        "queued_jobs": store.queued_jobs,
        "overload_refusals": store.overload_refusals,
        "busy_refusals": door.busy_refusals,
        "store_mib": _file_mib(services.settings.telemetry_path),
        "mqtt_connections": len(mqtt.connections) if mqtt else 0,
        "mqtt_refused_over_address_limit": mqtt.refused_over_cap if mqtt else 0,
        "broker_connected": services.bridge.connected if services.bridge else None,
        "monitor_pending_rows": monitor.pending_rows,
        "monitor_skipped_rows": monitor.skipped_rows,
        "monitor_evaluated_points": monitor.evaluated_points,
        "monitor_lag_p50_s": round(monitor.lag_p50_s, 3),
        "monitor_lag_max_s": round(monitor.lag_max_s, 3),
        "monitor_lag_p50_ms": round(monitor.lag_p50_s * 1000, 1),
        "monitor_lag_max_ms": round(monitor.lag_max_s * 1000, 1),
        "monitor_rules": monitor.rules,
        "monitor_devices": monitor.devices,
        "notify_delivered": notifier.delivered,
        "notify_retried": notifier.retried,
        "notify_failed": notifier.failed,
        "notify_dropped": notifier.dropped,
        "notify_queued": notifier.queued,
        "notify_failing_channels": sum(1 for c in notifier.channels.values() if c.failing),
    }
    accepted = refused = 0.0
    for transport, meter in door.meter.figures().items():
        figures[f"ingest_rate_{transport}"] = round(meter.accepted_per_s, 1)
        figures[f"reject_rate_{transport}"] = round(meter.refused_per_s, 1)
        figures[f"ingest_total_{transport}"] = meter.accepted_total
        figures[f"reject_total_{transport}"] = meter.refused_total
        accepted += meter.accepted_per_s
        refused += meter.refused_per_s
    figures["ingest_rate"] = round(accepted, 1)
    figures["reject_rate"] = round(refused, 1)
    by_code = reject_counts(store, door.refusals)
    figures["rejects_by_code"] = by_code
    figures["rejects_total"] = sum(c["n"] for c in by_code.values())
    return figures


def ingest_history(services: Services, step_s: int = 10) -> dict[str, list[list[float]]]:
    """Accepted points per second of each transport over the last minutes, for the chart:
    ``{transport: [[ts_ms, rate], ...]}``."""
    history = services.door.meter.history(step_s)
    return {t: [[ts, round(rates[t], 1)] for ts, rates in history] for t in TRANSPORTS}
