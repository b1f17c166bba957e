"""ThingsBoard's gateway form, shared by HTTP (`/api/v1/batch`) and MQTT (`v1/gateway/telemetry`).

``{"Device A": [{"ts": ms, "values": {...}}], "Device B": {"k": v}}``: each device's payload is
ThingsBoard telemetry; devices are found (or, for MQTT gateways, created) by name inside the
sender's enterprise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from shugu.domain.batch import Batch
from shugu.domain.entities import DeviceRef
from shugu.ingest.ingest_meter import GATEWAY
from shugu.ingest.pipeline import Columns, IngestPipeline, IngestResult
from shugu.ingest.thingsboard import count_values, split_gateway
from shugu.store.telemetry import RejectRecord, Rejects

#: Finds the device of a name, or None when there is none (and none may be created).
Resolve = Callable[[str], DeviceRef | None]


def merge_columns(cols: list[Columns]) -> Columns | None:
    """One Columns of several devices' rows, with one metric dictionary."""
    if not cols:
        return None
    names: dict[str, int] = {}
    indices = []
    for c in cols:
        remap = np.array([names.setdefault(m, len(names)) for m in c.metric_names], np.int32)
        indices.append(remap[c.metric_index] if len(c.metric_index) else c.metric_index)
    return Columns(
        device=np.concatenate([c.device for c in cols]),
        metric_names=list(names),
        metric_index=np.concatenate(indices),
        ts=np.concatenate([c.ts for c in cols]),
        value=np.concatenate([c.value for c in cols]),
    )


async def ingest_gateway(pipeline: IngestPipeline, resolve: Resolve, doc: Any) -> IngestResult:
    devices = split_gateway(doc)
    rejects = Rejects()
    cols: list[Columns] = []
    profiles: dict[int, str] = {}
    for name, payload in devices.items():
        device = resolve(name)
        if device is None:
            rejects.add(
                RejectRecord(
                    time.time_ns() // 1_000_000,
                    None,
                    "unknown_device",
                    f"no device named {name!r} in this enterprise",
                    sample=name[:200],
                ),
                count=count_values(payload),
            )
            continue
        parsed = pipeline.decoder_for(device).decode(payload)
        pipeline.refusals_to_rejects(device, parsed, rejects)
        cols.append(pipeline.columns_from_parsed(device, parsed))
        profiles[device.id] = device.profile
    merged = merge_columns(cols)
    if merged is None:
        # No device of the payload was found: its refusals are still kept in the rejects log.
        if rejects:
            await pipeline.store(Batch.empty(), rejects, GATEWAY)
        return IngestResult(0, rejects)
    return await pipeline.ingest_columns(merged, profiles, rejects, transport=GATEWAY)
