"""The rejects log as a reader sees it: counts per device and reason, and the newest samples.

Refusals tallied in memory are written before reading, so the counts include every refusal
already answered. The API's ``/api/rejects`` and the console's device page read through here;
callers have already decided which devices the reader may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shugu.domain.tenancy import Access
from shugu.ingest.refusal_tally import RefusalTally
from shugu.store.registry import Registry
from shugu.store.telemetry import TelemetryStore


@dataclass(frozen=True, slots=True)
class RejectsLog:
    #: ``{"device", "code", "n", "last_ms"}`` per device and reason.
    counts: list[dict[str, Any]]
    #: ``{"received_ms", "device", "code", "reason", "metric", "ts", "sample"}``, newest first.
    samples: list[dict[str, Any]]

    def as_dict(self) -> dict[str, object]:
        return {"counts": self.counts, "samples": self.samples}


def platform_rejects(
    refusals: RefusalTally, registry: Registry, store: TelemetryStore, access: Access, limit: int
) -> RejectsLog:
    """The operator's view: the counts of every device (platform health), and the samples that
    name no device (bad tokens, refused connections) or a device whose enterprise lets
    ``access`` read its machine values. A sample quotes what was sent, so it is a machine value."""
    refusals.wait_written()
    readable = {
        d.id
        for e in registry.list_enterprises()
        if access.can_read_machines(e.id)
        for d in registry.device_refs_of_enterprise(e.id)
    }
    # Filtered in the query, so older readable samples fill the limit.
    samples = store.reject_samples(sorted(readable), limit, deviceless=True)
    return RejectsLog(store.reject_counts(None).to_pylist(), samples.to_pylist())


def device_rejects(
    refusals: RefusalTally, store: TelemetryStore, devices: Sequence[int], limit: int
) -> RejectsLog:
    """The counts and newest samples of the given devices (an enterprise's, or one device)."""
    refusals.wait_written()
    counts = store.reject_counts(list(devices))
    samples = store.reject_samples(list(devices), limit)
    return RejectsLog(counts.to_pylist(), samples.to_pylist())
