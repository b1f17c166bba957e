"""The rules watching a device and its own limits (a fragment the device page loads), the form
that changes those limits, and an enterprise's rules.

Reading, saving and resetting go through ``monitor/rule_service.py``, as the API's rule routes
do, scoped by the API's own checks. Only users ``require_alarm_admin`` lets through see the edit
forms. An invalid value answers 422 with the form again, the error beside its field in the
user's language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from shugu.api.scope import listed_device, require_alarm_admin, require_device_access
from shugu.domain.errors import NotFoundError, ShuguError, ValidationError
from shugu.monitor import rule_service
from shugu.monitor.alarm_text import limit_line
from shugu.monitor.anomaly import DEFAULT_SENSITIVITY, PATTERN_SENSITIVITY
from shugu.monitor.model import Severity
from shugu.monitor.plant_history import HistoryFits
from shugu.monitor.rule_service import DeviceRule
from shugu.monitor.rules import KIND_OVERRIDES, RuleKind, RuleSpec, custom_rule_ref
from shugu.monitor.state_keeper import SAVE_EVERY_S
from shugu.store.registry.monitoring import ConfigRecord
from shugu.web.i18n import N_
from shugu.web.rule_backtest import BackTestView, try_rule, wants_backtest
from shugu.web.rule_forms import (
    DEFAULT_FIT_POINTS,
    FORM_KINDS,
    KIND_FIELDS,
    RuleForm,
    choices,
    form_of,
    refuse,
    rule_body,
)
from shugu.web.rule_views import KIND_LABELS, Names, rule_row, subject_label
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

ParamKind = Literal["float", "int", "severity", "bool"]


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter a device may have its own value of, as the form shows it."""

    name: str
    label: str
    kind: ParamKind
    #: What the parameter accepts, told beside the field when the value was refused.
    hint: str = ""


PARAMS: Final = {
    p.name: p
    for p in (
        Param("above", N_("Upper limit"), "float", N_("Must be above the lower limit.")),
        Param("below", N_("Lower limit"), "float", N_("Must be below the upper limit.")),
        Param("deadband", N_("Deadband"), "float", N_("0 or more.")),
        Param(
            "for_s",
            N_("Holds for (s)"),
            "float",
            N_("From 0 to 604,800 s; more than 0 for this kind of rule."),
        ),
        Param("max_rise_per_h", N_("Largest rise per hour"), "float", N_("More than 0.")),
        Param("max_fall_per_h", N_("Largest fall per hour"), "float", N_("More than 0.")),
        Param("at_least", N_("Entries that raise it"), "int", N_("A whole number, 1 to 64.")),
        Param(
            "sensitivity",
            N_("Sensitivity"),
            "float",
            N_("From 0 to 1; a higher sensitivity raises more alarms."),
        ),
        Param("severity", N_("Severity"), "severity"),
        Param("enabled", N_("Enabled"), "bool"),
        Param(
            "flap_window_s",
            N_("Flapping window (s)"),
            "float",
            N_("More than 0, at most 86,400 s."),
        ),
        Param(
            "flap_start",
            N_("Flapping from (changes)"),
            "int",
            N_("A whole number, 2 to 10,000, above where flapping stops."),
        ),
        Param(
            "flap_stop",
            N_("Flapping ends below (changes)"),
            "int",
            N_("A whole number, 1 to 10,000, below where flapping starts."),
        ),
    )
}
COMMON: Final = ("severity", "enabled")
FLAPPING: Final = ("flap_window_s", "flap_start", "flap_stop")


def may_configure(user: PageUser, enterprise_id: int) -> bool:
    """Whether the user changes the enterprise's rules and overrides (sees the edit forms)."""
    try:
        require_alarm_admin(user.access, enterprise_id)
    except ShuguError:
        return False
    return True


def plain(value: Any) -> str:
    """A parameter's value as typed in a form: 29, not 29.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, Severity):
        return value.value
    return str(value)


# -- one rule on one device ---------------------------------------------------------------------


@dataclass
class OverrideForm:
    """What the form shows in each field (the device's own value, or empty for the rule's),
    and the errors of the last attempt."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    form_error: str = ""
    open: bool = False
    saved: bool = False


