"""Alarm rules, per-device overrides and alarms: list, acknowledge, clear, shelve, roll up."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from shugu.api.deps import AccessDep, ServicesDep
from shugu.api.scope import (
    listed_device,
    require_alarm_admin,
    require_device_access,
    require_machine_access,
    visible_device,
)
from shugu.domain.errors import ForbiddenError, NotFoundError
from shugu.domain.tenancy import Access
from shugu.monitor import alarm_service, rule_service
from shugu.monitor.alarms import OPEN_STATUSES, worst
from shugu.monitor.model import AlarmStatus, Severity
from shugu.monitor.rules import custom_rule_ref
from shugu.store.registry.monitoring import AlarmRecord

router = APIRouter(tags=["alarms"])


class RuleOut(BaseModel):
    ref: str
    id: int | None = Field(description="the id of an enterprise's own rule; None for defaults")
    scope: dict[str, Any]
    rule: dict[str, Any]


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
    record = rule_service.save_rule(
        services.registry, services.monitor, enterprise_id, body.model_dump()
    )
    return RuleOut(
        ref=custom_rule_ref(record.id), id=record.id, scope=record.body["scope"], rule=body.rule
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
    record = rule_service.save_rule(
        services.registry, services.monitor, enterprise_id, body.model_dump(), rule_id=rule_id
    )
    return RuleOut(
        ref=custom_rule_ref(rule_id), id=rule_id, scope=record.body["scope"], rule=body.rule
    )


@router.delete("/api/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: int, access: AccessDep, services: ServicesDep) -> None:
    _own_rule(services, access, rule_id)
    rule_service.delete_rule(services.registry, services.monitor, rule_id)


class EffectiveRule(BaseModel):
    ref: str
    rule: dict[str, Any]
    overridden: dict[str, Any]
    limit: str


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


def _alarm_out(services: ServicesDep, record: AlarmRecord, lang: str) -> AlarmOut:
    device = services.monitor.device(record.device_id)
    detail = record.detail
    now = datetime.now(tz=record.raised_at.tzinfo)
    return AlarmOut(
        id=record.id,
        rule_ref=record.rule_ref,
        rule=str(detail.get(f"rule_{lang}", record.rule_ref)),
        device_id=record.device_id,
        device=device.name if device else f"#{record.device_id}",
        enterprise_id=record.enterprise_id,
        severity=Severity(record.severity),
        status=AlarmStatus(record.status),
        shelved=record.shelved_until is not None and record.shelved_until > now,
        raised_at=record.raised_at,
        value=record.value,
        detail=str(detail.get(f"text_{lang}", "")),
        limit=str(detail.get("limit", "")),
        acknowledged_at=record.acknowledged_at,
        acknowledged_by=record.acknowledged_by,
        cleared_at=record.cleared_at,
        cleared_by=record.cleared_by,
        shelved_until=record.shelved_until,
        note=record.note,
        flapping=record.flapping,
        flips=record.flips,
    )


Lang = Literal["zh", "en"]


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
        enterprises: list[int] | None = [enterprise]
    elif access.role.bound_to_enterprise:
        enterprises = [access.principal.enterprise_id or 0]
    else:
        enterprises = [
            e.id for e in services.registry.list_enterprises() if access.can_read_machines(e.id)
        ]
    if device is not None:
        ref = visible_device(services.registry, access, device)
        enterprises = [ref.enterprise_id]
    statuses = {
        "open": OPEN_STATUSES,
        "all": None,
    }.get(status, (status,))
    records = services.registry.list_alarms(
        enterprises, statuses=statuses, device_id=device, limit=limit
    )
    return [_alarm_out(services, r, lang) for r in records]


def _visible_alarm(services: ServicesDep, access: Access, alarm_id: int) -> AlarmRecord:
    record = services.registry.get_alarm(alarm_id)
    if not access.can_see_enterprise(record.enterprise_id):
        raise NotFoundError("no such alarm")
    require_machine_access(access, record.enterprise_id)
    return record


@router.get("/api/alarms/{alarm_id}")
def get_alarm(
    alarm_id: int, access: AccessDep, services: ServicesDep, lang: Lang = "zh"
) -> AlarmDetail:
    record = _visible_alarm(services, access, alarm_id)
    history = [
        AlarmEventOut(at=e.at, kind=e.kind, by=e.by, note=e.note, value=e.value)
        for e in services.registry.alarm_events(alarm_id)
    ]
    return AlarmDetail(**_alarm_out(services, record, lang).model_dump(), history=history)


class AlarmAction(BaseModel):
    note: str = Field(default="", max_length=2000)


#: Acknowledging or clearing needs no words: the body, and the note in it, may be left out.
OptionalAction = Annotated[AlarmAction | None, Body()]


class ShelveAction(AlarmAction):
    minutes: int = Field(ge=1, le=7 * 24 * 60)


def _handler(services: ServicesDep, access: Access, alarm_id: int, *, manage: bool) -> str:
    """The acting username. Anyone of the enterprise may acknowledge; clearing and shelving
    silence an alarm, so they are for its administrators; the bureau only reads."""
    record = _visible_alarm(services, access, alarm_id)
    if access.role.value == "bureau":
        raise ForbiddenError("the bureau reads alarms; the enterprise handles them")
    if manage and not access.can_manage_enterprise(record.enterprise_id):
        raise ForbiddenError("only the enterprise's administrators clear or shelve alarms")
    return access.principal.username


@router.post("/api/alarms/{alarm_id}/ack")
def acknowledge_alarm(
    alarm_id: int, access: AccessDep, services: ServicesDep, body: OptionalAction = None
) -> AlarmOut:
    """Someone has seen the alarm and is on it: reminders stop. The body is optional."""
    by = _handler(services, access, alarm_id, manage=False)
    note = body.note if body is not None else ""
    record = alarm_service.acknowledge(services.monitor, alarm_id, by, note)
    return _alarm_out(services, record, "zh")


@router.post("/api/alarms/{alarm_id}/clear")
def clear_alarm(
    alarm_id: int, access: AccessDep, services: ServicesDep, body: OptionalAction = None
) -> AlarmOut:
    """Clear by hand; a condition that still holds raises a new alarm. The body is optional."""
    by = _handler(services, access, alarm_id, manage=True)
    note = body.note if body is not None else ""
    return _alarm_out(services, alarm_service.clear(services.monitor, alarm_id, by, note), "zh")


@router.post("/api/alarms/{alarm_id}/shelve")
def shelve_alarm(
    alarm_id: int, body: ShelveAction, access: AccessDep, services: ServicesDep
) -> AlarmOut:
    """Silence the alarm's notices for a while (maintenance); it stays listed."""
    by = _handler(services, access, alarm_id, manage=True)
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
    registry = services.registry
    enterprises = [e for e in registry.list_enterprises() if access.can_count_alarms(e.id)]
    ids = [e.id for e in enterprises]
    records = registry.list_alarms(ids, statuses=OPEN_STATUSES, limit=1_000_000)
    by_enterprise: dict[int, list[AlarmRecord]] = {}
    for record in records:
        by_enterprise.setdefault(record.enterprise_id, []).append(record)
    parks: dict[int, list[AlarmRecord]] = {}
    for e in enterprises:
        parks.setdefault(e.park_id, []).extend(by_enterprise.get(e.id, []))
    return AlarmSummary(
        parks=[
            NodeAlarms(id=p, name=registry.get_park(p).name, open=len(a), worst=worst(a))
            for p, a in sorted(parks.items())
        ],
        enterprises=[
            NodeAlarms(
                id=e.id,
                name=e.name,
                open=len(by_enterprise.get(e.id, [])),
                worst=worst(by_enterprise.get(e.id, [])),
            )
            for e in enterprises
        ],
    )


@router.get("/api/enterprises/{enterprise_id}/alarm-tree")
def alarm_tree(enterprise_id: int, access: AccessDep, services: ServicesDep) -> list[NodeAlarms]:
    """Each asset's open alarms (its own devices and everything below it) and the worst."""
    require_machine_access(access, enterprise_id)
    registry = services.registry
    assets = registry.list_assets(enterprise_id)
    records = registry.list_alarms([enterprise_id], statuses=OPEN_STATUSES, limit=1_000_000)
    under: dict[int, list[AlarmRecord]] = {a.id: [] for a in assets}
    for record in records:
        device = services.monitor.device(record.device_id)
        for asset_id in device.asset_path if device else ():
            if asset_id in under:
                under[asset_id].append(record)
    return [
        NodeAlarms(id=a.id, name=a.name, open=len(under[a.id]), worst=worst(under[a.id]))
        for a in assets
    ]
