"""The platform operator's pages: every enterprise by park, one enterprise's accounts and device
credentials (rotate a token, delete a device), and the platform's health, live.

Only the operator opens them (403 for everyone else, whatever the object). Device credentials
change through the same service the API's ``POST /api/devices/{id}/token`` and
``DELETE /api/devices/{id}`` call (``ingest/device_credentials.py``), after the same scope
check; machine values stay behind each enterprise's consent, so no page here streams or quotes
a value of an enterprise that has not granted it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shugu.api.scope import listed_device, require_enterprise_admin, visible_enterprise_devices
from shugu.domain.errors import ForbiddenError, NotFoundError, ShuguError
from shugu.domain.profiles import load_profiles
from shugu.domain.tenancy import Role
from shugu.domain.timeutil import utc_now_ms
from shugu.ingest import device_credentials
from shugu.ingest.ingest_meter import TRANSPORTS
from shugu.ingest.rejects_log import platform_rejects
from shugu.monitor.enterprise_overview import enterprise_overview
from shugu.monitor.liveness import LatestValues, states
from shugu.store import account_service
from shugu.store.registry import DeviceRecord
from shugu.web.health import forget_reject_counts, ingest_history, reject_counts, snapshot
from shugu.web.i18n import N_
from shugu.web.plant import STATE_LABELS
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

NO_STORE: Final = {"cache-control": "no-store"}
#: Reject samples the health page lists.
SAMPLES_SHOWN: Final = 20
TRANSPORT_LABELS: Final = {
    "mqtt": N_("MQTT devices"),
    "http": N_("HTTP device API"),
    "gateway": N_("Gateways"),
    "arrow": N_("Arrow batches"),
    "broker": N_("Broker bridge"),
}
#: The enterprise pages an operator may open, and whether they show machine values (which
#: need the enterprise's consent).
ENTERPRISE_LINKS: Final = (
    (N_("Asset tree"), "tree", False),
    (N_("Devices"), "devices", False),
    (N_("Add a device"), "onboard", False),
    (N_("Alarms"), "alarms", True),
    (N_("Inspection"), "inspection", True),
    (N_("Notifications"), "notifications", True),
)


#: The fields of the "register an enterprise" form, named as the API's body names them.
ENTERPRISE_FIELDS: Final = ("park_id", "name", "uscc", "nbs_category")


def _require_operator(user: PageUser) -> None:
    if user.role is not Role.OPERATOR:
        raise ForbiddenError("these pages are the platform operator's", code="forbidden")


@dataclass
class EnterpriseForm:
    """The "register an enterprise" form as typed, with errors by field."""

    park_id: str = ""
    name: str = ""
    uscc: str = ""
    nbs_category: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _enterprises(
    request: Request, user: PageUser, form: EnterpriseForm | None = None, status: int = 200
) -> Response:
    parks = enterprise_overview(user.services.registry, user.services.store, utc_now_ms())
    consent = {
        e.enterprise.id: user.access.can_read_machines(e.enterprise.id)
        for park in parks
        for e in park.enterprises
    }
    context = {
        "parks": parks,
        "consent": consent,
        "form": form or EnterpriseForm(),
        "all_parks": user.services.registry.list_parks(),
    }
    return render(request, user, "operator/enterprises.html", context, status_code=status)


@router.get("/operator/enterprises")
def enterprises_page(request: Request, user: PageUserDep) -> Response:
    _require_operator(user)
    return _enterprises(request, user)


@router.post("/operator/enterprises")
async def register_enterprise(request: Request, user: PageUserDep) -> Response:
    """Register an enterprise through the API's own service; errors beside their fields."""
    _require_operator(user)
    data = await request.form()
    typed = {name: str(data.get(name) or "").strip() for name in ENTERPRISE_FIELDS}
    form = EnterpriseForm(
        park_id=typed["park_id"],
        name=typed["name"],
        uscc=typed["uscc"],
        nbs_category=typed["nbs_category"],
    )
    if not (form.park_id.isascii() and form.park_id.isdigit() and len(form.park_id) < 19):
        form.errors["park_id"] = user.tr.error("park_required", "choose a park")
        return _enterprises(request, user, form, status=422)
    try:
        made = account_service.register_enterprise(
            user.services.registry,
            user.access,
            int(form.park_id),
            form.name,
            form.uscc,
            form.nbs_category or None,
        )
    except ShuguError as exc:
        where = str(exc.details.get("field") or "")
        form.errors[where if where in ENTERPRISE_FIELDS else "_form"] = user.tr.error(
            exc.code, exc.message
        )
        return _enterprises(request, user, form, status=exc.http_status)
    return RedirectResponse(f"/operator/enterprises/{made.id}", status_code=303)


