"""Adding a device: the form, its access token shown once with ready-made snippets, and its
first message shown live as it arrives.

The token is rendered only in the answer to the POST that created the device (an htmx swap, or
a whole page for a browser without scripts) and marked ``no-store``: it is never in a URL, the
history or a cache. The device is created by the registry call the API's
``POST /api/enterprises/{id}/devices`` makes, after the same scope check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from shugu.api.scope import require_enterprise_admin, visible_enterprise_devices
from shugu.domain.digits import ascii_int
from shugu.domain.errors import NotFoundError, ShuguError
from shugu.domain.profiles import Profile, get_profile, load_profiles
from shugu.store.registry import AssetRecord, EnterpriseRecord
from shugu.web.i18n import N_
from shugu.web.onboarding_snippets import Endpoint, snippets
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

FIELDS: Final = ("name", "profile", "asset_id", "is_gateway")
NO_STORE: Final = {"cache-control": "no-store"}
#: Asset levels as the form's asset list names them.
LEVELS: Final = {
    "site": N_("Site"),
    "area": N_("Area"),
    "line": N_("Line"),
    "unit": N_("Unit"),
}


def _enterprise(user: PageUser, enterprise_id: int) -> EnterpriseRecord:
    """The enterprise whose devices ``user`` manages: 404 when it is not theirs to see, 403
    when they may see it but not add devices, as the API answers."""
    registry = user.services.registry
    visible_enterprise_devices(registry, user.access, enterprise_id)
    require_enterprise_admin(user.access, enterprise_id)
    return registry.get_enterprise(enterprise_id)


def profile_label(profile: Profile, lang: str) -> str:
    return profile.label_zh if lang == "zh-CN" else profile.label_en


def metric_labels(profile: Profile, lang: str) -> dict[str, dict[str, Any]]:
    """Each metric's label and its states' labels in ``lang``, for the first message's table
    (``static/onboard.js``)."""
    zh = lang == "zh-CN"
    return {
        name: {
            "label": spec.label_zh if zh else spec.label_en,
            "unit": spec.unit,
            "states": {
                str(code): state.label_zh if zh else state.label_en
                for code, state in (spec.states or {}).items()
            },
        }
        for name, spec in profile.metrics.items()
    }


def _asset_options(assets: list[AssetRecord]) -> list[dict[str, Any]]:
    """The plant as an indented list, each asset right after its parent."""
    depth: dict[int, int] = {}
    options = []
    for asset in assets:
        parent = asset.parent_id
        indent = depth[asset.id] = 0 if parent is None else depth.get(parent, 0) + 1
        options.append({"id": asset.id, "name": asset.name, "level": asset.level, "depth": indent})
    return options


def _form_context(
    user: PageUser,
    enterprise: EnterpriseRecord,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    form_error: str = "",
) -> dict[str, Any]:
    profiles = sorted(load_profiles().values(), key=lambda p: (p.name == "generic", p.name))
    return {
        "enterprise": enterprise,
        "profiles": [(p.name, profile_label(p, user.tr.lang)) for p in profiles],
        "assets": _asset_options(user.services.registry.list_assets(enterprise.id)),
        "levels": LEVELS,
        "values": values,
        "errors": errors,
        "form_error": form_error,
    }


@router.get("/e/{enterprise_id}/onboard")
def onboard_form(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    enterprise = _enterprise(user, enterprise_id)
    # The kind of machine the enterprise has most of is the likeliest next one.
    profiles = Counter(
        d.profile for d in user.services.registry.device_refs_of_enterprise(enterprise_id)
    )
    likeliest = profiles.most_common(1)[0][0] if profiles else ""
    values = {"name": "", "profile": likeliest, "asset_id": "", "is_gateway": ""}
    context = _form_context(user, enterprise, values, {})
    return render(request, user, "onboard/page.html", {**context, "created": None})


def _endpoint(request: Request, user: PageUser) -> Endpoint:
    services = user.services
    mqtt_port = services.mqtt_port
    if mqtt_port is None and services.mqtt is not None:
        mqtt_port = services.settings.mqtt_port
    return Endpoint(
        host=request.url.hostname or "localhost",
        http_base=str(request.base_url).rstrip("/"),
        mqtt_port=mqtt_port if services.mqtt is not None else None,
        mqtt_tls_port=services.mqtt_tls_port if services.mqtt is not None else None,
    )


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.post("/e/{enterprise_id}/onboard")
def onboard_submit(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    profile: Annotated[str, Form(max_length=200)] = "",
    asset_id: Annotated[str, Form(max_length=40)] = "",
    is_gateway: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    enterprise = _enterprise(user, enterprise_id)
    values = {"name": name, "profile": profile, "asset_id": asset_id, "is_gateway": is_gateway}
    htmx = _is_htmx(request)
    try:
        asset = None
        if asset_id.strip():
            asset = ascii_int(asset_id.strip())
            if asset is None:
                raise NotFoundError("no such asset", code="not_found", field="asset_id")
        device, token = user.services.registry.create_device(
            enterprise_id, name, profile, asset_id=asset, is_gateway=bool(is_gateway)
        )
    except ShuguError as exc:
        field = exc.details.get("field")
        message = user.tr.error(exc.code, exc.message)
        errors = {field: message} if field in FIELDS else {}
        context = _form_context(user, enterprise, values, errors, "" if errors else message)
        template = "onboard/_form.html" if htmx else "onboard/page.html"
        status = 422 if exc.http_status in (404, 409, 422) else exc.http_status
        return render(request, user, template, {**context, "created": None}, status_code=status)
    chosen = get_profile(device.profile)
    watch = user.access.can_read_machines(enterprise_id)
    created = {
        "device": device,
        "token": token,
        "profile_label": profile_label(chosen, user.tr.lang),
        "snippets": snippets(_endpoint(request, user), token, chosen, device.is_gateway),
        "watch": watch,
        "labels": metric_labels(chosen, user.tr.lang),
    }
    template = "onboard/_result.html" if htmx else "onboard/page.html"
    context = {"enterprise": enterprise, "created": created}
    return render(request, user, template, context, headers=NO_STORE)
