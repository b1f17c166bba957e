"""The device page: a device's place and state, its metrics charted, its attributes, its recent
rejects and a console to send it commands.

Scoping is the API's: the page shows the plant (name, profile, place) to whoever may see the
device listed, and its values only to a reader of its machine values; the fragments and the
chart data refuse everyone else as the API's routes do. Commands go through the same RPC hub
call as ``POST /api/devices/{id}/rpc``, attributes and rejects through the same services as
their API routes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from shugu.api.scope import commanded_device, listed_device, may_command, visible_device
from shugu.domain.entities import DeviceRef
from shugu.domain.errors import ForbiddenError, ValidationError
from shugu.ingest.attributes import attribute_problem
from shugu.ingest.rejects_log import RejectsLog, device_rejects
from shugu.ingest.rpc import RpcError
from shugu.web import device_chart
from shugu.web.device_chart import CUSTOM, RANGES, parse_range
from shugu.web.device_view import DeviceHeader, alarm_badge, device_header
from shugu.web.i18n import N_
from shugu.web.plant import STATE_LABELS
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render, to_local

router = APIRouter(include_in_schema=False)
# The chart data's route is declared here, with the page's others, from its own module.
router.add_api_route("/devices/{device_id}/chart", device_chart.device_chart, methods=["GET"])

#: Rejects listed on the page: the newest few say what goes wrong.
REJECT_SAMPLES: Final = 20
#: What a command waits for the device's answer, unless the form says otherwise.
DEFAULT_RPC_TIMEOUT_S: Final = 10
MAX_RPC_TIMEOUT_S: Final = 120
MAX_RPC_METHOD_CHARS: Final = 255
#: The range picker's buttons, in the user's language.
RANGE_LABELS: Final = {
    "1h": N_("1 h"),
    "6h": N_("6 h"),
    "24h": N_("24 h"),
    "7d": N_("7 d"),
    "30d": N_("30 d"),
}
#: Messages device.js shows, handed to it translated.
CHART_MESSAGES: Final = (
    N_("Average"),
    N_("Minimum"),
    N_("Maximum"),
    N_("Min–max band"),
    N_("Value"),
    N_("No data in this range"),
    N_("Raw points"),
    N_("Averaged per {width}"),
    N_("States reached per {width}"),
    N_("{percent}% {state}"),
    N_("Live"),
    N_("{n} s"),
    N_("{n} min"),
    N_("{n} h"),
    N_("{n} d"),
)


def may_see_rejects(user: PageUser, ref: DeviceRef) -> bool:
    """The rejects log is for the enterprise's administrators and the operator with consent,
    as ``GET /api/rejects`` decides."""
    return user.access.can_read_machines(ref.enterprise_id) and user.access.can_manage_enterprise(
        ref.enterprise_id
    )


def _chart_config(
    user: PageUser, ref: DeviceRef, header: DeviceHeader, range_key: str, start: str, end: str
) -> str:
    text = json.dumps(
        {
            "device": ref.id,
            "range": range_key,
            "start": start,
            "end": end,
            "metrics": [
                {
                    "name": m.name,
                    "label": m.label,
                    "unit": m.unit,
                    "kind": m.kind,
                    "digits": m.digits,
                    "states": m.states,
                }
                for m in header.metrics
            ],
            "messages": {message: user.tr(message) for message in CHART_MESSAGES},
        },
        ensure_ascii=False,
    )
    # Inside <script>: no character that could end or comment out the element (a metric's
    # name is what a device sent, for profiles that take any metric).
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text


def _local_input(ts_ms: int) -> str:
    """A time as a ``datetime-local`` input shows it, in China time (as the server reads it)."""
    local = to_local(ts_ms)
    return local.strftime("%Y-%m-%dT%H:%M") if local is not None else ""


@router.get("/devices/{device_id}")
def device_page(
    request: Request,
    device_id: int,
    user: PageUserDep,
    range: Annotated[str | None, Query(max_length=16)] = None,
    start: Annotated[str | None, Query(max_length=64)] = None,
    end: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    ref = listed_device(user.services.registry, user.access, device_id)
    with_values = user.access.can_read_machines(ref.enterprise_id)
    header = device_header(user, ref, with_values=with_values)
    # A link with a bad range still shows the device, over the default range.
    try:
        chosen = parse_range(range, start, end)
    except ValidationError:
        chosen, start, end = parse_range(None, None, None), None, None
    custom = chosen.key == CUSTOM
    context: dict[str, Any] = {
        "device": ref,
        "header": header,
        "with_values": with_values,
        "state_label": user.tr(STATE_LABELS[header.state]),
        "state_labels": {state.value: user.tr(label) for state, label in STATE_LABELS.items()},
        "ranges": [(key, user.tr(RANGE_LABELS[key])) for key in RANGES],
        "range": chosen.key,
        "custom": custom,
        "start_local": _local_input(chosen.start_ms) if custom else "",
        "end_local": _local_input(chosen.end_ms) if custom and not chosen.live else "",
        "can_command": with_values and may_command(user.access, ref.enterprise_id),
        "can_set_shared": with_values and user.access.can_manage_enterprise(ref.enterprise_id),
        "can_see_rejects": may_see_rejects(user, ref),
    }
    if with_values:
        context["badge"] = alarm_badge(user.services.registry, ref)
        context["attributes"] = user.services.attributes.of_device(ref.id)
        context["chart_config"] = _chart_config(
            user, ref, header, chosen.key, start or "", end or ""
        )
        context["attribute_errors"] = {}
        context["attribute_form"] = {"key": "", "value": ""}
        if context["can_see_rejects"]:
            context["rejects"] = _rejects(user, ref)
    return render(request, user, "device/page.html", context)


@router.get("/devices/{device_id}/alarm-badge")
def device_alarm_badge(request: Request, device_id: int, user: PageUserDep) -> Response:
    """The open-alarm badge, refetched when the enterprise's alarms change."""
    ref = visible_device(user.services.registry, user.access, device_id)
    return render(
        request,
        user,
        "device/_alarm_badge.html",
        {"device": ref, "badge": alarm_badge(user.services.registry, ref)},
    )