#: Limits a rule may have one or both of: a device is offered only those its rule has, so that
#: an override sharpens the rule instead of watching for something else.
ONE_OR_BOTH: Final = frozenset({"above", "below", "max_rise_per_h", "max_fall_per_h"})


def fields_of(rule: RuleSpec, kept: Mapping[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """The parameters the form offers for the rule (as it watches the device's profile, asset
    or the device): its limits and the common ones, then those of flapping."""
    kept = kept or {}
    limits = [
        name
        for name in KIND_OVERRIDES[rule.kind]
        if name not in ONE_OR_BOTH or getattr(rule, name) is not None or name in kept
    ]
    return [*limits, *COMMON], list(FLAPPING)


def _card(
    user: PageUser,
    device_id: int,
    found: DeviceRule,
    form: OverrideForm | None,
    *,
    can_edit: bool,
) -> dict[str, Any]:
    base = found.base or found.rule
    main, flapping = fields_of(base, found.overridden)
    if form is None:
        form = OverrideForm(values={k: plain(v) for k, v in found.overridden.items()})
    en = user.tr.lang == "en"
    return {
        "device_id": device_id,
        "ref": found.ref,
        "rule": found.rule,
        "base": base,
        "label": found.rule.label_en if en else found.rule.label_zh,
        "kind_label": KIND_LABELS.get(found.rule.kind, found.rule.kind.value),
        "subject_label": subject_label(found.rule, None, en),
        "limit": limit_line(found.rule, "en" if en else "zh"),
        "overridden": found.overridden,
        "main_fields": [PARAMS[n] for n in main],
        "flap_fields": [PARAMS[n] for n in flapping],
        "form": form,
        "can_edit": can_edit,
        "plain": plain,
        "severities": list(Severity),
        "dom_id": "rule-" + "".join(c if c.isalnum() else "-" for c in found.ref),
        "learning": found.learning,
        "save_minutes": round(SAVE_EVERY_S / 60),
    }


def _device_rules(user: PageUser, device_id: int) -> tuple[int, list[DeviceRule]]:
    ref = listed_device(user.services.registry, user.access, device_id)
    rules = rule_service.device_rules(
        user.services.registry, user.services.monitor, ref.enterprise_id, device_id
    )
    return ref.enterprise_id, rules


@router.get("/devices/{device_id}/rules")
def device_rules(request: Request, device_id: int, user: PageUserDep) -> Response:
    """The rules watching the device, with its own limits: a fragment of the device page."""
    enterprise_id, rules = _device_rules(user, device_id)
    can_edit = may_configure(user, enterprise_id)
    cards = [_card(user, device_id, r, None, can_edit=can_edit) for r in rules]
    return render(
        request,
        user,
        "rules/device_rules.html",
        {"device_id": device_id, "cards": cards, "can_edit": can_edit},
    )


def _one(rules: list[DeviceRule], rule_ref: str) -> DeviceRule:
    for found in rules:
        if found.ref == rule_ref:
            return found
    raise NotFoundError("no such rule on this device", field="rule_ref")


def _answer(
    request: Request,
    user: PageUser,
    device_id: int,
    found: DeviceRule,
    form: OverrideForm,
    status: int = 200,
) -> Response:
    if status < 400 and request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/devices/{device_id}", status_code=303)
    card = _card(user, device_id, found, form, can_edit=True)
    return render(request, user, "rules/rule_card.html", {"card": card}, status_code=status)


def parse_params(
    user: PageUser, rule: RuleSpec, submitted: FormData, kept: Mapping[str, Any]
) -> tuple[dict[str, Any], OverrideForm]:
    """The override's parameters from the form: a field left empty takes the rule's value;
    parameters the form does not offer are kept as they were."""
    main, flapping = fields_of(rule, kept)
    offered = [*main, *flapping]
    form = OverrideForm(open=True)
    params: dict[str, Any] = {k: v for k, v in kept.items() if k not in offered}
    for name in offered:
        raw_value = submitted.get(name, "")
        raw = raw_value.strip() if isinstance(raw_value, str) else ""
        form.values[name] = raw
        if not raw:
            continue
        kind = PARAMS[name].kind
        if kind == "severity":
            if raw in Severity.__members__:
                params[name] = raw
            else:
                form.errors[name] = user.tr("Choose a severity.")
        elif kind == "bool":
            if raw in ("yes", "no"):
                params[name] = raw == "yes"
            else:
                form.errors[name] = user.tr("Choose yes or no.")
        elif kind == "int":
            try:
                params[name] = int(raw)
            except ValueError:
                form.errors[name] = user.tr("Enter a whole number.")
        else:
            try:
                number = float(raw)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                params[name] = number
            else:
                form.errors[name] = user.tr("Enter a number.")
    return params, form


@router.post("/devices/{device_id}/rules/{rule_ref}/override")
async def save_override(
    request: Request, device_id: int, rule_ref: str, user: PageUserDep
) -> Response:
    """Save the device's own limits for a rule; all fields empty: the rule's limits again."""
    submitted = await request.form()
    # Saving reconfigures the monitor (every device's rules, under the engine's lock): on a
    # worker thread, as the API's synchronous route does, never on the event loop.
    return await run_in_threadpool(_save_override, request, device_id, rule_ref, user, submitted)


def _save_override(
    request: Request, device_id: int, rule_ref: str, user: PageUser, submitted: FormData
) -> Response:
    services = user.services
    enterprise_id, rules = _device_rules(user, device_id)
    require_alarm_admin(user.access, enterprise_id)
    found = _one(rules, rule_ref)
    base = found.base or found.rule
    params, form = parse_params(user, base, submitted, found.overridden)
    if form.errors:
        return _answer(request, user, device_id, found, form, 422)
    try:
        if params:
            rule_service.save_override(
                services.registry, services.monitor, enterprise_id, device_id, rule_ref, params
            )
        elif found.overridden:
            rule_service.delete_override(services.registry, services.monitor, device_id, rule_ref)
    except ValidationError as exc:
        name = str(exc.details.get("field") or "")
        message = user.tr.error(exc.code, exc.message)
        if name in form.values:
            hint = PARAMS[name].hint
            form.errors[name] = (
                user.tr("{error} {hint}", error=message, hint=user.tr(hint)) if hint else message
            )
        else:
            form.form_error = message
        return _answer(request, user, device_id, found, form, 422)
    saved = _one(_device_rules(user, device_id)[1], rule_ref)
    return _answer(
        request,
        user,
        device_id,
        saved,
        OverrideForm(
            values={k: plain(v) for k, v in saved.overridden.items()}, saved=True, open=False
        ),
    )


@router.post("/devices/{device_id}/rules/{rule_ref}/override/reset")
def reset_override(request: Request, device_id: int, rule_ref: str, user: PageUserDep) -> Response:
    """Drop the device's own limits for a rule: the rule's limits watch it again."""
    services = user.services
    enterprise_id, rules = _device_rules(user, device_id)
    require_alarm_admin(user.access, enterprise_id)
    found = _one(rules, rule_ref)
    if found.overridden:
        rule_service.delete_override(services.registry, services.monitor, device_id, rule_ref)
    saved = _one(_device_rules(user, device_id)[1], rule_ref)
    return _answer(request, user, device_id, saved, OverrideForm(saved=True))


# -- an enterprise's rules ----------------------------------------------------------------------


_KINDS: Final = frozenset(k.value for k in RuleKind)
#: What the own-rule form offers besides the enterprise's choices.
FORM_CONTEXT: Final = {
    "severities": list(Severity),
    "kinds": [(k.value, KIND_LABELS[k]) for k in FORM_KINDS],
    "sensitivity_defaults": {"pattern": PATTERN_SENSITIVITY, "plain": DEFAULT_SENSITIVITY},
    "fit_default": DEFAULT_FIT_POINTS,
}


def _names(user: PageUser, enterprise_id: int) -> Names:
    registry = user.services.registry
    return Names(
        en=user.tr.lang == "en",
        devices={d.id: d.name for d in registry.device_refs_of_enterprise(enterprise_id)},
        assets={a.id: a.name for a in registry.list_assets(enterprise_id)},
    )


def _rules_page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    form: RuleForm | None = None,
    status: int = 200,
    *,
    backtest: BackTestView | None = None,
) -> Response:
    registry = user.services.registry
    names = _names(user, enterprise_id)
    fitted = _fitted_notice(request) if form is None else None
    listed = rule_service.enterprise_rules(
        registry, enterprise_id, profile=None, every_profile=False
    )
    rows = [rule_row(r.ref, r.id, r.scope, r.rule, names) for r in listed]
    can_edit = may_configure(user, enterprise_id)
    return render(
        request,
        user,
        "rules/enterprise_rules.html",
        {
            "enterprise": registry.get_enterprise(enterprise_id),
            "defaults": [r for r in rows if r.rule_id is None],
            "own": [r for r in rows if r.rule_id is not None],
            "can_edit": can_edit,
            "form": form or RuleForm(values={"kind": "threshold", "severity": "major"}),
            "choices": choices(registry, enterprise_id, user.tr) if can_edit else None,
            "action": f"/e/{enterprise_id}/rules",
            "form_open": form is not None,
            "fitted": fitted,
            "backtest": backtest,
            **FORM_CONTEXT,
        },
        status_code=status,
    )


#: The most devices a notice of a plant model's fit on stored readings counts.
_MAX_NOTICE_DEVICES = 1_000_000


@dataclass(frozen=True, slots=True)
class FittedNotice:
    """What the rule list says after a plant model was saved with a fit start."""

    fitted: int
    of: int
    #: What its back-test found (None when nothing was back-tested).
    alarms: int | None = None
    alarmed: int | None = None
    #: The back-test stopped at the most it reads, short of now.
    cut: bool = False


def _fitted_notice(request: Request) -> FittedNotice | None:
    """The notice after a plant model was saved with a fit start; None when the page was not
    reached so (a link edited by hand is shown nothing, or nothing of a back-test that does
    not add up)."""
    given = [request.query_params.get(k, "") for k in ("fitted", "of", "alarms", "alarmed")]
    if not all(v.isdecimal() and len(v) < 8 for v in given[:2]):
        return None
    fitted, of = int(given[0]), int(given[1])
    if not fitted <= of <= _MAX_NOTICE_DEVICES or not of:
        return None
    if fitted and all(v.isdecimal() and len(v) < 8 for v in given[2:]):
        alarms, alarmed = int(given[2]), int(given[3])
        if alarmed <= min(alarms, fitted) and (alarmed > 0) == (alarms > 0):
            cut = request.query_params.get("cut") == "1"
            return FittedNotice(fitted, of, alarms, alarmed, cut)
    return FittedNotice(fitted, of)


def _saved_page(enterprise_id: int, history: HistoryFits | None) -> RedirectResponse:
    """Back to the rule list; after a fit on stored readings, saying how many it fitted and
    what its back-test found."""
    where = f"/e/{enterprise_id}/rules"
    if history is not None:
        where += f"?fitted={history.fitted}&of={len(history.fits)}"
        back = history.backtest
        if back is not None:
            where += f"&alarms={back.total_alarms}&alarmed={len(back.alarms)}"
            where += "" if back.complete else "&cut=1"
    return RedirectResponse(where, status_code=303)


@router.get("/e/{enterprise_id}/rules")
def enterprise_rules(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """The defaults of the profiles the enterprise has devices of, then its own rules; its
    administrators add, change and delete its own."""
    require_device_access(user.access, enterprise_id)
    user.services.registry.get_enterprise(enterprise_id)
    return _rules_page(request, user, enterprise_id)


def _save_rule(
    user: PageUser, enterprise_id: int, submitted: FormData, rule_id: int | None
) -> RuleForm | rule_service.SavedRule:
    """Save the form's rule; the form with its errors when it was refused."""
    services = user.services
    allowed = choices(services.registry, enterprise_id, user.tr)
    body, form = rule_body(submitted, allowed, user.tr)
    if form.errors:
        return form
    try:
        return rule_service.save_rule(
            services.registry, services.monitor, enterprise_id, body, rule_id=rule_id
        )
    except ValidationError as exc:
        return refuse(form, exc, user.tr)


@router.post("/e/{enterprise_id}/rules")
async def create_rule(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    submitted = await request.form()
    return await run_in_threadpool(_create_rule, request, enterprise_id, user, submitted)


def _create_rule(
    request: Request, enterprise_id: int, user: PageUser, submitted: FormData
) -> Response:
    require_alarm_admin(user.access, enterprise_id)
    if wants_backtest(submitted):
        form, tried = try_rule(user, enterprise_id, submitted, None)
        status = 200 if tried is not None else 422
        return _rules_page(request, user, enterprise_id, form, status, backtest=tried)
    saved = _save_rule(user, enterprise_id, submitted, None)
    if isinstance(saved, RuleForm):
        return _rules_page(request, user, enterprise_id, saved, 422)
    return _saved_page(enterprise_id, saved.history)


def _own_rule(user: PageUser, enterprise_id: int, rule_id: int) -> ConfigRecord:
    """One of the enterprise's own rules, for its administrators."""
    require_device_access(user.access, enterprise_id)
    record = user.services.registry.get_config(rule_id, "rule")
    if record.enterprise_id != enterprise_id:
        raise NotFoundError("no such rule")
    require_alarm_admin(user.access, enterprise_id)
    return record


def _edit_page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    rule_id: int,
    form: RuleForm,
    status: int,
    *,
    backtest: BackTestView | None = None,
) -> Response:
    registry = user.services.registry
    kind = form.values.get("kind", "")
    return render(
        request,
        user,
        "rules/rule_edit.html",
        {
            # A kind the form does not make (a rate rule made through the API) is not offered
            # as a form that would turn it into another kind.
            "form_kind": kind in KIND_FIELDS,
            "kind_label": KIND_LABELS.get(RuleKind(kind), kind) if kind in _KINDS else kind,
            "enterprise": registry.get_enterprise(enterprise_id),
            "rule_ref": custom_rule_ref(rule_id),
            "form": form,
            "choices": choices(registry, enterprise_id, user.tr),
            "action": f"/e/{enterprise_id}/rules/{rule_id}",
            "delete_action": f"/e/{enterprise_id}/rules/{rule_id}/delete",
            "backtest": backtest,
            **FORM_CONTEXT,
        },
        status_code=status,
    )


@router.get("/e/{enterprise_id}/rules/{rule_id}")
def edit_rule(request: Request, enterprise_id: int, rule_id: int, user: PageUserDep) -> Response:
    record = _own_rule(user, enterprise_id, rule_id)
    return _edit_page(request, user, enterprise_id, rule_id, form_of(record.body), 200)


@router.post("/e/{enterprise_id}/rules/{rule_id}")
async def replace_rule(
    request: Request, enterprise_id: int, rule_id: int, user: PageUserDep
) -> Response:
    submitted = await request.form()
    return await run_in_threadpool(_replace_rule, request, enterprise_id, rule_id, user, submitted)


def _replace_rule(
    request: Request, enterprise_id: int, rule_id: int, user: PageUser, submitted: FormData
) -> Response:
    _own_rule(user, enterprise_id, rule_id)
    if wants_backtest(submitted):
        form, tried = try_rule(user, enterprise_id, submitted, rule_id)
        status = 200 if tried is not None else 422
        return _edit_page(request, user, enterprise_id, rule_id, form, status, backtest=tried)
    saved = _save_rule(user, enterprise_id, submitted, rule_id)
    if isinstance(saved, RuleForm):
        return _edit_page(request, user, enterprise_id, rule_id, saved, 422)
    return _saved_page(enterprise_id, saved.history)


@router.post("/e/{enterprise_id}/rules/{rule_id}/delete")
def delete_rule(request: Request, enterprise_id: int, rule_id: int, user: PageUserDep) -> Response:
    _own_rule(user, enterprise_id, rule_id)
    services = user.services
    rule_service.delete_rule(services.registry, services.monitor, rule_id)
    return RedirectResponse(f"/e/{enterprise_id}/rules", status_code=303)
