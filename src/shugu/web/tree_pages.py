"""The enterprise engineer's asset tree and device list.

``/e/{id}/tree``: site → area → line → unit, each node with its devices, how many are online and
the worst of its open alarms; ``/e/{id}/tree/status`` re-renders those figures for the page when
alarms change. ``/e/{id}/devices``: the devices with their listed values, state, last-seen and
open alarms, filtered by name, profile, asset and state, a page at a time; an htmx request gets
the result table only.

Whoever may see the enterprise's plant sees the tree and the list (the operator, the bureau with
the enterprise's consent, the enterprise's own people); values, states and alarms only where
``can_read_machines``, as the API's scoping decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from shugu.api.scope import require_machine_access, visible_enterprise_devices
from shugu.monitor.liveness import Liveness
from shugu.web.asset_tree import UNPLACED, flat, totals, tree_of
from shugu.web.device_list import DeviceFilter, device_page, parse_filter
from shugu.web.plant import LEVEL_LABELS, STATE_LABELS, Plant, profile_label, profiles, read_plant
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)


def _wants_fragment(request: Request) -> bool:
    """An htmx swap of part of the page; a history restore (back button) needs the whole."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true" and headers.get("hx-history-restore-request") != "true"
    )


def _plant(user: PageUser, enterprise_id: int) -> Plant:
    visible_enterprise_devices(user.services.registry, user.access, enterprise_id)
    with_values = user.access.can_read_machines(enterprise_id)
    return read_plant(user.services, enterprise_id, with_values=with_values)


def _common(plant: Plant) -> dict[str, Any]:
    base = f"/e/{plant.enterprise.id}"
    return {
        "plant": plant,
        "enterprise": plant.enterprise,
        "with_values": plant.with_values,
        "level_labels": LEVEL_LABELS,
        "state_labels": STATE_LABELS,
        "tree_url": f"{base}/tree",
        "devices_url": f"{base}/devices",
        "unplaced": UNPLACED,
    }


@router.get("/e/{enterprise_id}/tree")
def tree_page(enterprise_id: int, request: Request, user: PageUserDep) -> Response:
    plant = _plant(user, enterprise_id)
    context = _common(plant) | {"nodes": tree_of(plant), "totals": totals(plant)}
    return render(request, user, "tree/tree.html", context)


@router.get("/e/{enterprise_id}/tree/status")
def tree_status(enterprise_id: int, request: Request, user: PageUserDep) -> Response:
    """Each node's figures, swapped into the open tree by id (out of band), so that the tree
    keeps what the reader folded."""
    visible_enterprise_devices(user.services.registry, user.access, enterprise_id)
    require_machine_access(user.access, enterprise_id)
    plant = read_plant(user.services, enterprise_id, with_values=True)
    context = _common(plant) | {"nodes": flat(tree_of(plant)), "totals": totals(plant)}
    return render(request, user, "tree/_status.html", context)


@router.get("/e/{enterprise_id}/devices")
def device_list(
    enterprise_id: int,
    request: Request,
    user: PageUserDep,
    q: str = "",
    profile: str = "",
    asset: str = "",
    state: str = "",
    page: str = "",
) -> Response:
    plant = _plant(user, enterprise_id)
    known = profiles()
    chosen, problems = parse_filter(
        plant, known, q=q, profile=profile, asset=asset, state=state, page=page
    )
    if chosen.state:
        # A device's state tells whether it sends values: a machine value itself.
        require_machine_access(user.access, enterprise_id)
    lang = user.tr.lang
    shown = device_page(plant, known, chosen, lang)
    errors = {field: user.tr.error(e.code, e.message) for field, e in problems.items()}
    context = _common(plant) | {
        "filter": chosen,
        "result": shown,
        "errors": errors,
        "page_url": _page_url(plant, chosen),
        "profile_options": sorted(
            {(d.profile, profile_label(d.profile, lang, known)) for d in plant.devices},
            key=lambda option: option[1],
        ),
        "asset_options": [(a.id, len(plant.paths.get(a.id, ())) - 1, a.name) for a in plant.assets],
        "has_unplaced": any(d.asset_id is None for d in plant.devices),
        "state_options": [(s.value, STATE_LABELS[s]) for s in Liveness],
    }
    template = "tree/_device_results.html" if _wants_fragment(request) else "tree/devices.html"
    return render(request, user, template, context, status_code=422 if errors else 200)


def _page_url(plant: Plant, chosen: DeviceFilter) -> Callable[[int | None], str]:
    base = f"/e/{plant.enterprise.id}/devices"

    def url(page: int | None = None) -> str:
        return base + chosen.query(page)

    return url
