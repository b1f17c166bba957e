"""The registry over HTTP: regions, parks, enterprises, assets, devices, consents, users,
profiles and the district summary.

Every route asks the caller's ``Access`` first. An object the caller may not see answers 404
exactly as a missing one does; a visible object the caller may not change answers 403; machine
level data (assets and devices) of an enterprise that has not granted the bureau consent answers
403 ``consent_required`` to the bureau; the operator manages every enterprise's assets, devices
and their tokens, but reads machine values only with the enterprise's consent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.registry_schemas import (
    AssetIn,
    AssetOut,
    ConsentIn,
    ConsentOut,
    DeviceCreated,
    DeviceIn,
    DeviceOut,
    DeviceToken,
    EnterpriseIn,
    EnterpriseOut,
    ParkIn,
    ParkOut,
    ParkSummaryOut,
    RegionIn,
    RegionOut,
    SummaryOut,
    UserIn,
    UserOut,
    UserPatch,
)
from shugu.api.scope import listed_device, visible_enterprise_devices
from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.profiles import Profile, load_profiles
from shugu.domain.tenancy import Access, Grantee, Role
from shugu.ingest import device_credentials
from shugu.store import account_service, consent_service
from shugu.store.registry import EnterpriseRecord, Registry, missing

router = APIRouter(prefix="/api", tags=["registry"])


def _forbidden(message: str) -> ForbiddenError:
    return ForbiddenError(message, code="forbidden")


def _require_platform(access: Access, action: str) -> None:
    if not access.can_manage_platform():
        raise _forbidden(f"only the platform operator may {action}")


def _visible_enterprise(registry: Registry, access: Access, enterprise_id: int) -> EnterpriseRecord:
    if not access.can_see_enterprise(enterprise_id):
        raise missing("enterprise")
    return registry.get_enterprise(enterprise_id)


def _managed_enterprise(registry: Registry, access: Access, enterprise_id: int) -> EnterpriseRecord:
    enterprise = _visible_enterprise(registry, access, enterprise_id)
    if not access.can_manage_enterprise(enterprise_id):
        raise _forbidden("only the enterprise's administrators or the operator may change this")
    return enterprise


# Regions and parks: shared reference data every signed-in caller may read. -----------------


@router.get("/regions")
def list_regions(access: AccessDep, services: ServicesDep) -> list[RegionOut]:
    return [RegionOut.from_record(r) for r in services.registry.list_regions()]


@router.post("/regions", status_code=status.HTTP_201_CREATED)
def create_region(body: RegionIn, access: AccessDep, services: ServicesDep) -> RegionOut:
    _require_platform(access, "create regions")
    return RegionOut.from_record(services.registry.create_region(body.code, body.name))


@router.get("/parks")
def list_parks(
    access: AccessDep, services: ServicesDep, region_id: int | None = None
) -> list[ParkOut]:
    return [ParkOut.from_record(p) for p in services.registry.list_parks(region_id)]


@router.post("/parks", status_code=status.HTTP_201_CREATED)
def create_park(body: ParkIn, access: AccessDep, services: ServicesDep) -> ParkOut:
    _require_platform(access, "create parks")
    park = services.registry.create_park(body.region_id, body.name, body.division_code)
    return ParkOut.from_record(park)


@router.get("/parks/{park_id}")
def get_park(park_id: int, access: AccessDep, services: ServicesDep) -> ParkOut:
    return ParkOut.from_record(services.registry.get_park(park_id))


# Enterprises ------------------------------------------------------------------------------


@router.get("/enterprises")
def list_enterprises(
    access: AccessDep, services: ServicesDep, park_id: int | None = None
) -> list[EnterpriseOut]:
    records = services.registry.list_enterprises(park_id)
    return [EnterpriseOut.from_record(e) for e in records if access.can_see_enterprise(e.id)]


@router.post("/enterprises", status_code=status.HTTP_201_CREATED)
def create_enterprise(
    body: EnterpriseIn, access: AccessDep, services: ServicesDep
) -> EnterpriseOut:
    enterprise = account_service.register_enterprise(
        services.registry, access, body.park_id, body.name, body.uscc, body.nbs_category
    )
    return EnterpriseOut.from_record(enterprise)


@router.get("/enterprises/{enterprise_id}")
def get_enterprise(enterprise_id: int, access: AccessDep, services: ServicesDep) -> EnterpriseOut:
    return EnterpriseOut.from_record(_visible_enterprise(services.registry, access, enterprise_id))


# Assets and devices: machine-level data of an enterprise. ----------------------------------


@router.get("/enterprises/{enterprise_id}/assets")
def list_assets(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[AssetOut]:
    """The plant as a flat list, each asset right after its parent."""
    visible_enterprise_devices(services.registry, access, enterprise_id)
    return [AssetOut.from_record(a) for a in services.registry.list_assets(enterprise_id)]


@router.post("/enterprises/{enterprise_id}/assets", status_code=status.HTTP_201_CREATED)
def create_asset(
    enterprise_id: int, body: AssetIn, access: AccessDep, services: ServicesDep
) -> AssetOut:
    _managed_enterprise(services.registry, access, enterprise_id)
    asset = services.registry.create_asset(enterprise_id, body.level, body.name, body.parent_id)
    return AssetOut.from_record(asset)


@router.get("/enterprises/{enterprise_id}/devices")
def list_devices(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[DeviceOut]:
    visible_enterprise_devices(services.registry, access, enterprise_id)
    return [DeviceOut.from_record(d) for d in services.registry.list_devices(enterprise_id)]


@router.post("/enterprises/{enterprise_id}/devices", status_code=status.HTTP_201_CREATED)
def create_device(
    enterprise_id: int, body: DeviceIn, access: AccessDep, services: ServicesDep
) -> DeviceCreated:
    """Register a device. The answer holds its access token, which is never shown again."""
    _managed_enterprise(services.registry, access, enterprise_id)
    device, token = services.registry.create_device(
        enterprise_id, body.name, body.profile, asset_id=body.asset_id, is_gateway=body.is_gateway
    )
    return DeviceCreated(device=DeviceOut.from_record(device), token=token)


@router.get("/devices/{device_id}")
def get_device(device_id: int, access: AccessDep, services: ServicesDep) -> DeviceOut:
    listed_device(services.registry, access, device_id)
    return DeviceOut.from_record(services.registry.get_device(device_id))


@router.post("/devices/{device_id}/token")
def rotate_device_token(device_id: int, access: AccessDep, services: ServicesDep) -> DeviceToken:
    """Issue a new access token; the old one stops working. Shown once."""
    ref = listed_device(services.registry, access, device_id)
    if not access.can_manage_enterprise(ref.enterprise_id):
        raise _forbidden("only the enterprise's administrators or the operator may rotate tokens")
    return DeviceToken(token=device_credentials.rotate_device_token(services, device_id))


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_device(device_id: int, access: AccessDep, services: ServicesDep) -> None:
    """Delete a device: its token stops working and its live connections are closed at once.
    Its past points stay until retention removes them; its name may be given to a new device."""
    ref = listed_device(services.registry, access, device_id)
    if not access.can_manage_enterprise(ref.enterprise_id):
        raise _forbidden("only the enterprise's administrators or the operator may delete devices")
    device_credentials.delete_device(services, device_id)


# Consent: an enterprise lets the bureau read its machine-level data. ------------------------


@router.get("/enterprises/{enterprise_id}/consents")
def list_consents(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[ConsentOut]:
    records = consent_service.list_consents(services.registry, access, enterprise_id)
    return [ConsentOut.from_record(c) for c in records]


@router.post("/enterprises/{enterprise_id}/consents", status_code=status.HTTP_201_CREATED)
def grant_consent(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    body: Annotated[ConsentIn | None, Body()] = None,
) -> ConsentOut:
    """Let the bureau (the default) or the platform operator read the enterprise's machine
    values, until revoked; only the enterprise's own administrators grant it. The body (a note
    and the grantee) is optional."""
    body = body or ConsentIn()
    consent = consent_service.grant(
        services.registry, access, enterprise_id, Grantee(body.grantee), body.note
    )
    return ConsentOut.from_record(consent)


@router.delete("/consents/{consent_id}")
def revoke_consent(consent_id: int, access: AccessDep, services: ServicesDep) -> ConsentOut:
    return ConsentOut.from_record(consent_service.revoke(services.registry, access, consent_id))


# Users ------------------------------------------------------------------------------------


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, access: AccessDep, services: ServicesDep) -> UserOut:
    """The operator creates operator, bureau and park officials' accounts (a park official's
    with ``park_id``), and an enterprise's first administrator; an enterprise administrator,
    accounts of its own enterprise (``enterprise_id`` defaults to it)."""
    user = account_service.create_account(
        services.registry,
        access,
        body.username,
        body.password,
        body.role,
        body.enterprise_id,
        body.park_id,
    )
    return UserOut.from_record(user)


@router.patch("/users/{user_id}")
def update_user(user_id: int, body: UserPatch, access: AccessDep, services: ServicesDep) -> UserOut:
    """Change an account's role within its kind (an enterprise's administrator or viewer; the
    operator or the bureau), or disable (停用) or enable it: a disabled account cannot sign in,
    and its sessions and API tokens stop working at once. An enterprise's accounts are changed
    by its administrators, the platform's by the operator; nobody changes its own."""
    user = account_service.update_account(
        services.registry, access, user_id, role=body.role, disabled=body.disabled
    )
    return UserOut.from_record(user)


