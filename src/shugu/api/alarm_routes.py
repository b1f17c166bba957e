"""Alarm rules, per-device overrides and alarms: list, acknowledge, clear, shelve, roll up."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.scope import (
    alarm_handler,
    listed_device,
    require_alarm_admin,
    require_device_access,
    require_machine_access,
    visible_alarm,
    visible_device,
)
from shugu.domain.errors import NotFoundError
from shugu.domain.tenancy import Access
from shugu.domain.timeutil import china_datetime
from shugu.monitor import alarm_service, rule_service
from shugu.monitor.alarm_service import Lang
from shugu.monitor.alarm_tree import asset_alarms
from shugu.monitor.learning import Learning
from shugu.monitor.model import AlarmStatus, Severity
from shugu.monitor.plant_history import BackTest, HistoryFits
from shugu.monitor.rules import custom_rule_ref
from shugu.store.registry.monitoring import AlarmRecord

router = APIRouter(tags=["alarms"])


class BackTestDeviceOut(BaseModel):
    device_id: int
    alarms: int = Field(description="alarms the model would have raised on the device")
    first_alarm_at: datetime = Field(description="when the first of them would have been raised")


class BackTestOut(BaseModel):
    """The fitted model judging the stored rows after each device's fit (回测): alarms it would
    have raised; none of them is raised."""

    readings: int = Field(description="stored readings read")
    rows: int = Field(description="rows judged (one per device and moment, while running)")
    judged_from: datetime = Field(
        description="just after the earliest fit ended: each device is judged from its own fit on"
    )
    judged_until: datetime = Field(description="how far the back-test read")
    complete: bool = Field(
        description="false when it stopped at the most readings a back-test reads, before now"
    )
    alarms: int = Field(description="alarms the model would have raised, on all devices")
    devices: list[BackTestDeviceOut] = Field(description="devices with alarms, most first")


class HistoryFitOut(BaseModel):
    """What a plant rule's fit took from its devices' stored readings (``fit_from``)."""

    devices: int = Field(description="devices the rule watches")
    fitted: int = Field(description="devices fitted on stored readings: judged from now on")
    learning: int = Field(
        description="devices with fewer stored rows than the fit: they learn the rest live"
    )
    fit_rows: dict[int, int] = Field(description="rows of the fit taken per device id")
    backtest: BackTestOut | None = Field(
        description="the fitted model on the stored rows after the fit; none when no device "
        "was fitted"
    )


class RuleOut(BaseModel):
    ref: str
    id: int | None = Field(description="the id of an enterprise's own rule; None for defaults")
    scope: dict[str, Any]
    rule: dict[str, Any]
    history_fit: HistoryFitOut | None = Field(
        default=None,
        description="a plant rule saved with fit_from: its fit on stored readings (none when "
        "saved again with the model it has)",
    )


def _history_out(history: HistoryFits | None) -> HistoryFitOut | None:
    if history is None:
        return None
    return HistoryFitOut(
        devices=len(history.fits),
        fitted=history.fitted,
        learning=len(history.fits) - history.fitted,
        fit_rows={f.device: f.rows for f in history.fits},
        backtest=_backtest_out(history.backtest),
    )


def _backtest_out(back: BackTest | None) -> BackTestOut | None:
    if back is None:
        return None
    alarmed = sorted(back.alarms, key=lambda d: (-back.alarms[d], d))
    return BackTestOut(
        readings=back.readings,
        rows=back.rows,
        judged_from=china_datetime(back.from_ms),
        judged_until=china_datetime(back.until_ms),
        complete=back.complete,
        alarms=back.total_alarms,
        devices=[
            BackTestDeviceOut(
                device_id=d,
                alarms=back.alarms[d],
                first_alarm_at=china_datetime(back.first_alarm_ms[d]),
            )
            for d in alarmed
        ],
    )


class CustomRuleIn(BaseModel):
    rule: dict[str, Any] = Field(description="kind, metric or expr, limits, labels, severity")
    scope: dict[str, Any] = Field(description="exactly one of profile, asset_id, device_id")


@router.get("/api/enterprises/{enterprise_id}/rules")
def list_rules(
    enterprise_id: int,
    access: AccessDep,
    services: ServicesDep,
    profile: Annotated[
        str | None, Query(description="only this device profile's rules, devices or not")
    ] = None,
    every_profile: Annotated[
        bool,
        Query(alias="all", description="every profile's defaults, of devices it has or not"),
    ] = False,
) -> list[RuleOut]:
    """The rules that concern this enterprise: the defaults of the profiles it has devices of,
    then its own rules.

    A weaving mill sees loom rules, not cooling-tower ones. ``?profile=`` lists one profile's
    defaults even before the enterprise has a device of it (and, of its own rules, leaves out
    those watching another profile); ``?all=true`` lists every profile's defaults. Inspection
    plans may name any default rule, listed or not.
    """
    require_device_access(access, enterprise_id)
    listed = rule_service.enterprise_rules(
        services.registry, enterprise_id, profile=profile, every_profile=every_profile
    )
    return [RuleOut(ref=r.ref, id=r.id, scope=r.scope, rule=r.rule) for r in listed]


@router.post("/api/enterprises/{enterprise_id}/rules", status_code=201)
def create_rule(
    enterprise_id: int, body: CustomRuleIn, access: AccessDep, services: ServicesDep
) -> RuleOut:
    require_alarm_admin(access, enterprise_id)
    saved = rule_service.save_rule(
        services.registry, services.monitor, enterprise_id, body.model_dump()
    )
    record = saved.record
    return RuleOut(
        ref=custom_rule_ref(record.id),
        id=record.id,
        scope=record.body["scope"],
        rule=body.rule,
        history_fit=_history_out(saved.history),
    )


def _own_rule(services: ServicesDep, access: Access, rule_id: int) -> int:
    record = services.registry.get_config(rule_id, "rule")
    enterprise_id = record.enterprise_id
    if enterprise_id is None or not access.can_see_enterprise(enterprise_id):
        raise NotFoundError("no such rule")
    require_alarm_admin(access, enterprise_id)
    return enterprise_id


@router.put("/api/rules/{rule_id}")
def replace_rule(
    rule_id: int, body: CustomRuleIn, access: AccessDep, services: ServicesDep
) -> RuleOut:
    enterprise_id = _own_rule(services, access, rule_id)
    saved = rule_service.save_rule(
        services.registry, services.monitor, enterprise_id, body.model_dump(), rule_id=rule_id
    )
    return RuleOut(
        ref=custom_rule_ref(rule_id),
        id=rule_id,
        scope=saved.record.body["scope"],
        rule=body.rule,
        history_fit=_history_out(saved.history),
    )


@router.post("/api/enterprises/{enterprise_id}/rules/backtest")
def backtest_new_rule(
    enterprise_id: int, body: CustomRuleIn, access: AccessDep, services: ServicesDep
) -> HistoryFitOut:
    """Fit a plant rule with ``fit_from`` on its devices' stored readings and back-test it on the
    rows after the fit (回测), saving nothing: the alarms it would have raised, to weigh (and
    tune its sensitivity on) before it is saved."""
    require_alarm_admin(access, enterprise_id)
    tried = rule_service.backtest_rule(
        services.registry, services.monitor, enterprise_id, body.model_dump()
    )
    out = _history_out(tried)
    assert out is not None
    return out


@router.post("/api/rules/{rule_id}/backtest")
def backtest_changed_rule(
    rule_id: int, body: CustomRuleIn, access: AccessDep, services: ServicesDep
) -> HistoryFitOut:
    """The back-test of a rule as it would be replaced by ``body``: its devices but those an
    override turns it off for, each fitted anew from ``fit_from``; nothing is saved."""
    enterprise_id = _own_rule(services, access, rule_id)
    tried = rule_service.backtest_rule(
        services.registry, services.monitor, enterprise_id, body.model_dump(), rule_id=rule_id
    )
    out = _history_out(tried)
    assert out is not None
    return out


@router.delete("/api/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: int, access: AccessDep, services: ServicesDep) -> None:
    _own_rule(services, access, rule_id)
    rule_service.delete_rule(services.registry, services.monitor, rule_id)


class LearningOut(BaseModel):
    """How far a rule that learns before it judges has learned the device (学习进度), as of
    the monitor's last save of its state."""

    learned: bool = Field(description="the rule judges the device")
    percent: int = Field(ge=0, le=100)
    done: float = Field(
        description="rows of the fit taken (unit rows), minutes of series time learned (minutes) "
        "or readings received while fewer than the detector's warm-up (points)"
    )
    needed: float
    unit: Literal["rows", "minutes", "points"]
    saved_at: datetime | None = Field(description="when the state was saved; null: not yet")

    @classmethod
    def of(cls, learning: Learning | None) -> LearningOut | None:
        if learning is None:
            return None
        p = learning.progress
        return cls(
            learned=learning.learned,
            percent=learning.percent,
            done=round(p.done, 1),
            needed=p.needed,
            unit=p.unit,
            saved_at=learning.saved_at,
        )


