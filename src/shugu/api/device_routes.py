"""Device-facing API over HTTP.

ThingsBoard's HTTP device API, so devices and libraries written for ThingsBoard talk to shugu
unchanged (docs/http-device-api.md): ``/api/v1/{token}/telemetry``; ``/attributes`` (post client
attributes, read client and shared ones), ``/attributes/updates`` (wait for shared ones);
``/rpc`` (wait for a command, or ask shugu) and ``/rpc/{id}`` (answer a command).
``POST /api/v1/batch`` takes many devices at once for gateways and bulk loaders: ThingsBoard's
gateway JSON form or an Arrow IPC stream.

Every answer follows durability: 200 means the accepted points are on disk.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shugu.api.deps import ServicesDep, principal_of
from shugu.api.errors import error_body
from shugu.api.jsonresponse import JSONBytes
from shugu.api.openapi import (
    ATTRIBUTES_BODY,
    BATCH_BODY,
    CLIENT_RPC_BODY,
    RPC_ANSWER_BODY,
    TELEMETRY_BODY,
)
from shugu.config import Settings
from shugu.domain.digits import ascii_int
from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ForbiddenError, ShuguError, ValidationError
from shugu.domain.tenancy import Role
from shugu.ingest.codecs import enterprise_batch
from shugu.ingest.device_cache import DeviceCache
from shugu.ingest.door import IngestDoor, IngestResult, now_ms
from shugu.ingest.errors import BadDeviceToken, PayloadTooLarge
from shugu.ingest.ingest_meter import HTTP
from shugu.ingest.rpc import answer_client_rpc
from shugu.ingest.thingsboard import parse_json
from shugu.store.registry import Registry
from shugu.store.telemetry import RejectRecord, Rejects

router = APIRouter(tags=["device API"])


class DeviceIngest(Protocol):
    """What taking telemetry needs of a process: main's services, or a front process's parts
    (`api/front_app.py`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def door(self) -> IngestDoor: ...

    @property
    def device_cache(self) -> DeviceCache: ...


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the payload is {declared} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the payload exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(result: IngestResult) -> JSONBytes:
    body = result.as_json()
    if result.accepted == 0 and result.refused > 0:
        return JSONBytes(
            error_body("all_values_rejected", "no value of the payload could be stored", **body),
            status_code=400,
        )
    return JSONBytes(body)


async def _device(services: DeviceIngest, token: str) -> DeviceRef:
    """The device of an access token; an unknown token is refused (401) and counted, in memory
    first: such requests are outside the ingest admission, so a write each would let anyone
    keep the store busy (ingest/refusal_tally.py)."""
    device = services.registry.device_for_token(token)
    if device is None:
        masked = token[:4] + "…" if len(token) > 4 else "…"
        services.door.refusals.add(
            RejectRecord(
                now_ms(), None, "bad_device_token", "unknown device access token", sample=masked
            )
        )
        raise BadDeviceToken("the device access token is unknown or was revoked")
    return device


async def _json_body(services: DeviceIngest, device: DeviceRef, request: Request) -> Any:
    """The body as JSON; a body refused whole is kept in the rejects log like refused values."""
    try:
        return parse_json(await read_body(request, services.settings.max_payload_bytes))
    except ShuguError as exc:
        await services.door.record_refusal(RejectRecord(now_ms(), device.id, exc.code, exc.message))
        raise


@router.post("/api/v1/{token}/telemetry", openapi_extra=TELEMETRY_BODY)
async def post_device_telemetry(token: str, request: Request, services: ServicesDep) -> JSONBytes:
    """ThingsBoard HTTP device API: `{"k": v}`, `{"ts": ms, "values": {...}}`, or a list."""
    return await ingest_device_telemetry(services, token, request)


async def ingest_device_telemetry(
    services: DeviceIngest, token: str, request: Request
) -> JSONBytes:
    """One device's telemetry through the door, answered once durable."""
    door = services.door
    device = await _device(services, token)
    with door.admitted():
        doc = await _json_body(services, device, request)
        decoded = door.device_json(device).decode_document(doc)
        return _answer(await door.ingest(decoded, HTTP))


@router.post("/api/v1/{token}/attributes", openapi_extra=ATTRIBUTES_BODY)
async def post_device_attributes(token: str, request: Request, services: ServicesDep) -> JSONBytes:
    """Client attributes the device reports about itself: a JSON object of keys and values."""
    device = await _device(services, token)
    with services.door.admitted():
        doc = await _json_body(services, device, request)
        written = await services.attributes.store_client(device, doc)
    rejects = Rejects()
    for refusal in written.refusals:
        rejects.add(refusal)
    return _answer(IngestResult(written.stored, rejects))


@router.get("/api/v1/{token}/attributes")
async def get_device_attributes(
    token: str,
    services: ServicesDep,
    client_keys: str | None = Query(None, alias="clientKeys", max_length=65_536),
    shared_keys: str | None = Query(None, alias="sharedKeys", max_length=65_536),
) -> JSONBytes:
    """`{"client": {...}, "shared": {...}}`: the keys named (comma-separated), or all of both
    scopes when neither is named, as ThingsBoard answers."""
    device = await _device(services, token)
    return JSONBytes(services.attributes.read(device.id, client_keys, shared_keys))


def _poll_timeout_s(services: DeviceIngest, timeout_ms: int) -> float:
    settings = services.settings
    wanted = timeout_ms or settings.device_poll_default_ms
    return min(wanted, settings.device_poll_max_ms) / 1000


def _nothing_came(what: str, timeout_s: float) -> JSONBytes:
    # ThingsBoard answers 408 when a long poll ends with nothing; its clients then poll again.
    return JSONBytes(
        error_body("poll_timeout", f"no {what} within {timeout_s:g} s; poll again"),
        status_code=408,
    )


POLL_TIMEOUT = Query(
    0,
    ge=0,
    le=2**31 - 1,
    description="how long to wait, in ms (0: 60,000; at most 300,000 are waited)",
)


@router.get("/api/v1/{token}/attributes/updates")
async def wait_shared_attributes(
    token: str, services: ServicesDep, timeout: int = POLL_TIMEOUT
) -> JSONBytes:
    """Long poll: the next change of the device's shared attributes, or 408 if none came."""
    device = await _device(services, token)
    timeout_s = _poll_timeout_s(services, timeout)
    changes = await services.attributes.poll(device.id, timeout_s, credential=token)
    if changes is None:
        return _nothing_came("shared attribute changed", timeout_s)
    return JSONBytes(changes)


@router.get("/api/v1/{token}/rpc")
async def wait_rpc_request(
    token: str, services: ServicesDep, timeout: int = POLL_TIMEOUT
) -> Response:
    """Long poll: the next command for the device, `{"id": 1, "method": ..., "params": ...}`,
    or 408 if none came. The device answers with `POST /api/v1/{token}/rpc/{id}`."""
    device = await _device(services, token)
    timeout_s = _poll_timeout_s(services, timeout)
    request = await services.rpc.poll(device.id, timeout_s, credential=token)
    if request is None:
        return _nothing_came("command", timeout_s)
    return Response(request, media_type="application/json")


@router.post("/api/v1/{token}/rpc/{request_id}", openapi_extra=RPC_ANSWER_BODY)
async def post_rpc_answer(
    token: str, request_id: int, request: Request, services: ServicesDep
) -> JSONBytes:
    """The device's answer to command ``request_id`` (any JSON); 200 even when nobody waits
    for it any more, as in ThingsBoard."""
    device = await _device(services, token)
    body = await read_body(request, services.settings.max_payload_bytes)
    services.rpc.answer(device.id, request_id, body)
    return JSONBytes({})


@router.post("/api/v1/{token}/rpc", openapi_extra=CLIENT_RPC_BODY)
async def post_client_rpc(token: str, request: Request, services: ServicesDep) -> JSONBytes:
    """The device asks shugu: `{"method": "getCurrentTime", "params": {}}` (see ingest.rpc)."""
    device = await _device(services, token)
    doc = await _json_body(services, device, request)
    limits = {"maxPayloadSize": services.settings.max_payload_bytes, "rateLimits": {}}
    return JSONBytes(answer_client_rpc(doc, limits))


def _batch_enterprise(request: Request, services: DeviceIngest) -> int:
    principal = principal_of(request, services.registry)
    wanted = request.query_params.get("enterprise")
    if principal.role is Role.OPERATOR:
        enterprise_id = ascii_int(wanted) if wanted is not None else None
        if enterprise_id is None:
            raise ValidationError(
                "operators name the enterprise: /api/v1/batch?enterprise=ID",
                code="enterprise_required",
            )
        return enterprise_id
    if principal.role is Role.ENTERPRISE_ADMIN and principal.enterprise_id is not None:
        if wanted is not None and wanted != str(principal.enterprise_id):
            raise ForbiddenError("you may send data only for your own enterprise", code="forbidden")
        return principal.enterprise_id
    raise ForbiddenError(
        "only enterprise administrators and operators send batches", code="forbidden"
    )


@router.post("/api/v1/batch", openapi_extra=BATCH_BODY)
async def post_batch(request: Request, services: ServicesDep) -> JSONBytes:
    """Many devices in one request: gateway JSON or an Arrow IPC stream (see module doc)."""
    return await ingest_batch(services, request)


async def ingest_batch(services: DeviceIngest, request: Request) -> JSONBytes:
    """A batch of many devices through the door, answered once durable."""
    enterprise_id = _batch_enterprise(request, services)
    door = services.door
    with door.admitted():
        body = await read_body(request, services.settings.max_payload_bytes)
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        codec, transport = enterprise_batch(
            content_type, services.device_cache, enterprise_id, door.decoders
        )
        return _answer(await door.ingest(codec.decode(body), transport))
