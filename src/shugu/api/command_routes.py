"""Talking to devices: server-side RPC, the attributes devices report (client scope) and those
the enterprise sets for them (shared scope, pushed to the device)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.openapi import error_response
from shugu.api.scope import commanded_device, visible_device
from shugu.domain.errors import ForbiddenError

router = APIRouter(tags=["device commands"])


class RpcRequest(BaseModel):
    method: str = Field(min_length=1, max_length=255, description="the command, e.g. setSpeed")
    params: Any = Field(default=None, description="any JSON value the device expects")
    timeout_ms: int = Field(default=10_000, ge=100, le=120_000)
    oneway: bool = Field(default=False, description="send without waiting for an answer")


class RpcAnswer(BaseModel):
    device: int
    method: str
    oneway: bool
    response: Any = None


@router.post(
    "/api/devices/{device_id}/rpc",
    responses={
        409: error_response(
            "device_offline: the device is not connected, or does not take commands"
        ),
        504: error_response("rpc_timeout: the device did not answer within timeout_ms"),
    },
)
async def device_rpc(
    device_id: int, body: RpcRequest, access: AccessDep, services: ServicesDep
) -> RpcAnswer:
    """Send a command to a device connected over MQTT; two-way calls wait for its answer."""
    ref = commanded_device(services.registry, access, device_id)
    response = await services.rpc.call(
        ref.id, body.method, body.params, body.timeout_ms / 1000, body.oneway
    )
    return RpcAnswer(device=ref.id, method=body.method, oneway=body.oneway, response=response)


class AttributesOut(BaseModel):
    device: int
    client: dict[str, Any]
    shared: dict[str, Any]
    updated: dict[str, int]


@router.get("/api/devices/{device_id}/attributes")
def device_attributes(device_id: int, access: AccessDep, services: ServicesDep) -> AttributesOut:
    """The attributes a device reported (client scope) and those set for it (shared scope)."""
    ref = visible_device(services.registry, access, device_id)
    attributes = services.attributes.of_device(ref.id)
    return AttributesOut(
        device=ref.id,
        client=attributes.client,
        shared=attributes.shared,
        updated=attributes.updated,
    )


SHARED_EXAMPLE = {"report_period_s": 10, "target_speed_rpm": 650}


@router.post("/api/devices/{device_id}/attributes/shared")
async def set_shared_attributes(
    device_id: int,
    access: AccessDep,
    services: ServicesDep,
    body: Annotated[
        dict[str, Any],
        Body(description="shared attributes: key → any JSON value", examples=[SHARED_EXAMPLE]),
    ],
) -> AttributesOut:
    """Set shared attributes (a set point, a reporting period): kept, then pushed to the
    device on `v1/devices/me/attributes` (MQTT), through its gateway, or to its waiting
    `GET /api/v1/{token}/attributes/updates` (HTTP)."""
    ref = visible_device(services.registry, access, device_id)
    if not access.can_manage_enterprise(ref.enterprise_id):
        raise ForbiddenError(
            "only the enterprise's administrators set shared attributes", code="forbidden"
        )
    await services.attributes.set_shared(ref.id, body)
    return device_attributes(device_id, access, services)
