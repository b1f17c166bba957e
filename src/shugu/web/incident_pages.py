"""Incidents on the alarms page: alarms that share a cause, folded under their incident with the
probable cause marked, acknowledged in one click.

The list is the API's (``monitor/incidents_service.py``), scoped as the API scopes it. Like the
alarm table it refetches itself on every alarm change of the enterprise (``shugu:alarms``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from shugu.api.scope import (
    incident_handler,
    may_handle_alarms,
    visible_enterprise_for_machines,
)
from shugu.monitor import incidents_service
from shugu.monitor.alarm_service import Lang
from shugu.monitor.incidents_service import IncidentStateFilter
from shugu.web.i18n import N_
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

#: Incidents the page lists at most: the newest not closed.
LIST_LIMIT: Final = 50
INCIDENT_STATE_LABELS: Final = {
    "open": N_("Unacknowledged"),
    "acknowledged": N_("Acknowledged"),
    "closed": N_("Closed"),
}
ALARM_STATUS_LABELS: Final = {
    "active": N_("Active"),
    "acknowledged": N_("Acknowledged"),
    "cleared": N_("Cleared"),
}


def _lang(user: PageUser) -> Lang:
    return "en" if user.tr.lang == "en" else "zh"


def incidents_context(user: PageUser, enterprise_id: int) -> dict[str, Any]:
    """The enterprise's incidents not closed, each with its alarms (the alarms page shows them
    above its table)."""
    registry, monitor = user.services.registry, user.services.monitor
    lang = _lang(user)
    listed = registry.list_incidents(
        [enterprise_id], states=("open", "acknowledged"), limit=LIST_LIMIT
    )
    incidents = [incidents_service.incident_detail(registry, monitor, r, lang) for r in listed]
    return {
        "enterprise_id": enterprise_id,
        "incidents": incidents,
        "incident_state_labels": INCIDENT_STATE_LABELS,
        "alarm_status_labels": ALARM_STATUS_LABELS,
        "can_ack_incident": may_handle_alarms(user.access, enterprise_id, manage=False),
        "unclosed": IncidentStateFilter.unclosed.value,
    }


@router.get("/e/{enterprise_id}/alarms/incidents")
def incidents_fragment(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """The incident list alone: it refetches itself on alarm changes."""
    visible_enterprise_for_machines(user.services.registry, user.access, enterprise_id)
    context = incidents_context(user, enterprise_id)
    return render(request, user, "alarms/incidents.html", context)


@router.post("/incidents/{incident_id}/ack")
def acknowledge_incident(
    request: Request,
    incident_id: int,
    user: PageUserDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Acknowledge the incident and so each of its active alarms; every alarm fragment of the
    page refetches."""
    registry = user.services.registry
    by = incident_handler(registry, user.access, incident_id)
    record = incidents_service.acknowledge(registry, user.services.monitor, incident_id, by, note)
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/e/{record.enterprise_id}/alarms", status_code=303)
    return Response(status_code=204, headers={"HX-Trigger": "shugu:alarms"})