def _rejects(user: PageUser, ref: DeviceRef) -> RejectsLog:
    return device_rejects(
        user.services.door.refusals, user.services.store, [ref.id], REJECT_SAMPLES
    )


@router.get("/devices/{device_id}/rejects")
def device_rejects_fragment(request: Request, device_id: int, user: PageUserDep) -> Response:
    """The device's refused values: counts by reason and the newest samples."""
    ref = visible_device(user.services.registry, user.access, device_id)
    if not may_see_rejects(user, ref):
        raise ForbiddenError(
            "the rejects log is for operators and enterprise administrators", code="forbidden"
        )
    return render(
        request, user, "device/_rejects.html", {"device": ref, "rejects": _rejects(user, ref)}
    )


def _attributes_fragment(
    request: Request,
    user: PageUser,
    ref: DeviceRef,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        user,
        "device/_attributes.html",
        {
            "device": ref,
            "attributes": user.services.attributes.of_device(ref.id),
            "can_set_shared": user.access.can_manage_enterprise(ref.enterprise_id),
            "attribute_errors": errors or {},
            "attribute_form": form or {"key": "", "value": ""},
        },
        status_code=status,
    )


def _json_or_text(value: str) -> Any:
    """A JSON value as typed; a bare word is meant as text (``eco`` for ``"eco"``)."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.strip()


@router.post("/devices/{device_id}/attributes/shared")
async def set_shared_attribute(
    request: Request,
    device_id: int,
    user: PageUserDep,
    key: Annotated[str, Form(max_length=1000)] = "",
    value: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """Set one shared attribute (a set point, a reporting period), pushed to the device as
    ``POST /api/devices/{id}/attributes/shared`` pushes it."""
    ref = visible_device(user.services.registry, user.access, device_id)
    if not user.access.can_manage_enterprise(ref.enterprise_id):
        raise ForbiddenError(
            "only the enterprise's administrators set shared attributes", code="forbidden"
        )
    form = {"key": key, "value": value}
    name = key.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["key"] = user.tr("Name the attribute")
    elif attribute_problem(name, None) is not None:
        errors["key"] = user.tr.error("bad_attribute")
    if not value.strip():
        errors["value"] = user.tr("Give the attribute a value")
    if not errors:
        try:
            await user.services.attributes.set_shared(ref.id, {name: _json_or_text(value)})
        except ValidationError as exc:
            errors["value"] = user.tr.error(exc.code, exc.message)
    if errors:
        return _attributes_fragment(request, user, ref, errors=errors, form=form, status=422)
    return _attributes_fragment(request, user, ref)


@router.post("/devices/{device_id}/rpc")
async def send_command(
    request: Request,
    device_id: int,
    user: PageUserDep,
    method: Annotated[str, Form(max_length=10_000)] = "",
    params: Annotated[str, Form(max_length=100_000)] = "",
    timeout_s: Annotated[str, Form(max_length=32)] = "",
    oneway: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Send a command to the device and show its answer, or why there is none (offline, no
    answer in time), as ``POST /api/devices/{id}/rpc`` sends it."""
    ref = commanded_device(user.services.registry, user.access, device_id)
    errors: dict[str, str] = {}
    method = method.strip()
    if not 1 <= len(method) <= MAX_RPC_METHOD_CHARS:
        errors["method"] = user.tr("Name the command (1 to 255 characters)")
    parsed: Any = None
    if params.strip():
        try:
            parsed = orjson.loads(params)
        except orjson.JSONDecodeError:
            errors["params"] = user.tr(
                "Parameters are JSON, such as {example}", example='{"speed": 600}'
            )
    timeout = DEFAULT_RPC_TIMEOUT_S
    if timeout_s.strip():
        try:
            timeout = int(timeout_s.strip())
        except ValueError:
            timeout = -1
        if not 1 <= timeout <= MAX_RPC_TIMEOUT_S:
            errors["timeout_s"] = user.tr("Wait between 1 and {max} seconds", max=MAX_RPC_TIMEOUT_S)
    one_way = oneway in ("1", "on", "true")
    context: dict[str, Any] = {
        "device": ref,
        "errors": errors,
        "form": {"method": method, "params": params, "timeout_s": timeout_s, "oneway": one_way},
        "outcome": None,
    }
    if errors:
        return render(request, user, "device/_rpc.html", context, status_code=422)
    try:
        answer = await user.services.rpc.call(ref.id, method, parsed, timeout, one_way)
    except RpcError as exc:
        text = user.tr.error(exc.code, exc.message)
        context["outcome"] = {"ok": False, "code": exc.code, "text": text}
    else:
        context["outcome"] = {
            "ok": True,
            "oneway": one_way,
            "answer": orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode(),
        }
    return render(request, user, "device/_rpc.html", context)
