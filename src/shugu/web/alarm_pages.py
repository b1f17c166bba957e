"""The alarm pages: an enterprise's alarms (filtered, live), one alarm with its history, and the
actions people take on an alarm (acknowledge, clear, shelve with a note).

The list and the alarm are the API's (``monitor/alarm_service.py``), scoped as the API scopes
them (``api/scope.py``). The table refetches itself on every alarm change of the enterprise (the
page's ``data-live-alarms`` stream fires ``shugu:alarms``), so an acknowledgement on one open
page shows on every other without a reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from shugu.api.scope import (
    alarm_handler,
    may_handle_alarms,
    visible_alarm,
    visible_enterprise_for_machines,
)
from shugu.domain.errors import ValidationError
from shugu.monitor import alarm_service
from shugu.monitor.alarm_service import AlarmFilter, Lang, StatusFilter
from shugu.monitor.alarms import MAX_NOTE_LENGTH
from shugu.monitor.model import Severity
from shugu.store.registry.monitoring import AlarmRecord
from shugu.web.i18n import N_
from shugu.web.incident_pages import incidents_context
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import LOCAL_TZ, render

router = APIRouter(include_in_schema=False)

#: Rows a table shows at most: the newest.
TABLE_LIMIT: Final = 200
MAX_DEVICE_FILTER: Final = 200
#: The element ids that ask for the table: the filter form changes the address bar, the
#: table's own live refetch does not.
FILTER_FORM_ID: Final = "alarm-filters"

STATUS_LABELS: Final = {
    StatusFilter.open: N_("Open"),
    StatusFilter.active: N_("Active"),
    StatusFilter.acknowledged: N_("Acknowledged"),
    StatusFilter.shelved: N_("Shelved"),
    StatusFilter.cleared: N_("Cleared"),
    StatusFilter.all: N_("All"),
}
PERIODS: Final = {
    "1h": (timedelta(hours=1), N_("Last hour")),
    "24h": (timedelta(hours=24), N_("Last 24 hours")),
    "7d": (timedelta(days=7), N_("Last 7 days")),
    "30d": (timedelta(days=30), N_("Last 30 days")),
}
#: What happened to an alarm, as its history lists it.
EVENT_LABELS: Final = {
    "raised": N_("Alarm raised"),
    "acknowledged": N_("Acknowledged"),
    "shelved": N_("Shelved"),
    "cleared": N_("Cleared"),
    "flapping": N_("Started flapping"),
    "flapping_ended": N_("Stopped flapping"),
    "repeated": N_("Reminder sent"),
    "escalated": N_("Escalated"),
    "reopened": N_("Re-opened its incident"),
}
SHELVE_PRESETS: Final = (30, 60, 120, 480, 1440)


def data_lang(user: PageUser) -> Lang:
    """The language of the texts an alarm carries, for the user's console language."""
    return "en" if user.tr.lang == "en" else "zh"


# -- filters ----------------------------------------------------------------------------------