class EffectiveRule(BaseModel):
    ref: str
    rule: dict[str, Any]
    overridden: dict[str, Any]
    limit: str
    #: Anomaly and plant rules only: how far they have learned the device.
    learning: LearningOut | None = None


@router.get("/api/devices/{device_id}/rules")
def device_rules(device_id: int, access: AccessDep, services: ServicesDep) -> list[EffectiveRule]:
    """The rules that watch this device, with its own limits where overridden."""
    ref = listed_device(services.registry, access, device_id)
    return [
        EffectiveRule(
            ref=r.ref,
            rule=r.rule.model_dump(mode="json"),
            overridden=r.overridden,
            limit=r.rule.limit_text(),
            learning=LearningOut.of(r.learning),
        )
        for r in rule_service.device_rules(
            services.registry, services.monitor, ref.enterprise_id, device_id
        )
    ]


@router.put("/api/devices/{device_id}/rules/{rule_ref}/override")
def put_override(
    device_id: int,
    rule_ref: str,
    params: dict[str, Any],
    access: AccessDep,
    services: ServicesDep,
) -> EffectiveRule:
    """Set this device's own limits for a rule (e.g. ``{"above": 29}``)."""
    ref = listed_device(services.registry, access, device_id)
    require_alarm_admin(access, ref.enterprise_id)
    rule = rule_service.save_override(
        services.registry, services.monitor, ref.enterprise_id, device_id, rule_ref, params
    )
    return EffectiveRule(
        ref=rule_ref, rule=rule.model_dump(mode="json"), overridden=params, limit=rule.limit_text()
    )