def _device_rows(user: PageUser, devices: list[DeviceRecord]) -> list[dict[str, Any]]:
    store = user.services.store
    last_seen = LatestValues(store.latest([d.id for d in devices])).last_seen()
    state = states({d.id: d.profile for d in devices}, last_seen, utc_now_ms())
    return [
        {
            "device": d,
            "last_seen": last_seen.get(d.id),
            "state": state[d.id].value,
            "state_label": STATE_LABELS[state[d.id]],
        }
        for d in devices
    ]


@router.get("/operator/enterprises/{enterprise_id}")
def enterprise_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    _require_operator(user)
    registry = user.services.registry
    visible_enterprise_devices(registry, user.access, enterprise_id)
    enterprise = registry.get_enterprise(enterprise_id)
    devices = registry.list_devices(enterprise_id)
    assets = {a.id: a.name for a in registry.list_assets(enterprise_id)}
    context = {
        "enterprise": enterprise,
        "park": registry.get_park(enterprise.park_id),
        "users": registry.list_users(enterprise_id),
        "rows": _device_rows(user, devices),
        "assets": assets,
        "profiles": _profile_labels(user),
        "consent": user.access.can_read_machines(enterprise_id),
        "links": ENTERPRISE_LINKS,
    }
    return render(request, user, "operator/enterprise.html", context)


def _managed_device(user: PageUser, enterprise_id: int, device_id: int) -> DeviceRecord:
    """A device of the enterprise in the URL that the operator may manage (404 otherwise)."""
    _require_operator(user)
    registry = user.services.registry
    ref = listed_device(registry, user.access, device_id)
    if ref.enterprise_id != enterprise_id:
        raise NotFoundError("no such device", code="not_found")
    require_enterprise_admin(user.access, ref.enterprise_id)
    return registry.get_device(device_id)


@router.post("/operator/enterprises/{enterprise_id}/devices/{device_id}/token")
def rotate_token(
    request: Request, enterprise_id: int, device_id: int, user: PageUserDep
) -> Response:
    device = _managed_device(user, enterprise_id, device_id)
    token = device_credentials.rotate_device_token(user.services, device_id)
    row = _device_rows(user, [device])[0]
    context = {
        "row": row,
        "assets": _asset_names(user, enterprise_id),
        "profiles": _profile_labels(user),
        "token": token,
    }
    return render(request, user, "operator/_device_row.html", context, headers=NO_STORE)


@router.delete("/operator/enterprises/{enterprise_id}/devices/{device_id}")
def delete_device(
    request: Request, enterprise_id: int, device_id: int, user: PageUserDep
) -> Response:
    device = _managed_device(user, enterprise_id, device_id)
    device_credentials.delete_device(user.services, device_id)
    return render(request, user, "operator/_device_deleted.html", {"device": device})


def _profile_labels(user: PageUser) -> dict[str, str]:
    zh = user.tr.lang == "zh-CN"
    return {p.name: p.label_zh if zh else p.label_en for p in load_profiles().values()}


def _asset_names(user: PageUser, enterprise_id: int) -> dict[int, str]:
    return {a.id: a.name for a in user.services.registry.list_assets(enterprise_id)}


def _rejects_context(user: PageUser) -> dict[str, Any]:
    """Refusals by reason (every device's: counts name no value) and the newest samples the
    operator may read (a sample quotes what was sent: only deviceless ones and those of
    enterprises that consent)."""
    services = user.services
    log = platform_rejects(
        services.door.refusals, services.registry, services.store, user.access, SAMPLES_SHOWN
    )
    # The log was just brought up to date: read its counts afresh, not the stream's cache.
    forget_reject_counts(services.store)
    by_code = reject_counts(services.store, services.door.refusals)
    names: dict[int, str] = {}
    for sample in log.samples:
        device = sample.get("device")
        if isinstance(device, int) and device not in names:
            ref = services.registry.get_device_ref(device)
            names[device] = ref.name if ref is not None else f"#{device}"
    samples = [{**s, "device_name": names.get(s.get("device") or 0)} for s in log.samples]
    codes = sorted(by_code.items(), key=lambda item: (-item[1]["n"], item[0]))
    return {"reject_codes": codes, "samples": samples}


@router.get("/operator/health")
def health_page(request: Request, user: PageUserDep) -> Response:
    _require_operator(user)
    context = {
        "h": snapshot(user.services),
        "transports": [(t, TRANSPORT_LABELS[t]) for t in TRANSPORTS],
        "transport_labels": {t: user.tr(label) for t, label in TRANSPORT_LABELS.items()},
        "history": ingest_history(user.services),
        **_rejects_context(user),
    }
    return render(request, user, "operator/health.html", context)


@router.get("/operator/health/rejects")
def rejects_fragment(request: Request, user: PageUserDep) -> Response:
    """Refusals by reason and the newest samples (refetched when refusals grow)."""
    _require_operator(user)
    return render(request, user, "operator/_rejects.html", _rejects_context(user))
