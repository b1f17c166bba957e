"""Codecs: one request's bytes → one column set before validation, plus what was refused.

Every wire format is a ``Codec``: it is made for one request with what that request resolved
(its device, or how names of devices resolve within an enterprise) and ``decode`` turns the
body into a ``Decoded`` (`ingest/columns.py`). A body refused whole raises an ``IngestError``;
values or rows refused one by one go to the ``Decoded``'s rejects, and the rest goes on to the
ingest door (`ingest/door.py`). Codecs validate nothing the door validates and store nothing.

- ``DeviceJson``: ThingsBoard device telemetry (HTTP device API, MQTT, the broker bridge);
- ``GatewayJson``: ThingsBoard's gateway form, device name → telemetry (MQTT gateways and
  ``POST /api/v1/batch``);
- ``ArrowBatch``: an Arrow IPC stream of many devices of one enterprise (``POST /api/v1/batch``).

Sparkplug B and CSV are further codecs of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from shugu.domain.entities import DeviceRef
from shugu.domain.profiles import get_profile
from shugu.ingest.arrow_codec import ARROW_STREAM, decode_table, read_stream
from shugu.ingest.columns import Columns, Decoded, ListColumns
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.ingest_meter import ARROW, GATEWAY
from shugu.ingest.states import codes_from_text
from shugu.ingest.thingsboard import (
    ParsedTelemetry,
    TelemetryDecoder,
    count_values,
    parse_json,
    split_gateway,
)
from shugu.store.telemetry import RejectRecord, Rejects

#: Finds the device of a name, or None when there is none (and none may be created).
Resolve = Callable[[str], DeviceRef | None]
Clock = Callable[[], int]


class Codec(Protocol):
    def decode(self, body: bytes) -> Decoded:
        """The request's points and refusals; raises ``IngestError`` for a body refused whole."""
        ...


class Decoders:
    """ThingsBoard decoders by device profile (a decoder holds no state between payloads)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._by_profile: dict[str, TelemetryDecoder] = {}

    def __call__(self, device: DeviceRef) -> TelemetryDecoder:
        decoder = self._by_profile.get(device.profile)
        if decoder is None:
            profile = get_profile(device.profile)
            bool_metrics = {name for name, spec in profile.metrics.items() if spec.bool_as_number}
            states = {name: spec for name, spec in profile.metrics.items() if spec.states}
            decoder = TelemetryDecoder(self.clock, bool_metrics, states)
            self._by_profile[device.profile] = decoder
        return decoder


def add_refusals(device: DeviceRef, parsed: ParsedTelemetry, rejects: Rejects, now: int) -> None:
    for r in parsed.refusals:
        rejects.add(
            RejectRecord(now, device.id, r.code, r.reason, r.metric, r.ts, r.sample), r.count
        )


class DeviceJson:
    """ThingsBoard telemetry of one device: ``{"k": v}``, ``{"ts": ms, "values": {...}}``, or a
    list of either."""

    __slots__ = ("_decoders", "_device")

    def __init__(self, device: DeviceRef, decoders: Decoders) -> None:
        self._device = device
        self._decoders = decoders

    def decode(self, body: bytes) -> Decoded:
        return self.decode_document(parse_json(body))

    def decode_document(self, doc: Any) -> Decoded:
        device = self._device
        parsed = self._decoders(device).decode(doc)
        rejects = Rejects()
        if parsed.refusals:
            add_refusals(device, parsed, rejects, self._decoders.clock())
        columns = ListColumns([device.id] * len(parsed), parsed.metrics, parsed.ts, parsed.values)
        return Decoded(columns, {device.id: device.profile}, rejects)


class GatewayJson:
    """``{"Device A": [{"ts": ms, "values": {...}}], "Device B": {"k": v}}``: each device's
    payload is ThingsBoard telemetry; names resolve through ``resolve`` (found, or for MQTT
    gateways created, inside the sender's enterprise). Values of unknown names are refused."""

    __slots__ = ("_decoders", "_resolve")

    def __init__(self, resolve: Resolve, decoders: Decoders) -> None:
        self._resolve = resolve
        self._decoders = decoders

    def decode(self, body: bytes) -> Decoded:
        return self.decode_document(parse_json(body))

    def decode_document(self, doc: Any) -> Decoded:
        rejects = Rejects()
        columns = ListColumns.empty()
        profiles: dict[int, str] = {}
        clock = self._decoders.clock
        for name, payload in split_gateway(doc).items():
            device = self._resolve(name)
            if device is None:
                rejects.add(
                    RejectRecord(
                        clock(),
                        None,
                        "unknown_device",
                        f"no device named {name!r} in this enterprise",
                        sample=name[:200],
                    ),
                    count=count_values(payload),
                )
                continue
            parsed = self._decoders(device).decode(payload)
            add_refusals(device, parsed, rejects, clock())
            columns.extend(device.id, parsed.metrics, parsed.ts, parsed.values)
            profiles[device.id] = device.profile
        return Decoded(columns, profiles, rejects)


class ArrowBatch:
    """An Arrow IPC stream of one enterprise's devices (docs/http-device-api.md): a device by
    name or id per row; rows with a null field, or of a device outside the enterprise, are
    refused; a ``value`` column of texts names states, mapped to their codes."""

    __slots__ = ("_clock", "_devices", "_enterprise_id")

    def __init__(self, devices: DeviceCache, enterprise_id: int, clock: Clock) -> None:
        self._devices = devices
        self._enterprise_id = enterprise_id
        self._clock = clock

    def _refs(self, keys: list[str] | list[int]) -> list[DeviceRef | None]:
        if keys and isinstance(keys[0], str):
            return self._devices.by_names(self._enterprise_id, keys)
        refs: list[DeviceRef | None] = []
        for key in keys:
            ref = self._devices.by_id(int(key))
            refs.append(
                ref if ref is not None and ref.enterprise_id == self._enterprise_id else None
            )
        return refs

    def decode(self, body: bytes) -> Decoded:
        rows = decode_table(read_stream(body))
        rejects = Rejects()
        received = self._clock()
        refs = self._refs(rows.device_keys)
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
                rejects.add(
                    RejectRecord(
                        received,
                        None,
                        "unknown_device",
                        "no such device in this enterprise",
                        sample=str(rows.device_keys[i]),
                    ),
                    count=int((rows.device_index[unknown_rows] == i).sum()),
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
        columns = Columns(
            device=ids[rows.device_index[keep]] if len(refs) else np.empty(0, np.int32),
            metric_names=rows.metric_names,
            metric_index=rows.metric_index[keep],
            ts=rows.ts[keep],
            value=value[keep],
        )
        return Decoded(columns, profiles, rejects)


def enterprise_batch(
    content_type: str, devices: DeviceCache, enterprise_id: int, decoders: Decoders
) -> tuple[Codec, str]:
    """The codec of a batch of many devices of one enterprise (``POST /api/v1/batch``) by its
    content type, and the transport it is counted under: Arrow IPC, else gateway JSON. The
    caller has already decided that the sender may write for ``enterprise_id``."""
    if content_type == ARROW_STREAM:
        return ArrowBatch(devices, enterprise_id, decoders.clock), ARROW

    def resolve(name: str) -> DeviceRef | None:
        return devices.by_name(enterprise_id, name)

    return GatewayJson(resolve, decoders), GATEWAY