@router.delete("/api/devices/{device_id}/rules/{rule_ref}/override", status_code=204)
def delete_override(
    device_id: int, rule_ref: str, access: AccessDep, services: ServicesDep
) -> None:
    ref = listed_device(services.registry, access, device_id)
    require_alarm_admin(access, ref.enterprise_id)
    rule_service.delete_override(services.registry, services.monitor, device_id, rule_ref)


# -- alarms ------------------------------------------------------------------------------------


class AlarmOut(BaseModel):
    id: int
    rule_ref: str
    rule: str
    device_id: int
    device: str
    enterprise_id: int
    severity: Severity
    status: AlarmStatus
    shelved: bool
    raised_at: datetime
    value: float | None
    detail: str
    limit: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    shelved_until: datetime | None
    note: str
    flapping: bool = Field(
        description="held open while its rule flips too often: no new alarm or notice per flip"
    )
    flips: int = Field(description="changes of state counted while flapping")


class AlarmEventOut(BaseModel):
    at: datetime
    kind: str
    by: str | None
    note: str
    value: float | None


class AlarmDetail(AlarmOut):
    history: list[AlarmEventOut]


def _alarm_out(services: ServicesDep, record: AlarmRecord, lang: Lang) -> AlarmOut:
    view = alarm_service.alarm_view(services.monitor, record, lang)
    return AlarmOut.model_validate(view, from_attributes=True)