@dataclass
class Filters:
    """The table's filters as the form sent them, what they mean, and what was wrong."""

    status: str = StatusFilter.open.value
    severity: str = ""
    device: str = ""
    period: str = ""
    date_from: str = ""
    date_to: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    wanted: AlarmFilter = field(default_factory=AlarmFilter)

    def query(self) -> str:
        pairs = {
            "status": self.status,
            "severity": self.severity,
            "device": self.device,
            "period": self.period,
            "from": self.date_from,
            "to": self.date_to,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


def _day(raw: str) -> date:
    return date.fromisoformat(raw)


def parse_filters(user: PageUser, params: dict[str, str]) -> Filters:
    found = Filters(
        status=params.get("status", "") or StatusFilter.open.value,
        severity=params.get("severity", ""),
        device=params.get("device", "").strip(),
        period=params.get("period", ""),
        date_from=params.get("from", ""),
        date_to=params.get("to", ""),
    )

    def wrong(name: str) -> None:
        found.errors[name] = user.tr.error("alarm_filter_invalid")

    status = StatusFilter.open
    if found.status in StatusFilter.__members__:
        status = StatusFilter(found.status)
    else:
        wrong("status")
    severities: tuple[Severity, ...] = ()
    if found.severity:
        if found.severity in Severity.__members__:
            severities = (Severity(found.severity),)
        else:
            wrong("severity")
    if len(found.device) > MAX_DEVICE_FILTER:
        wrong("device")
    now = datetime.now(UTC)
    raised_from: datetime | None = None
    raised_to: datetime | None = None
    if found.period:
        if found.period in PERIODS:
            raised_from = now - PERIODS[found.period][0]
        else:
            wrong("period")
    for name, raw in (("from", found.date_from), ("to", found.date_to)):
        if not raw:
            continue
        try:
            day = _day(raw)
        except ValueError:
            wrong(name)
            continue
        if name == "from":
            start = datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
            raised_from = max(raised_from, start) if raised_from else start
        else:  # the whole day named
            raised_to = datetime.combine(day + timedelta(days=1), time(), LOCAL_TZ).astimezone(UTC)
    if raised_from and raised_to and raised_to <= raised_from and "to" not in found.errors:
        wrong("to")
    found.wanted = AlarmFilter(
        status=status,
        severities=severities,
        device_name=found.device if "device" not in found.errors else "",
        raised_from=raised_from,
        raised_to=raised_to,
        limit=TABLE_LIMIT,
    )
    return found


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str)}


# -- the enterprise's alarms --------------------------------------------------------------------


def _table_context(user: PageUser, enterprise_id: int, filters: Filters) -> dict[str, Any]:
    alarms = []
    if not filters.errors:
        alarms = alarm_service.list_alarms(
            user.services.registry,
            user.services.monitor,
            [enterprise_id],
            filters.wanted,
            data_lang(user),
        )
    query = filters.query()
    return {
        "enterprise_id": enterprise_id,
        "alarms": alarms,
        "filters": filters,
        "truncated": len(alarms) >= TABLE_LIMIT,
        "limit": TABLE_LIMIT,
        "table_url": f"/e/{enterprise_id}/alarms/table" + (f"?{query}" if query else ""),
        "can_ack": may_handle_alarms(user.access, enterprise_id, manage=False),
        "can_manage": may_handle_alarms(user.access, enterprise_id, manage=True),
        "status_labels": STATUS_LABELS,
        "periods": PERIODS,
        "severities": list(Severity),
    }


