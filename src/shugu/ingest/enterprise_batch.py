"""A batch of many devices of one enterprise, as ``POST /api/v1/batch`` receives it.

Two forms: ThingsBoard's gateway JSON (device name → telemetry) and an Arrow IPC stream (one
row per point: device by name or id, metric, ts, value or a state's text). Each becomes one
ingest through the pipeline; rows of devices outside the enterprise are refused and counted.
The caller has already decided that the sender may write for ``enterprise_id``.
"""

from __future__ import annotations

import numpy as np

from shugu.domain.entities import DeviceRef
from shugu.ingest.arrow_codec import decode_table, read_stream
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.gateway import ingest_gateway
from shugu.ingest.ingest_meter import ARROW
from shugu.ingest.pipeline import Columns, IngestPipeline, IngestResult, now_ms
from shugu.ingest.states import codes_from_text
from shugu.ingest.thingsboard import parse_json
from shugu.store.telemetry import RejectRecord, Rejects


async def ingest_gateway_batch(
    pipeline: IngestPipeline, device_cache: DeviceCache, enterprise_id: int, body: bytes
) -> IngestResult:
    """Gateway JSON: ``{"Device A": [{"ts": ms, "values": {...}}], "Device B": {"k": v}}``."""

    def resolve(name: str) -> DeviceRef | None:
        return device_cache.by_name(enterprise_id, name)

    return await ingest_gateway(pipeline, resolve, parse_json(body))


async def ingest_arrow_batch(
    pipeline: IngestPipeline, device_cache: DeviceCache, enterprise_id: int, body: bytes
) -> IngestResult:
    """An Arrow IPC stream (docs/http-device-api.md); rows with a null field are refused."""
    rows = decode_table(read_stream(body))
    rejects = Rejects()
    received = now_ms()
    refs: list[DeviceRef | None]
    if rows.device_keys and isinstance(rows.device_keys[0], str):
        refs = device_cache.by_names(enterprise_id, rows.device_keys)
    else:
        refs = []
        for key in rows.device_keys:
            ref = device_cache.by_id(int(key))
            refs.append(ref if ref is not None and ref.enterprise_id == enterprise_id else None)
    ids = np.fromiter((r.id if r is not None else -1 for r in refs), np.int32, len(refs))
    known = ids >= 0
    keep = ~rows.null_rows
    if rows.null_rows.any():
        rejects.add(
            RejectRecord(
                received, None, "missing_field", "a row has a null device, metric, ts or value"
            ),
            count=int(rows.null_rows.sum()),
        )
    unknown_rows = keep & ~known[rows.device_index] if len(refs) else keep & False
    if unknown_rows.any():
        for i in np.unique(rows.device_index[unknown_rows]).tolist():
            n = int((rows.device_index[unknown_rows] == i).sum())
            rejects.add(
                RejectRecord(
                    received,
                    None,
                    "unknown_device",
                    "no such device in this enterprise",
                    sample=str(rows.device_keys[i]),
                ),
                count=n,
            )
        keep &= ~unknown_rows
    profiles = {r.id: r.profile for r in refs if r is not None}
    value = rows.value
    if rows.value_text is not None and len(refs):
        value, named = codes_from_text(
            rows.value_text,
            ids[rows.device_index],
            rows.metric_names,
            rows.metric_index,
            rows.ts,
            profiles,
            keep,
            received,
            rejects,
        )
        keep &= named
    cols = Columns(
        device=ids[rows.device_index[keep]] if len(refs) else np.empty(0, np.int32),
        metric_names=rows.metric_names,
        metric_index=rows.metric_index[keep],
        ts=rows.ts[keep],
        value=value[keep],
    )
    return await pipeline.ingest_columns(cols, profiles, rejects, transport=ARROW)