@router.get("/api/alarms")
def list_alarms(
    access: AccessDep,
    services: ServicesDep,
    enterprise: int | None = None,
    device: int | None = None,
    status: Literal["open", "active", "acknowledged", "cleared", "all"] = "open",
    lang: Lang = "zh",
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[AlarmOut]:
    """Alarms newest first: open ones by default; the enterprises the caller may read."""
    if enterprise is not None:
        require_machine_access(access, enterprise)
        enterprises = [enterprise]
    else:
        enterprises = alarm_service.readable_enterprises(services.registry, access)
    if device is not None:
        ref = visible_device(services.registry, access, device)
        enterprises = [ref.enterprise_id]
    wanted = alarm_service.AlarmFilter(
        status=alarm_service.StatusFilter(status), device_id=device, limit=limit
    )
    views = alarm_service.list_alarms(
        services.registry, services.monitor, enterprises, wanted, lang
    )
    return [AlarmOut.model_validate(v, from_attributes=True) for v in views]


@router.get("/api/alarms/{alarm_id}")
def get_alarm(
    alarm_id: int, access: AccessDep, services: ServicesDep, lang: Lang = "zh"
) -> AlarmDetail:
    record = visible_alarm(services.registry, access, alarm_id)
    found = alarm_service.alarm_detail(services.registry, services.monitor, record, lang)
    return AlarmDetail(
        **AlarmOut.model_validate(found.alarm, from_attributes=True).model_dump(),
        history=[AlarmEventOut.model_validate(e, from_attributes=True) for e in found.history],
    )


class AlarmAction(BaseModel):
    note: str = Field(default="", max_length=2000)


#: Acknowledging or clearing needs no words: the body, and the note in it, may be left out.
OptionalAction = Annotated[AlarmAction | None, Body()]


class ShelveAction(AlarmAction):
    minutes: int = Field(ge=1, le=7 * 24 * 60)


@router.post("/api/alarms/{alarm_id}/ack")
def acknowledge_alarm(
    alarm_id: int, access: AccessDep, services: ServicesDep, body: OptionalAction = None
) -> AlarmOut:
    """Someone has seen the alarm and is on it: reminders stop. The body is optional."""
    by = alarm_handler(services.registry, access, alarm_id, manage=False)
    note = body.note if body is not None else ""
    record = alarm_service.acknowledge(services.monitor, alarm_id, by, note)
    return _alarm_out(services, record, "zh")


@router.post("/api/alarms/{alarm_id}/clear")
def clear_alarm(
    alarm_id: int, access: AccessDep, services: ServicesDep, body: OptionalAction = None
) -> AlarmOut:
    """Clear by hand; a condition that still holds raises a new alarm. The body is optional."""
    by = alarm_handler(services.registry, access, alarm_id, manage=True)
    note = body.note if body is not None else ""
    return _alarm_out(services, alarm_service.clear(services.monitor, alarm_id, by, note), "zh")


@router.post("/api/alarms/{alarm_id}/shelve")
def shelve_alarm(
    alarm_id: int, body: ShelveAction, access: AccessDep, services: ServicesDep
) -> AlarmOut:
    """Silence the alarm's notices for a while (maintenance); it stays listed."""
    by = alarm_handler(services.registry, access, alarm_id, manage=True)
    record = alarm_service.shelve(services.monitor, alarm_id, body.minutes, by, body.note)
    return _alarm_out(services, record, "zh")


class NodeAlarms(BaseModel):
    id: int
    name: str
    open: int
    worst: Severity | None


class AlarmSummary(BaseModel):
    parks: list[NodeAlarms]
    enterprises: list[NodeAlarms]


@router.get("/api/alarms-summary")
def alarm_summary(access: AccessDep, services: ServicesDep) -> AlarmSummary:
    """Each park's and enterprise's open alarms and the worst of them.

    Counts name no machine, so the bureau sees every enterprise; an enterprise's own people
    see their enterprise (and its park, counting their own alarms only); the operator, the
    enterprises that granted it consent (``Access.can_count_alarms``).
    """
    summary = alarm_service.alarm_summary(services.registry, access)
    return AlarmSummary.model_validate(summary, from_attributes=True)


@router.get("/api/enterprises/{enterprise_id}/alarm-tree")
def alarm_tree(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[NodeAlarms]:
    """Each asset's open alarms (its own devices and everything below it) and the worst."""
    require_machine_access(access, enterprise_id)
    return [
        NodeAlarms(id=n.asset.id, name=n.asset.name, open=n.alarms.count, worst=n.alarms.worst)
        for n in asset_alarms(services.registry, enterprise_id)
    ]