@router.get("/e/{enterprise_id}/alarms")
def alarms_page(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    registry = user.services.registry
    visible_enterprise_for_machines(registry, user.access, enterprise_id)
    filters = parse_filters(user, _params(request))
    context = _table_context(user, enterprise_id, filters)
    context["enterprise"] = registry.get_enterprise(enterprise_id)
    context.update(incidents_context(user, enterprise_id))
    status = 422 if filters.errors else 200
    return render(request, user, "alarms/page.html", context, status_code=status)


@router.get("/e/{enterprise_id}/alarms/table")
def alarms_table(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """The table alone: the filter form asks for it, and it refetches itself on alarm changes."""
    visible_enterprise_for_machines(user.services.registry, user.access, enterprise_id)
    filters = parse_filters(user, _params(request))
    context = _table_context(user, enterprise_id, filters)
    headers = {}
    if request.headers.get("hx-trigger") == FILTER_FORM_ID and not filters.errors:
        query = filters.query()
        headers["HX-Replace-Url"] = f"/e/{enterprise_id}/alarms" + (f"?{query}" if query else "")
    status = 422 if filters.errors else 200
    return render(request, user, "alarms/table.html", context, status_code=status, headers=headers)


# -- one alarm ----------------------------------------------------------------------------------


@dataclass
class ActionForm:
    note: str = ""
    minutes: str = "60"
    errors: dict[str, str] = field(default_factory=dict)


def _detail_context(user: PageUser, record: AlarmRecord, form: ActionForm) -> dict[str, Any]:
    found = alarm_service.alarm_detail(
        user.services.registry, user.services.monitor, record, data_lang(user)
    )
    return {
        "alarm": found.alarm,
        "history": found.history,
        "event_labels": EVENT_LABELS,
        "status_labels": STATUS_LABELS,
        "can_ack": may_handle_alarms(user.access, record.enterprise_id, manage=False),
        "can_manage": may_handle_alarms(user.access, record.enterprise_id, manage=True),
        "form": form,
        "shelve_presets": SHELVE_PRESETS,
        "max_note": MAX_NOTE_LENGTH,
    }


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _detail(
    request: Request,
    user: PageUser,
    record: AlarmRecord,
    form: ActionForm | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = _detail_context(user, record, form or ActionForm())
    if _is_htmx(request):
        return render(
            request, user, "alarms/detail.html", context, status_code=status, headers=headers
        )
    context["enterprise"] = user.services.registry.get_enterprise(record.enterprise_id)
    return render(request, user, "alarms/alarm.html", context, status_code=status)


@router.get("/alarms/{alarm_id}")
def alarm_page(request: Request, alarm_id: int, user: PageUserDep) -> Response:
    """One alarm with its history and actions: the panel beside the table (htmx), or a page."""
    record = visible_alarm(user.services.registry, user.access, alarm_id)
    return _detail(request, user, record)


@router.get("/alarms/{alarm_id}/state")
def alarm_state(request: Request, alarm_id: int, user: PageUserDep) -> Response:
    """The alarm's facts and history, which refetch themselves on alarm changes (the action
    form beside them stays as the user is filling it in)."""
    record = visible_alarm(user.services.registry, user.access, alarm_id)
    context = _detail_context(user, record, ActionForm())
    return render(request, user, "alarms/state.html", context)


def _acted(request: Request, user: PageUser, alarm_id: int) -> Response:
    """After an action: the alarm again, and every alarm fragment of the page refetches."""
    if not _is_htmx(request):
        return RedirectResponse(f"/alarms/{alarm_id}", status_code=303)
    record = visible_alarm(user.services.registry, user.access, alarm_id)
    return _detail(request, user, record, headers={"HX-Trigger": "shugu:alarms"})


NoteField = Annotated[str, Form()]


@router.post("/alarms/{alarm_id}/ack")
def acknowledge(
    request: Request, alarm_id: int, user: PageUserDep, note: NoteField = ""
) -> Response:
    by = alarm_handler(user.services.registry, user.access, alarm_id, manage=False)
    alarm_service.acknowledge(user.services.monitor, alarm_id, by, note)
    return _acted(request, user, alarm_id)


@router.post("/alarms/{alarm_id}/clear")
def clear(request: Request, alarm_id: int, user: PageUserDep, note: NoteField = "") -> Response:
    by = alarm_handler(user.services.registry, user.access, alarm_id, manage=True)
    alarm_service.clear(user.services.monitor, alarm_id, by, note)
    return _acted(request, user, alarm_id)


@router.post("/alarms/{alarm_id}/shelve")
def shelve(
    request: Request,
    alarm_id: int,
    user: PageUserDep,
    note: NoteField = "",
    minutes: Annotated[str, Form()] = "",
) -> Response:
    registry = user.services.registry
    by = alarm_handler(registry, user.access, alarm_id, manage=True)
    form = ActionForm(note=note, minutes=minutes)
    try:
        count = int(minutes.strip())
    except ValueError:
        form.errors["minutes"] = user.tr.error("shelve_minutes_invalid")
    else:
        try:
            alarm_service.shelve(user.services.monitor, alarm_id, count, by, note)
        except ValidationError as exc:
            name = str(exc.details.get("field", "minutes"))
            form.errors[name] = user.tr.error(exc.code, exc.message)
    if form.errors:
        record = visible_alarm(registry, user.access, alarm_id)
        return _detail(request, user, record, form, status=422)
    return _acted(request, user, alarm_id)