@router.get("/users")
def list_users(
    access: AccessDep, services: ServicesDep, enterprise_id: int | None = None
) -> list[UserOut]:
    """All accounts for the operator; an enterprise administrator's own enterprise's."""
    if enterprise_id is None and access.role is Role.ENTERPRISE_ADMIN:
        enterprise_id = access.principal.enterprise_id
    if enterprise_id is not None:
        _managed_enterprise(services.registry, access, enterprise_id)
    else:
        _require_platform(access, "list all accounts")
    return [UserOut.from_record(u) for u in services.registry.list_users(enterprise_id)]


# Profiles and aggregates ------------------------------------------------------------------


@router.get("/profiles")
def list_profiles(access: AccessDep) -> list[Profile]:
    return list(load_profiles().values())


@router.get("/profiles/{name}")
def get_profile(name: str, access: AccessDep) -> Profile:
    profiles = load_profiles()
    if name not in profiles:
        known = ", ".join(sorted(profiles))
        raise NotFoundError(
            f"no device profile {name!r}; known profiles: {known}", code="not_found"
        )
    return profiles[name]


@router.get("/summary")
def summary(access: AccessDep, services: ServicesDep) -> SummaryOut:
    """Enterprises and devices per park: counts that name no machine; a park official's
    summary holds its own park only."""
    parks = services.registry.count_summary()
    if access.role is Role.PARK_OFFICIAL:
        parks = [p for p in parks if access.can_see_park(p.park_id)]
    elif not access.can_read_aggregates():
        raise _forbidden("the district summary is for the operator, the bureau and park officials")
    return SummaryOut(
        enterprises=sum(p.enterprises for p in parks),
        devices=sum(p.devices for p in parks),
        parks=[ParkSummaryOut.from_record(p) for p in parks],
    )
